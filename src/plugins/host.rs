//! The plugin host: loads every `[[plugin]]` at start, runs calls with
//! their limits, counts faults, disables a plugin that keeps failing, and
//! swaps in new versions on reload.
//!
//! A call takes the plugin's current compiled version (an `Arc`) and keeps
//! it until the call ends, so a reload swaps the version for later calls
//! while calls in flight finish on the one they started with. Calls run on
//! the task that awaits them (see [`super::loaded`]). A semaphore sized to
//! the instance pool makes extra calls wait for a slot instead of failing
//! to instantiate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime::Engine;

use super::cache::CacheOutcome;
use super::engine::{build_engine, default_pooled_calls, start_epoch_ticker, EngineSettings};
use super::error::{LoadError, PluginError};
use super::loaded::{sha256_hex, FileStamp, LoadedPlugin};
use super::sandbox::{self, CallState};
use super::{caps, metrics, reload, Capture, PluginFault, Submission};
use crate::config::{Config, PluginRule};

/// Runs the configured field-capture plugins.
pub struct PluginHost {
    runtime: Option<Runtime>,
    slots: HashMap<String, PluginSlot>,
    /// Plugin names in configuration order.
    names: Vec<String>,
}

/// State shared by calls and loads; absent when no plugin is configured.
struct Runtime {
    engine: Engine,
    linker: Arc<Linker<CallState>>,
    cache_dir: Option<PathBuf>,
    call_permits: Semaphore,
    /// Serialises reloads, so two never compile the same file at once.
    reload_lock: tokio::sync::Mutex<()>,
}

/// One configured plugin and its current state.
struct PluginSlot {
    /// The rule with `file` resolved against the configuration directory.
    rule: PluginRule,
    current: RwLock<Option<Arc<LoadedPlugin>>>,
    /// The file's stamp when it was last read, to notice changes.
    seen: Mutex<Option<FileStamp>>,
    fault_streak: AtomicU32,
    disabled: AtomicBool,
}

impl PluginSlot {
    fn current(&self) -> Option<Arc<LoadedPlugin>> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn replace(&self, plugin: LoadedPlugin) {
        let stamp = plugin.stamp;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(plugin));
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = stamp;
    }
}

/// The state of one plugin, for status pages and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginStatus {
    pub loaded: bool,
    pub disabled: bool,
    /// Faults since the last successful call.
    pub consecutive_faults: u32,
    /// SHA-256 of the loaded file, in lower-case hex.
    pub sha256: Option<String>,
    /// Source of the loaded code: the cache or a fresh compilation.
    pub cache: Option<CacheOutcome>,
}

impl PluginHost {
    /// Loads every `[[plugin]]` of `config` and starts the reload watcher.
    ///
    /// A plugin whose file is missing or does not load is logged with the
    /// reason and left unloaded. Its calls return [`PluginFault::NotLoaded`]
    /// until a reload succeeds. The watcher needs a tokio runtime and is not
    /// started without one.
    pub fn start(config: &Config) -> Result<Arc<PluginHost>, PluginError> {
        let mut names = Vec::new();
        for rule in &config.plugin_rules {
            if names.contains(&rule.name) {
                return Err(PluginError::DuplicateName { name: rule.name.clone() });
            }
            names.push(rule.name.clone());
        }
        if names.is_empty() {
            return Ok(Arc::new(PluginHost::empty()));
        }

        let max_memory_bytes = config.plugin_rules.iter().map(|rule| rule.limits.memory_bytes).max().unwrap_or(0);
        let pooled_calls = default_pooled_calls();
        let settings = EngineSettings { max_memory_bytes, pooled_calls: Some(pooled_calls), consume_fuel: false };
        let engine = build_engine(settings).map_err(PluginError::Engine)?;
        let mut linker = Linker::new(&engine);
        sandbox::link_wasi(&mut linker).map_err(PluginError::Linker)?;
        start_epoch_ticker(&engine).map_err(PluginError::Ticker)?;
        let cache_dir = prepare_cache_dir(&config.resolve_path(&config.plugins.cache_dir));

        let runtime = Runtime {
            engine,
            linker: Arc::new(linker),
            cache_dir,
            call_permits: Semaphore::new(pooled_calls as usize),
            reload_lock: tokio::sync::Mutex::new(()),
        };
        let mut slots = HashMap::new();
        for rule in &config.plugin_rules {
            let mut rule = rule.clone();
            rule.file = config.resolve_path(&rule.file);
            let slot = PluginSlot {
                current: RwLock::new(None),
                seen: Mutex::new(FileStamp::of(&rule.file).ok()),
                fault_streak: AtomicU32::new(0),
                disabled: AtomicBool::new(false),
                rule,
            };
            if let Ok(plugin) = load_logged(&runtime, &slot.rule) {
                slot.replace(plugin);
            }
            metrics::set_disabled(&slot.rule.name, false);
            slots.insert(slot.rule.name.clone(), slot);
        }

        let host = Arc::new(PluginHost { runtime: Some(runtime), slots, names });
        reload::spawn_watcher(&host, config.plugins.reload_poll_secs);
        Ok(host)
    }

