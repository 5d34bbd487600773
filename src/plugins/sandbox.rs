//! The plugin sandbox: WASI 0.2 linked deny-all, and a memory limiter.
//!
//! Every WASI 0.2 interface is linked (`wasmtime_wasi::p2::add_to_linker_async`)
//! because components built for `wasm32-wasip2` import several of them
//! even when the plugin never calls them, and an unlinked import fails
//! instantiation. Without grants, a plugin gets:
//!
//! - no preopened directories, so every file operation fails;
//! - no environment variables and no arguments;
//! - no network: TCP and UDP are off and name lookup is denied;
//! - closed stdin, and stdout and stderr that discard what they get;
//! - clocks fixed at zero (the wall clock at the Unix epoch), unless
//!   `grants.clocks` is set;
//! - random bytes that are all zero, unless `grants.random` is set. Hash maps
//!   seeded from them still work but their seed is predictable.
//!
//! `grants.env` passes the named host environment variables through.
//!
//! Waiting on a clock (`subscribe-duration`, `subscribe-instant`, which
//! `std::thread::sleep` uses) traps, granted clocks or not. Epoch deadlines
//! interrupt only WebAssembly code, so a plugin blocked in a host call
//! would hold its thread past the deadline. With clocks unavailable to wait
//! on, sockets off, no files and stdin closed, the WASI calls left to a
//! plugin do not wait.
//! NOTE: this list comes from reading wasmtime-wasi 47; only sleeping has a test.

use std::time::Duration;

use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::config::PluginGrants;

/// The store data of one call.
pub(crate) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    clocks_granted: bool,
}

impl CallState {
    pub(crate) fn new(grants: &PluginGrants, memory_limit: usize) -> Self {
        CallState {
            wasi: build_wasi(grants),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_limit),
            clocks_granted: grants.clocks,
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The WASI 0.2 monotonic clock interface as wasmtime-wasi 47 links it.
/// Components importing any 0.2.x version resolve to this one.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Links WASI 0.2 for plugins, with waiting on clocks replaced by a trap.
///
/// Shadowing replaces the whole monotonic clock instance, so `now` and
/// `resolution` are defined here too, from the call's grants.
pub(crate) fn link_wasi(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;

    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("now", |store: wasmtime::StoreContextMut<'_, CallState>, (): ()| {
        let now = if store.data().clocks_granted { host_monotonic_nanos() } else { FixedMonotonicClock.now() };
        Ok((now,))
    })?;
    clock.func_wrap("resolution", |store: wasmtime::StoreContextMut<'_, CallState>, (): ()| {
        let resolution = if store.data().clocks_granted { 1 } else { FixedMonotonicClock.resolution() };
        Ok((resolution,))
    })?;
    clock.func_wrap("subscribe-duration", |_, (_,): (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
        Err(ClockWaitDenied.into())
    })?;
    clock.func_wrap("subscribe-instant", |_, (_,): (u64,)| -> wasmtime::Result<(Resource<DynPollable>,)> {
        Err(ClockWaitDenied.into())
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The error a call traps with when the plugin waits on a clock.
#[derive(Debug, thiserror::Error)]
#[error("plugins may not wait on a clock (sleep or a timer), because host waits ignore the call deadline")]
pub(crate) struct ClockWaitDenied;

/// The error a call traps with when a memory would grow past its limit.
#[derive(Debug, thiserror::Error)]
#[error("memory growth to {desired} bytes exceeds the limit of {limit} bytes")]
pub(crate) struct MemoryLimitExceeded {
    desired: usize,
    limit: usize,
}

/// Limits each linear memory of a call and records the largest size any
/// memory reached. Growth past the limit traps instead of returning -1,
/// so the failure is certain to be reported as a memory fault rather than
/// as whatever the plugin's allocator does on a failed allocation.
pub(crate) struct MemoryLimiter {
    limit: usize,
    pub(crate) peak_bytes: usize,
    pub(crate) exceeded: bool,
}

impl MemoryLimiter {
    fn new(limit: usize) -> Self {
        MemoryLimiter { limit, peak_bytes: 0, exceeded: false }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Err(MemoryLimitExceeded { desired, limit: self.limit }.into());
        }
        if maximum.is_some_and(|maximum| desired > maximum) {
            return Ok(false);
        }

        self.peak_bytes = self.peak_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|maximum| desired <= maximum))
    }
}

fn build_wasi(grants: &PluginGrants) -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    builder.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);

    if !grants.clocks {
        builder.wall_clock(FixedWallClock).monotonic_clock(FixedMonotonicClock);
    }
    if !grants.random {
        builder.secure_random(Deterministic::new(vec![0])).insecure_random(Deterministic::new(vec![0]));
        builder.insecure_random_seed(0);
    }
    for name in &grants.env {
        if let Ok(value) = std::env::var(name) {
            builder.env(name, value);
        }
    }

    builder.build()
}

/// A wall clock stopped at the Unix epoch.
struct FixedWallClock;

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// Nanoseconds since the first call in this process, which WASI allows as
/// the monotonic clock's origin.
fn host_monotonic_nanos() -> u64 {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let elapsed = ORIGIN.get_or_init(std::time::Instant::now).elapsed();
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// A monotonic clock that never advances.
struct FixedMonotonicClock;

impl HostMonotonicClock for FixedMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}
