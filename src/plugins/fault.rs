//! The ways a plugin call can fail. None of them reaches the shopper: the
//! request goes on unchanged and the fault is logged and counted.

/// A failed plugin call, by kind.
#[derive(Debug, thiserror::Error)]
pub enum PluginFault {
    /// The plugin is not configured, or not loaded yet.
    #[error("plugin not loaded")]
    NotLoaded,
    /// Disabled after too many consecutive faults, until it is reloaded.
    #[error("plugin disabled after {faults} consecutive faults")]
    Disabled { faults: u32 },
    /// The component does not export `capture` with the expected type.
    #[error("plugin does not export the field-capture world: {reason}")]
    MissingExport { reason: String },
    /// The call ran past its deadline and was interrupted.
    #[error("plugin call timed out after {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    /// The call tried to grow memory past its limit.
    #[error("plugin exceeded its memory limit of {limit_bytes} bytes")]
    Memory { limit_bytes: usize },
    /// The plugin trapped (panic, unreachable, out-of-bounds access).
    #[error("plugin trapped: {reason}")]
    Trap { reason: String },
    /// The plugin returned an `err` value.
    #[error("plugin returned an error: {message}")]
    Rejected { message: String },
    /// The output is over the configured caps.
    #[error("plugin output too large: {reason}")]
    OutputTooLarge { reason: String },
    /// The output does not validate against the field definitions.
    #[error("plugin output invalid: {reason}")]
    InvalidOutput { reason: String },
}

impl PluginFault {
    /// Short label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginFault::NotLoaded => "not_loaded",
            PluginFault::Disabled { .. } => "disabled",
            PluginFault::MissingExport { .. } => "missing_export",
            PluginFault::Timeout { .. } => "timeout",
            PluginFault::Memory { .. } => "memory",
            PluginFault::Trap { .. } => "trap",
            PluginFault::Rejected { .. } => "rejected",
            PluginFault::OutputTooLarge { .. } => "output_too_large",
            PluginFault::InvalidOutput { .. } => "invalid_output",
        }
    }
}
