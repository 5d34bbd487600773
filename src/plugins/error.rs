//! Errors of starting the plugin host and of loading one plugin.

use std::path::PathBuf;

/// The plugin host could not start. A plugin that fails to load is not
/// such an error: it is logged and left unloaded.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("failed to create the WebAssembly engine for plugins")]
    Engine(#[source] wasmtime::Error),
    #[error("failed to link WASI for plugins")]
    Linker(#[source] wasmtime::Error),
    #[error("failed to start the plugin epoch thread")]
    Ticker(#[source] std::io::Error),
    #[error("plugin name `{name}` is declared more than once; names must be unique")]
    DuplicateName { name: String },
    /// Only [`measure`](super::measure) returns this: the host logs load
    /// errors and goes on without the plugin.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// One plugin file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read plugin file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("plugin file {path} is not a valid WebAssembly component")]
    Compile {
        path: PathBuf,
        #[source]
        source: wasmtime::Error,
    },
    #[error("plugin file {path} imports something the host does not provide")]
    Link {
        path: PathBuf,
        #[source]
        source: wasmtime::Error,
    },
    #[error("plugin file {path} does not export `capture` of world footprint:plugin/field-capture@1")]
    MissingExport {
        path: PathBuf,
        #[source]
        source: wasmtime::Error,
    },
}

impl LoadError {
    /// Label for the `outcome` of `footprint_plugin_loads_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::Read { .. } => "read_failed",
            LoadError::Compile { .. } => "compile_failed",
            LoadError::Link { .. } => "link_failed",
            LoadError::MissingExport { .. } => "missing_export",
        }
    }
}

/// Formats an error with its sources, `outer: inner: innermost`, for logs.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
