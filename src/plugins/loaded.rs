//! One compiled plugin, ready to instantiate, and one call of it.
//!
//! Every call gets a fresh `Store` and a fresh instance from the
//! `InstancePre` built at load, so nothing a plugin keeps in memory
//! survives into the next submission.
//!
//! Calls are asynchronous: wasmtime runs the plugin on a fiber of its own
//! stack, on the thread that polls the call, so a call costs no hand-off
//! to another thread. At every epoch tick the call yields to the executor,
//! so a plugin that loops shares its thread with other requests until its
//! deadline traps it.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use super::bindings::{wit, FieldCapturePre};
use super::cache::{self, CacheOutcome};
use super::caps;
use super::error::LoadError;
use super::sandbox::CallState;
use super::{Capture, PluginFault, Submission};
use crate::config::{PluginGrants, PluginLimits};

/// Longest `err` message or trap reason kept, in bytes.
const MAX_REASON_BYTES: usize = 256;

/// A file's modification time and length, compared to notice changes
/// without reading the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl FileStamp {
    pub(crate) fn of(path: &Path) -> std::io::Result<FileStamp> {
        let metadata = std::fs::metadata(path)?;
        Ok(FileStamp { modified: metadata.modified().ok(), len: metadata.len() })
    }
}

/// A compiled plugin component.
pub(crate) struct LoadedPlugin {
    pre: FieldCapturePre<CallState>,
    /// SHA-256 of the component file, in lower-case hex.
    pub(crate) sha256: String,
    pub(crate) stamp: Option<FileStamp>,
    pub(crate) cache: CacheOutcome,
}

/// The result of one call, with what the plugin test command reports.
pub(crate) struct CallOutput {
    pub(crate) result: Result<Capture, PluginFault>,
    pub(crate) memory_peak_bytes: usize,
    /// Fuel used, when the engine counts fuel.
    pub(crate) fuel_consumed: Option<u64>,
}

/// Returns the SHA-256 of `bytes` in lower-case hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

impl LoadedPlugin {
    /// Reads, compiles (or loads from the cache) and links a component file.
    pub(crate) fn load(
        engine: &Engine,
        linker: &Linker<CallState>,
        path: &Path,
        cache_dir: Option<&Path>,
    ) -> Result<LoadedPlugin, LoadError> {
        let stamp = FileStamp::of(path).ok();
        let wasm = std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_owned(), source })?;
        let sha256 = sha256_hex(&wasm);

        let (component, cache) = cache::load_component(engine, &wasm, &sha256, cache_dir)
            .map_err(|source| LoadError::Compile { path: path.to_owned(), source })?;

        let instance_pre =
            linker.instantiate_pre(&component).map_err(|source| LoadError::Link { path: path.to_owned(), source })?;
        let pre = FieldCapturePre::new(instance_pre)
            .map_err(|source| LoadError::MissingExport { path: path.to_owned(), source })?;

        Ok(LoadedPlugin { pre, sha256, stamp, cache })
    }

    /// Runs one call to completion. `fuel` is set only on an engine with
    /// fuel metering on.
    pub(crate) async fn run(
        &self,
        submission: Submission,
        limits: &PluginLimits,
        grants: &PluginGrants,
        fuel: Option<u64>,
    ) -> CallOutput {
        let mut store = Store::new(self.pre.engine(), CallState::new(grants, limits.memory_bytes));
        store.limiter(|state| &mut state.limiter);
        set_deadline(&mut store, Duration::from_millis(limits.timeout_ms));
        let mut fuel_error = None;
        if let Some(fuel) = fuel {
            fuel_error = store.set_fuel(fuel).err();
        }

        let input = wit::Submission::from(submission);
        let outcome = match self.pre.instantiate_async(&mut store).await {
            Ok(plugin) => plugin.call_capture(&mut store, &input).await,
            Err(error) => Err(error),
        };

        let result = match (fuel_error, outcome) {
            (Some(error), _) => Err(PluginFault::Trap { reason: short_reason(&error.to_string()) }),
            (None, Ok(Ok(capture))) => {
                let capture = Capture::from(capture);
                caps::check_output(&capture, limits).map(|()| capture)
            }
            (None, Ok(Err(message))) => Err(PluginFault::Rejected { message: short_reason(&message) }),
            (None, Err(error)) => Err(classify(&error, store.data().limiter.exceeded, limits)),
        };
        let fuel_consumed = fuel.zip(store.get_fuel().ok()).map(|(start, left)| start.saturating_sub(left));

        CallOutput { result, memory_peak_bytes: store.data().limiter.peak_bytes, fuel_consumed }
    }
}

/// Lets the call yield to the executor at every epoch tick and traps it
/// with [`Trap::Interrupt`] at the first tick after `timeout` has passed.
/// Time spent waiting to be polled again counts, so the timeout is wall
/// clock time.
fn set_deadline(store: &mut Store<CallState>, timeout: Duration) {
    let started = Instant::now();
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if started.elapsed() >= timeout {
            return Ok(UpdateDeadline::Interrupt);
        }
        Ok(UpdateDeadline::Yield(1))
    });
}

/// Maps a failed instantiation or call to a fault kind.
fn classify(error: &wasmtime::Error, memory_exceeded: bool, limits: &PluginLimits) -> PluginFault {
    if memory_exceeded {
        return PluginFault::Memory { limit_bytes: limits.memory_bytes };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginFault::Timeout { timeout_ms: limits.timeout_ms },
        Some(trap) => PluginFault::Trap { reason: short_reason(&trap.to_string()) },
        // The root cause leaves out the WebAssembly backtrace, which the
        // outer message starts with.
        None => PluginFault::Trap { reason: short_reason(&error.root_cause().to_string()) },
    }
}

/// Cuts text to [`MAX_REASON_BYTES`] at a character boundary.
fn short_reason(text: &str) -> String {
    if text.len() <= MAX_REASON_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_REASON_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reason_cut_at_char_boundary() {
        let text = "é".repeat(200);

        let reason = short_reason(&text);

        assert!(reason.len() <= MAX_REASON_BYTES + 3);
        assert!(reason.ends_with("..."));
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
