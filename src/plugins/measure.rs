//! One measured call, for the plugin test command: the result with the
//! time, the peak memory and the fuel it used.
//!
//! Measuring uses its own engine with fuel metering on and the on-demand
//! allocator, without the compiled-code cache, so it changes nothing a
//! running proxy uses. Fuel counts roughly one unit per WebAssembly
//! instruction executed (wasmtime 47), a number that does not depend on the
//! machine's speed. Calls through this engine run slower than production
//! calls because of the fuel counting, so the time is an upper estimate.

use std::path::Path;
use std::time::{Duration, Instant};

use wasmtime::component::Linker;

use super::engine::{build_engine, start_epoch_ticker, EngineSettings};
use super::error::PluginError;
use super::loaded::LoadedPlugin;
use super::sandbox;
use super::{caps, Capture, PluginFault, Submission};
use crate::config::{PluginGrants, PluginLimits};

/// The outcome of a measured call.
#[derive(Debug)]
pub struct Measured {
    pub result: Result<Capture, PluginFault>,
    /// Instantiation and the call together.
    pub elapsed: Duration,
    /// Fuel (about one unit per WebAssembly instruction) used by
    /// instantiation and the call.
    pub fuel_consumed: u64,
    /// Largest size any linear memory reached, in bytes.
    pub memory_peak_bytes: usize,
    /// Submitted fields cut by the input caps.
    pub input_fields_dropped: usize,
}

/// Loads the component at `path` and runs it once on `submission` with the
/// given limits and grants.
pub async fn measure(
    path: &Path,
    limits: &PluginLimits,
    grants: &PluginGrants,
    mut submission: Submission,
) -> Result<Measured, PluginError> {
    let settings = EngineSettings { max_memory_bytes: limits.memory_bytes, pooled_calls: None, consume_fuel: true };
    let engine = build_engine(settings).map_err(PluginError::Engine)?;
    let mut linker = Linker::new(&engine);
    sandbox::link_wasi(&mut linker).map_err(PluginError::Linker)?;
    start_epoch_ticker(&engine).map_err(PluginError::Ticker)?;
    let plugin = LoadedPlugin::load(&engine, &linker, path, None)?;

    let input_fields_dropped = caps::truncate_input(&mut submission, limits);
    let started = Instant::now();
    let output = plugin.run(submission, limits, grants, Some(u64::MAX)).await;
    let elapsed = started.elapsed();

    Ok(Measured {
        result: output.result,
        elapsed,
        fuel_consumed: output.fuel_consumed.unwrap_or(0),
        memory_peak_bytes: output.memory_peak_bytes,
        input_fields_dropped,
    })
}
