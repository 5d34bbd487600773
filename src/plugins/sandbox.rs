//! What a plugin sees of the world: WASI 0.2 linked deny-all, and a memory
//! limiter.
//!
//! Every WASI 0.2 interface is linked (`wasmtime_wasi::p2::add_to_linker_sync`)
//! because components built for `wasm32-wasip2` import several of them
//! even when the plugin never calls them, and an unlinked import fails
//! instantiation. Without grants, a plugin sees:
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

use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::config::PluginGrants;

/// The store data of one call.
pub(crate) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
}

impl CallState {
    pub(crate) fn new(grants: &PluginGrants, memory_limit: usize) -> Self {
        CallState { wasi: build_wasi(grants), table: ResourceTable::new(), limiter: MemoryLimiter::new(memory_limit) }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

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