    /// A host without plugins: every call returns [`PluginFault::NotLoaded`].
    pub fn empty() -> PluginHost {
        PluginHost { runtime: None, slots: HashMap::new(), names: Vec::new() }
    }

    /// Returns the rule of a configured plugin, with `file` resolved.
    pub fn rule(&self, name: &str) -> Option<&PluginRule> {
        self.slots.get(name).map(|slot| &slot.rule)
    }

    /// Returns every configured rule, in configuration order.
    pub fn rules(&self) -> impl Iterator<Item = &PluginRule> {
        self.names.iter().filter_map(|name| self.rule(name))
    }

    /// Returns the state of a configured plugin.
    pub fn status(&self, name: &str) -> Option<PluginStatus> {
        let slot = self.slots.get(name)?;
        let current = slot.current();
        Some(PluginStatus {
            loaded: current.is_some(),
            disabled: slot.disabled.load(Ordering::Acquire),
            consecutive_faults: slot.fault_streak.load(Ordering::Acquire),
            sha256: current.as_ref().map(|plugin| plugin.sha256.clone()),
            cache: current.as_ref().map(|plugin| plugin.cache),
        })
    }

    /// Runs plugin `name` on a submission. Input past the plugin's caps is
    /// cut at a field boundary. Every fault is logged and counted here.
    pub async fn call(&self, name: &str, mut submission: Submission) -> Result<Capture, PluginFault> {
        let (Some(runtime), Some(slot)) = (&self.runtime, self.slots.get(name)) else {
            return Err(PluginFault::NotLoaded);
        };
        if slot.disabled.load(Ordering::Acquire) {
            metrics::record_call(name, "disabled", None);
            return Err(PluginFault::Disabled { faults: slot.fault_streak.load(Ordering::Acquire) });
        }
        let Some(plugin) = slot.current() else {
            metrics::record_call(name, "not_loaded", None);
            return Err(PluginFault::NotLoaded);
        };

        let dropped = caps::truncate_input(&mut submission, &slot.rule.limits);
        if dropped > 0 {
            tracing::debug!(plugin = name, dropped_fields = dropped, "submission cut to the plugin's input caps");
            metrics::record_input_dropped(name, dropped);
        }

        // No code closes this semaphore, so acquiring cannot fail today; a
        // closed one would mean the host is shutting down.
        let Ok(_permit) = runtime.call_permits.acquire().await else {
            return Err(PluginFault::NotLoaded);
        };
        let started = Instant::now();
        let output = plugin.run(submission, &slot.rule.limits, &slot.rule.grants, None).await;
        let elapsed = started.elapsed();

        self.settle(slot, output.result, elapsed)
    }

    /// Counts a fault found after the call, such as output that fails
    /// validation against the field definitions, toward the plugin's
    /// consecutive faults.
    pub fn report_fault(&self, name: &str, fault: &PluginFault) {
        if let Some(slot) = self.slots.get(name) {
            self.count_fault(slot, fault);
        }
    }

    /// Reloads every plugin from its file, recompiling in the background,
    /// and re-enables disabled plugins whose file loads. A file that fails
    /// to load keeps the previous version running.
    pub async fn reload(&self) {
        self.reload_where(|_, _| true).await;
    }

    /// Reloads the plugins whose file changed since it was last read:
    /// another modification time or length, then another SHA-256.
    pub async fn reload_changed(&self) {
        self.reload_where(file_changed).await;
    }

