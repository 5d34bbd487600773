//! Compiled plugin code on disk, so a restart or a reload of an unchanged
//! file skips Cranelift.
//!
//! A cache file is named by the plugin file's SHA-256 and a hash of the
//! engine's compilation settings (`Engine::precompile_compatibility_hash`,
//! which covers the target, the Cranelift flags, memory settings such as the
//! reservation size, enabled features and the wasmtime version). A file
//! compiled by another wasmtime or with other settings therefore has
//! another name and is never loaded. Files are written to a temporary name
//! and renamed, so a reader never sees a half-written file. A file that
//! fails to load is compiled again and overwritten.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use wasmtime::component::Component;
use wasmtime::Engine;

/// The source of a loaded component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the cache file.
    Hit,
    /// Compiled, then written to the cache.
    Miss,
    /// The cache file failed to load, so the code was compiled again.
    Invalid,
    /// Compiled without a cache (no cache directory, or it is not writable).
    Uncached,
}

impl CacheOutcome {
    /// Label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            CacheOutcome::Hit => "cache_hit",
            CacheOutcome::Miss => "compiled",
            CacheOutcome::Invalid => "cache_invalid",
            CacheOutcome::Uncached => "compiled_uncached",
        }
    }
}

/// Returns the cache file path of a plugin whose contents hash to `sha256_hex`.
pub(crate) fn cache_path(engine: &Engine, cache_dir: &Path, sha256_hex: &str) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    cache_dir.join(format!("{sha256_hex}-{:016x}.cwasm", hasher.finish()))
}

/// Loads a component from the cache or compiles `wasm` and stores the result.
#[allow(unsafe_code)]
pub(crate) fn load_component(
    engine: &Engine,
    wasm: &[u8],
    sha256_hex: &str,
    cache_dir: Option<&Path>,
) -> wasmtime::Result<(Component, CacheOutcome)> {
    let Some(cache_dir) = cache_dir else {
        return Ok((Component::new(engine, wasm)?, CacheOutcome::Uncached));
    };
    let path = cache_path(engine, cache_dir, sha256_hex);

    let mut outcome = CacheOutcome::Miss;
    if path.exists() {
        // SAFETY: `deserialize_file` runs the native code in the file, so
        // the file must come from `Component::serialize` of a compatible
        // engine. Footprint writes every file in this directory itself, from
        // `serialize`, under a temporary name renamed into place. The name
        // includes the plugin's SHA-256 and the engine's compatibility hash,
        // and wasmtime also checks the engine settings and version recorded
        // in the file before using it. Anyone who can write to the cache
        // directory can already replace the plugins or the binary.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok((component, CacheOutcome::Hit)),
            Err(error) => {
                tracing::warn!(path = %path.display(), error = %error, "compiled plugin cache file failed to load; compiling again");
                outcome = CacheOutcome::Invalid;
            }
        }
    }

    let component = Component::new(engine, wasm)?;
    match component.serialize().map_err(std::io::Error::other).and_then(|code| write_atomically(&path, &code)) {
        Ok(()) => Ok((component, outcome)),
        Err(error) => {
            tracing::warn!(path = %path.display(), error = %error, "failed to write the compiled plugin cache file");
            Ok((component, CacheOutcome::Uncached))
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;

    let mut temporary = tempfile_in(dir, path)?;
    temporary.1.write_all(bytes)?;
    temporary.1.sync_all()?;
    std::fs::rename(&temporary.0, path)
}

/// Creates a file next to `path` with a name unique to this process and
/// call, so two processes sharing a cache directory never write one file.
fn tempfile_in(dir: &Path, path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let stem = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{stem}.{}.{}.tmp", std::process::id(), uuid::Uuid::new_v4().simple()));
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temporary)?;
    Ok((temporary, file))
}
