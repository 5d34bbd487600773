//! The wasmtime engine shared by every plugin of a host, and the thread
//! that advances its epoch so that call deadlines fire.
//!
//! Production calls use the pooling allocator: instances, memories and
//! tables come from slots reserved once, so a call does not pay for `mmap`
//! and the number of live instances is bounded. Each memory slot reserves
//! only the largest configured memory limit (not wasmtime's default 4 GiB),
//! which keeps the reservation small at the cost of explicit bounds checks
//! in compiled code. Fuel metering is off here because it slows every call;
//! the plugin test command uses a separate engine with fuel on.

use std::thread;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, EngineWeak, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Time between two epoch increments: the granularity of call deadlines
/// and how often a running call yields to the executor.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Core instances, memories and tables allowed per call. A Rust component
/// built for `wasm32-wasip2` has a few core instances (the program and the
/// shims that connect it to WASI) and one or two memories and tables.
const CORE_INSTANCES_PER_CALL: u32 = 16;
const MEMORIES_PER_CALL: u32 = 4;
const TABLES_PER_CALL: u32 = 8;

/// WebAssembly page size: memory limits are rounded up to whole pages.
const WASM_PAGE_BYTES: usize = 64 << 10;

/// Bytes of each pooled memory and table that stay resident between calls
/// and are reset in place instead of with `madvise`, so each pooled slot
/// may keep that much resident. A Rust component's memory starts above
/// 1 MiB, because rustc gives wasm32 programs a 1 MiB stack.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Engine settings that change compiled code or the instance pool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EngineSettings {
    /// Largest memory limit of any plugin, in bytes.
    pub max_memory_bytes: usize,
    /// Calls that may run at once; also the number of pooled instances.
    /// `None` uses the on-demand allocator.
    pub pooled_calls: Option<u32>,
    /// Count fuel (executed instructions, roughly).
    pub consume_fuel: bool,
}

/// Creates an engine for plugin components with epoch interruption on.
pub(crate) fn build_engine(settings: EngineSettings) -> wasmtime::Result<Engine> {
    let memory_bytes = settings.max_memory_bytes.div_ceil(WASM_PAGE_BYTES).max(1) * WASM_PAGE_BYTES;

    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(settings.consume_fuel);
    config.memory_reservation(memory_bytes as u64);
    config.memory_reservation_for_growth(0);
    config.memory_guard_size(WASM_PAGE_BYTES as u64);

    if let Some(calls) = settings.pooled_calls {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(calls);
        pool.total_core_instances(calls * CORE_INSTANCES_PER_CALL);
        pool.total_memories(calls * MEMORIES_PER_CALL);
        pool.total_tables(calls * TABLES_PER_CALL);
        pool.max_memory_size(memory_bytes);
        // Resetting with `madvise` made the next call fault its pages in
        // again and sent TLB shootdowns to every CPU running the proxy, so
        // resident pages are reset in place instead. On Linux 6.7 and later
        // the PAGEMAP_SCAN ioctl finds the pages a call dirtied (about 5 for
        // the profile plugin), and only those are reset. Older kernels fill
        // the whole resident part, 2 MiB, after every call. BENCHMARKS.md
        // has the measurements.
        pool.pagemap_scan(Enabled::Auto);
        pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES);
        pool.table_keep_resident(KEEP_RESIDENT_BYTES);
        // Calls run on fibers (see `loaded`), one stack per call in flight.
        pool.total_stacks(calls);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }

    Engine::new(&config)
}

/// Number of calls that may run at once: a few per CPU, because calls are
/// CPU-bound and short, with a floor so small machines still overlap calls
/// that wait on nothing but the deadline.
pub(crate) fn default_pooled_calls() -> u32 {
    let cpus = thread::available_parallelism().map_or(2, |count| count.get()) as u32;
    (cpus * 4).clamp(8, 64)
}

/// Starts a thread that increments the engine's epoch every
/// [`EPOCH_TICK`] and ends once the engine is dropped.
pub(crate) fn start_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak: EngineWeak = engine.weak();
    thread::Builder::new().name("plugin-epoch".to_owned()).spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            thread::sleep(EPOCH_TICK);
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_engine_builds_with_small_memory() {
        let settings = EngineSettings { max_memory_bytes: 1 << 20, pooled_calls: Some(4), consume_fuel: false };

        let engine = build_engine(settings);

        assert!(engine.is_ok(), "{:?}", engine.err());
    }
}