    async fn reload_where(&self, should_reload: impl Fn(&PluginSlot, Option<&LoadedPlugin>) -> bool) {
        let Some(runtime) = &self.runtime else {
            return;
        };
        let _reloading = runtime.reload_lock.lock().await;

        for name in &self.names {
            let Some(slot) = self.slots.get(name) else {
                continue;
            };
            if !should_reload(slot, slot.current().as_deref()) {
                continue;
            }

            let engine = runtime.engine.clone();
            let linker = runtime.linker.clone();
            let cache_dir = runtime.cache_dir.clone();
            let rule = slot.rule.clone();
            let loaded =
                tokio::task::spawn_blocking(move || load_logged_with(&engine, &linker, cache_dir.as_deref(), &rule))
                    .await;

            match loaded {
                Ok(Ok(plugin)) => {
                    tracing::info!(plugin = %name, sha256 = %plugin.sha256, "plugin reloaded");
                    slot.replace(plugin);
                    slot.fault_streak.store(0, Ordering::Release);
                    slot.disabled.store(false, Ordering::Release);
                    metrics::set_disabled(name, false);
                }
                Ok(Err(_)) => {
                    // The stamp is stored so a broken file is not recompiled on every poll.
                    *slot.seen.lock().unwrap_or_else(PoisonError::into_inner) = FileStamp::of(&slot.rule.file).ok();
                }
                Err(error) => tracing::warn!(plugin = %name, error = %error, "plugin reload task failed"),
            }
        }
    }

    fn settle(
        &self,
        slot: &PluginSlot,
        result: Result<Capture, PluginFault>,
        elapsed: Duration,
    ) -> Result<Capture, PluginFault> {
        let name = slot.rule.name.as_str();
        match &result {
            Ok(_) => {
                slot.fault_streak.store(0, Ordering::Release);
                metrics::record_call(name, "ok", Some(elapsed));
            }
            Err(fault) => {
                metrics::record_call(name, fault.kind(), Some(elapsed));
                self.count_fault(slot, fault);
            }
        }
        result
    }

    fn count_fault(&self, slot: &PluginSlot, fault: &PluginFault) {
        let name = slot.rule.name.as_str();
        tracing::warn!(plugin = name, kind = fault.kind(), error = %fault, "plugin call failed");
        metrics::record_fault(name, fault.kind());

        let streak = slot.fault_streak.fetch_add(1, Ordering::AcqRel) + 1;
        let max = slot.rule.limits.max_consecutive_faults;
        if max > 0 && streak >= max && !slot.disabled.swap(true, Ordering::AcqRel) {
            tracing::warn!(plugin = name, consecutive_faults = streak, "plugin disabled until it is reloaded");
            metrics::set_disabled(name, true);
        }
    }
}

/// Returns true when the plugin's file differs from the loaded version.
fn file_changed(slot: &PluginSlot, current: Option<&LoadedPlugin>) -> bool {
    let Ok(stamp) = FileStamp::of(&slot.rule.file) else {
        return false;
    };
    let mut seen = slot.seen.lock().unwrap_or_else(PoisonError::into_inner);
    if *seen == Some(stamp) {
        return false;
    }

    // Copying a file in place changes its stamp but not its contents.
    let Ok(bytes) = std::fs::read(&slot.rule.file) else {
        return false;
    };
    if current.is_some_and(|plugin| plugin.sha256 == sha256_hex(&bytes)) {
        *seen = Some(stamp);
        return false;
    }
    true
}

fn load_logged(runtime: &Runtime, rule: &PluginRule) -> Result<LoadedPlugin, LoadError> {
    load_logged_with(&runtime.engine, &runtime.linker, runtime.cache_dir.as_deref(), rule)
}

/// Loads a plugin file, logging and counting the outcome.
fn load_logged_with(
    engine: &Engine,
    linker: &Linker<CallState>,
    cache_dir: Option<&Path>,
    rule: &PluginRule,
) -> Result<LoadedPlugin, LoadError> {
    let started = Instant::now();
    match LoadedPlugin::load(engine, linker, &rule.file, cache_dir) {
        Ok(plugin) => {
            tracing::info!(
                plugin = %rule.name,
                file = %rule.file.display(),
                sha256 = %plugin.sha256,
                source = plugin.cache.label(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "plugin loaded"
            );
            metrics::record_load(&rule.name, plugin.cache.label());
            Ok(plugin)
        }
        Err(error) => {
            tracing::warn!(
                plugin = %rule.name,
                file = %rule.file.display(),
                error = %super::error::chain(&error),
                "plugin file failed to load; a version loaded earlier, if any, keeps running"
            );
            metrics::record_load(&rule.name, error.kind());
            Err(error)
        }
    }
}

/// Creates the cache directory, or returns `None` (compile without a cache)
/// when that fails.
fn prepare_cache_dir(path: &Path) -> Option<PathBuf> {
    match std::fs::create_dir_all(path) {
        Ok(()) => Some(path.to_owned()),
        Err(error) => {
            tracing::warn!(path = %path.display(), error = %error, "cannot create the plugin cache directory; compiling without a cache");
            None
        }
    }
}
