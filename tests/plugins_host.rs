//! The plugin host against real components: the adversarial fixture crate
//! in `tests/fixtures/plugins/` (built for wasm32-wasip2 on first use) and a
//! component without exports.

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use footprint::config::{Config, PluginGrants, PluginLimits, PluginRule, ResponseCondition};
use footprint::plugins::{
    CacheOutcome, Capture, Channel, Consent, Field, FieldValue, Identity, PluginFault, PluginHost, Submission,
    INTERFACE_VERSION,
};
use metrics_exporter_prometheus::PrometheusHandle;
use support::plugins::{fixture_plugin, fixture_plugin_v2, no_export_plugin};
use tempfile::TempDir;

/// A hang guard for calls and reloads, not a performance bound.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Limits for tests: a generous deadline, so only the fixture's `loop` mode
/// can reach it on a busy machine.
fn test_limits() -> PluginLimits {
    PluginLimits { timeout_ms: 5_000, ..PluginLimits::default() }
}

fn rule(name: &str, file: &Path, limits: PluginLimits, grants: PluginGrants) -> PluginRule {
    PluginRule {
        name: name.to_owned(),
        file: file.to_owned(),
        path: "/form".to_owned(),
        methods: vec!["POST".to_owned()],
        content_types: vec!["application/x-www-form-urlencoded".to_owned()],
        success: ResponseCondition::default(),
        limits,
        grants,
    }
}

/// Builds a configuration with one plugin and a private cache directory.
fn config(cache: &TempDir, rules: Vec<PluginRule>) -> Config {
    // Metrics recorded before the recorder is installed are lost.
    metrics();
    let mut config = Config::default();
    config.plugins.cache_dir = cache.path().to_owned();
    config.plugins.reload_poll_secs = 0.0;
    config.plugin_rules = rules;
    config
}

async fn start_one(name: &str, file: &Path, limits: PluginLimits) -> (Arc<PluginHost>, TempDir) {
    let cache = TempDir::new().expect("temporary cache directory");
    let host = PluginHost::start(&config(&cache, vec![rule(name, file, limits, PluginGrants::default())]))
        .expect("plugin host starts");
    (host, cache)
}

fn form(fields: &[(&str, &str)]) -> Submission {
    Submission {
        route: "/form".to_owned(),
        method: "POST".to_owned(),
        content_type: "application/x-www-form-urlencoded".to_owned(),
        fields: fields
            .iter()
            .map(|(name, value)| Field { name: (*name).to_owned(), value: (*value).to_owned() })
            .collect(),
    }
}

async fn call(host: &PluginHost, name: &str, fields: &[(&str, &str)]) -> Result<Capture, PluginFault> {
    tokio::time::timeout(HANG_GUARD, host.call(name, form(fields))).await.expect("plugin call returns")
}

fn field_value(capture: &Capture, name: &str) -> Option<String> {
    capture.fields.iter().find(|field| field.name == name).map(|field| field.value.clone())
}

/// Returns the process-wide Prometheus recorder, installed once per test binary.
fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().expect("metrics recorder installs")
    })
}

/// Returns the value of the sample of `metric` whose labels include every
/// `name="value"` pair of `labels`, or 0 when there is none.
fn metric_value(metric: &str, labels: &[(&str, &str)]) -> f64 {
    let rendered = metrics().render();
    rendered
        .lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")))
        .filter(|line| labels.iter().all(|(name, value)| line.contains(&format!("{name}=\"{value}\""))))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Log lines written while the guard lives, on the current thread.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn capture() -> (LogBuffer, tracing::subscriber::DefaultGuard) {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
        let guard = tracing::subscriber::set_default(subscriber);
        (buffer, guard)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|error| error.into_inner())).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|error| error.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn echo_returns_fields_consent_identity() {
    let (host, _cache) = start_one("echo", &fixture_plugin(), test_limits()).await;

    let capture = call(&host, "echo", &[("email", "ana@example.com"), ("newsletter", "yes")]).await.expect("echo call");

    assert_eq!(
        capture.fields,
        vec![
            FieldValue { name: "email".to_owned(), value: "ana@example.com".to_owned() },
            FieldValue { name: "newsletter".to_owned(), value: "yes".to_owned() },
        ]
    );
    assert_eq!(capture.consents, vec![Consent { channel: Channel::Newsletter, subscribed: true }]);
    assert_eq!(capture.identity, Some(Identity::Email("ana@example.com".to_owned())));
    assert_eq!(metric_value("footprint_plugin_calls_total", &[("plugin", "echo"), ("outcome", "ok")]), 1.0);
    assert_eq!(metric_value("footprint_plugin_call_duration_seconds_count", &[("plugin", "echo")]), 1.0);
}

/// Runs one faulting mode, then checks the fault kind, its metric and log
/// line, and that a good call still works afterwards.
async fn assert_fault(name: &str, mode: &str, limits: PluginLimits, expected_kind: &str) -> PluginFault {
    let (host, _cache) = start_one(name, &fixture_plugin(), limits).await;
    let (logs, _guard) = LogBuffer::capture();

    let fault = call(&host, name, &[("mode", mode), ("secret", "do-not-log")]).await.expect_err("the call faults");

    assert_eq!(fault.kind(), expected_kind, "{fault}");
    assert_eq!(metric_value("footprint_plugin_faults_total", &[("plugin", name), ("kind", expected_kind)]), 1.0);
    assert_eq!(metric_value("footprint_plugin_calls_total", &[("plugin", name), ("outcome", expected_kind)]), 1.0);
    let text = logs.text();
    assert!(text.contains("plugin call failed"), "no fault log line in:\n{text}");
    assert!(text.contains(&format!("plugin=\"{name}\"")) || text.contains(&format!("plugin={name}")), "{text}");
    assert!(text.contains(expected_kind), "{text}");
    assert!(!text.contains("do-not-log"), "submission data was logged:\n{text}");

    let next = call(&host, name, &[("mode", "echo"), ("a", "1")]).await.expect("the next good call works");
    assert_eq!(field_value(&next, "a").as_deref(), Some("1"));
    fault
}

#[tokio::test]
async fn infinite_loop_times_out() {
    let limits = PluginLimits { timeout_ms: 50, ..test_limits() };

    let fault = assert_fault("loop", "loop", limits, "timeout").await;

    assert!(matches!(fault, PluginFault::Timeout { timeout_ms: 50 }), "{fault:?}");
}

/// `#[tokio::test]` runs on one thread, so the ticker below advances only
/// when the looping call yields that thread back to the executor.
#[tokio::test]
async fn looping_call_shares_its_thread() {
    let limits = PluginLimits { timeout_ms: 200, ..test_limits() };
    let (host, _cache) = start_one("shared", &fixture_plugin(), limits).await;
    let ticks = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }
    });
    tokio::task::yield_now().await;
    let before = ticks.load(std::sync::atomic::Ordering::Relaxed);

    let fault = call(&host, "shared", &[("mode", "loop")]).await.expect_err("the call times out");

    let during = ticks.load(std::sync::atomic::Ordering::Relaxed) - before;
    ticker.abort();
    assert_eq!(fault.kind(), "timeout", "{fault}");
    assert!(during > 10, "other tasks ran only {during} times while the plugin looped");
}

#[tokio::test]
async fn memory_growth_hits_limit() {
    let limits = PluginLimits { memory_bytes: 4 << 20, ..test_limits() };

    let fault = assert_fault("memory", "memory", limits, "memory").await;

    assert!(matches!(fault, PluginFault::Memory { limit_bytes } if limit_bytes == 4 << 20), "{fault:?}");
}

#[tokio::test]
async fn panic_becomes_trap() {
    let fault = assert_fault("panic", "panic", test_limits(), "trap").await;

    assert!(matches!(&fault, PluginFault::Trap { reason } if reason.contains("unreachable")), "{fault:?}");
}

#[tokio::test]
async fn err_result_is_rejected() {
    let fault = assert_fault("err", "err", test_limits(), "rejected").await;

    assert!(matches!(&fault, PluginFault::Rejected { message } if message == "fixture rejected the submission"));
}

#[tokio::test]
async fn oversized_output_is_rejected() {
    let fault = assert_fault("big", "big", test_limits(), "output_too_large").await;

    assert!(matches!(&fault, PluginFault::OutputTooLarge { reason } if reason.contains("bytes")), "{fault:?}");
}

#[tokio::test]
async fn too_many_output_fields_rejected() {
    let fault = assert_fault("many", "many", test_limits(), "output_too_large").await;

    assert!(matches!(&fault, PluginFault::OutputTooLarge { reason } if reason.contains("entries")), "{fault:?}");
}

#[tokio::test]
async fn consecutive_faults_disable_until_reload() {
    let limits = PluginLimits { max_consecutive_faults: 3, ..test_limits() };
    let (host, _cache) = start_one("flaky", &fixture_plugin(), limits).await;

    for _ in 0..3 {
        let fault = call(&host, "flaky", &[("mode", "err")]).await.expect_err("err mode faults");
        assert_eq!(fault.kind(), "rejected");
    }
    let disabled = call(&host, "flaky", &[("mode", "echo")]).await.expect_err("a disabled plugin is not called");

    assert!(matches!(disabled, PluginFault::Disabled { faults: 3 }), "{disabled:?}");
    assert_eq!(metric_value("footprint_plugin_disabled", &[("plugin", "flaky")]), 1.0);
    assert_eq!(metric_value("footprint_plugin_calls_total", &[("plugin", "flaky"), ("outcome", "disabled")]), 1.0);
    assert!(host.status("flaky").is_some_and(|status| status.disabled));

    tokio::time::timeout(HANG_GUARD, host.reload()).await.expect("reload returns");

    let capture = call(&host, "flaky", &[("mode", "echo"), ("a", "1")]).await.expect("reload re-enables");
    assert_eq!(field_value(&capture, "a").as_deref(), Some("1"));
    assert_eq!(metric_value("footprint_plugin_disabled", &[("plugin", "flaky")]), 0.0);
}

#[tokio::test]
async fn successful_call_resets_fault_streak() {
    let limits = PluginLimits { max_consecutive_faults: 2, ..test_limits() };
    let (host, _cache) = start_one("streak", &fixture_plugin(), limits).await;

    for _ in 0..3 {
        call(&host, "streak", &[("mode", "err")]).await.expect_err("err mode faults");
        call(&host, "streak", &[("mode", "echo")]).await.expect("a good call between faults works");
    }

    let status = host.status("streak").expect("plugin is configured");
    assert!(!status.disabled);
    assert_eq!(status.consecutive_faults, 0);
}

#[tokio::test]
async fn sandbox_denies_files_env_clocks_random() {
    let (host, _cache) = start_one("sandbox", &fixture_plugin(), test_limits()).await;

    let first = call(&host, "sandbox", &[("mode", "sandbox")]).await.expect("sandbox call");
    let second = call(&host, "sandbox", &[("mode", "sandbox")]).await.expect("sandbox call");

    let file = field_value(&first, "file").unwrap_or_default();
    assert!(file.starts_with("denied"), "file access was not denied: {file}");
    assert_eq!(field_value(&first, "env").as_deref(), Some(""));
    assert_eq!(field_value(&first, "wall_secs").as_deref(), Some("0"));
    assert_eq!(field_value(&first, "monotonic_nanos").as_deref(), Some("0"));
    let socket = field_value(&first, "socket").unwrap_or_default();
    assert!(socket.starts_with("denied"), "socket was not denied: {socket}");
    assert_eq!(field_value(&first, "random"), field_value(&second, "random"), "random seed is not fixed");
}

#[tokio::test]
async fn grants_open_clocks_random_env() {
    let cache = TempDir::new().expect("temporary cache directory");
    let grants = PluginGrants { clocks: true, random: true, env: vec!["PATH".to_owned()] };
    let host = PluginHost::start(&config(&cache, vec![rule("granted", &fixture_plugin(), test_limits(), grants)]))
        .expect("plugin host starts");

    let first = call(&host, "granted", &[("mode", "sandbox")]).await.expect("sandbox call");
    let second = call(&host, "granted", &[("mode", "sandbox")]).await.expect("sandbox call");

    let wall_secs: u64 = field_value(&first, "wall_secs").and_then(|text| text.parse().ok()).unwrap_or(0);
    assert!(wall_secs > 1_600_000_000, "wall clock is not the host's: {wall_secs}");
    let monotonic_nanos: u64 = field_value(&first, "monotonic_nanos").and_then(|text| text.parse().ok()).unwrap_or(0);
    assert!(monotonic_nanos > 0, "monotonic clock does not advance");
    assert_eq!(field_value(&first, "env").as_deref(), Some("PATH"));
    assert_ne!(field_value(&first, "random"), field_value(&second, "random"), "random seed is fixed");
    let file = field_value(&first, "file").unwrap_or_default();
    assert!(file.starts_with("denied"), "grants opened the file system: {file}");
}

#[tokio::test]
async fn sleeping_traps_instead_of_blocking() {
    let grants = PluginGrants { clocks: true, ..PluginGrants::default() };
    let cache = TempDir::new().expect("temporary cache directory");
    let rules = vec![
        rule("sleep_denied", &fixture_plugin(), test_limits(), PluginGrants::default()),
        rule("sleep_granted", &fixture_plugin(), test_limits(), grants),
    ];
    let host = PluginHost::start(&config(&cache, rules)).expect("plugin host starts");

    for name in ["sleep_denied", "sleep_granted"] {
        let fault = call(&host, name, &[("mode", "sleep")]).await.expect_err("sleeping faults");

        assert!(matches!(&fault, PluginFault::Trap { reason } if reason.contains("wait on a clock")), "{fault:?}");
    }
}

#[tokio::test]
async fn input_cut_to_field_cap() {
    let limits = PluginLimits { max_input_fields: 3, ..test_limits() };
    let (host, _cache) = start_one("input_cap", &fixture_plugin(), limits).await;

    let capture =
        call(&host, "input_cap", &[("mode", "echo"), ("a", "1"), ("b", "2"), ("c", "3")]).await.expect("echo call");

    let names: Vec<&str> = capture.fields.iter().map(|field| field.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(metric_value("footprint_plugin_input_fields_dropped_total", &[("plugin", "input_cap")]), 1.0);
}

#[tokio::test]
async fn missing_export_is_load_error() {
    let (logs, _guard) = LogBuffer::capture();
    let (host, _cache) = start_one("no_export", &no_export_plugin(), test_limits()).await;

    let fault = call(&host, "no_export", &[("a", "1")]).await.expect_err("an unloaded plugin is not called");

    assert!(matches!(fault, PluginFault::NotLoaded), "{fault:?}");
    assert!(host.status("no_export").is_some_and(|status| !status.loaded));
    assert_eq!(
        metric_value("footprint_plugin_loads_total", &[("plugin", "no_export"), ("outcome", "missing_export")]),
        1.0
    );
    let text = logs.text();
    assert!(text.contains("plugin file failed to load"), "{text}");
    assert!(text.contains("no_export"), "{text}");
}

#[tokio::test]
async fn missing_file_leaves_plugin_unloaded() {
    let missing = Path::new("/nonexistent/footprint/plugin.wasm");
    let (host, _cache) = start_one("missing", missing, test_limits()).await;

    let fault = call(&host, "missing", &[("a", "1")]).await.expect_err("an unloaded plugin is not called");

    assert!(matches!(fault, PluginFault::NotLoaded), "{fault:?}");
    assert_eq!(metric_value("footprint_plugin_loads_total", &[("plugin", "missing"), ("outcome", "read_failed")]), 1.0);
}

#[tokio::test]
async fn unknown_plugin_is_not_loaded() {
    let (host, _cache) = start_one("known", &fixture_plugin(), test_limits()).await;

    let fault = call(&host, "unknown", &[("a", "1")]).await.expect_err("no such plugin");

    assert!(matches!(fault, PluginFault::NotLoaded), "{fault:?}");
}

#[tokio::test]
async fn duplicate_plugin_names_rejected() {
    let cache = TempDir::new().expect("temporary cache directory");
    let rules = vec![
        rule("twice", &fixture_plugin(), test_limits(), PluginGrants::default()),
        rule("twice", &fixture_plugin(), test_limits(), PluginGrants::default()),
    ];

    let result = PluginHost::start(&config(&cache, rules));

    assert!(result.is_err());
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("cache directory is readable")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "cwasm"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn second_load_uses_cache() {
    let cache = TempDir::new().expect("temporary cache directory");
    let config = config(&cache, vec![rule("cached", &fixture_plugin(), test_limits(), PluginGrants::default())]);

    let first = PluginHost::start(&config).expect("plugin host starts");
    let second = PluginHost::start(&config).expect("plugin host starts");

    assert_eq!(first.status("cached").and_then(|status| status.cache), Some(CacheOutcome::Miss));
    assert_eq!(second.status("cached").and_then(|status| status.cache), Some(CacheOutcome::Hit));
    assert_eq!(cache_files(cache.path()).len(), 1);
    assert!(metric_value("footprint_plugin_loads_total", &[("plugin", "cached"), ("outcome", "cache_hit")]) >= 1.0);
    call(&second, "cached", &[("a", "1")]).await.expect("the cached code runs");
}

#[tokio::test]
async fn corrupted_cache_file_recompiles() {
    let cache = TempDir::new().expect("temporary cache directory");
    let config = config(&cache, vec![rule("corrupt", &fixture_plugin(), test_limits(), PluginGrants::default())]);
    drop(PluginHost::start(&config).expect("plugin host starts"));
    let files = cache_files(cache.path());
    assert_eq!(files.len(), 1);
    std::fs::write(&files[0], b"not compiled code").expect("cache file is writable");

    let host = PluginHost::start(&config).expect("plugin host starts");

    assert_eq!(host.status("corrupt").and_then(|status| status.cache), Some(CacheOutcome::Invalid));
    let capture = call(&host, "corrupt", &[("a", "1")]).await.expect("the recompiled code runs");
    assert_eq!(field_value(&capture, "a").as_deref(), Some("1"));
    let reloaded = PluginHost::start(&config).expect("plugin host starts");
    assert_eq!(reloaded.status("corrupt").and_then(|status| status.cache), Some(CacheOutcome::Hit));
}

/// Replaces `path` by writing a sibling file and renaming it over `path`,
/// as deployment tools do, so the watcher never reads a partial file.
fn replace_file(source: &Path, path: &Path) {
    let temporary = path.with_extension("new");
    let mut file = std::fs::File::create(&temporary).expect("temporary plugin file");
    file.write_all(&std::fs::read(source).expect("new plugin version is readable")).expect("plugin file written");
    file.sync_all().expect("plugin file synced");
    std::fs::rename(&temporary, path).expect("plugin file replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_while_calls_flow() {
    let dir = TempDir::new().expect("temporary plugin directory");
    let file = dir.path().join("plugin.wasm");
    std::fs::copy(fixture_plugin(), &file).expect("plugin copied");
    let v2 = fixture_plugin_v2();
    let mut config = config(&dir, vec![rule("hot", &file, test_limits(), PluginGrants::default())]);
    config.plugins.cache_dir = dir.path().join("cache");
    config.plugins.reload_poll_secs = 0.05;
    let host = PluginHost::start(&config).expect("plugin host starts");
    let before = call(&host, "hot", &[("mode", "version")]).await.expect("version call");
    assert_eq!(field_value(&before, "version").as_deref(), Some("1"));

    let callers: Vec<_> = (0..4)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move {
                let mut versions = Vec::new();
                for _ in 0..400 {
                    let capture = host.call("hot", form(&[("mode", "version")])).await.expect("no call fails");
                    versions.push(field_value(&capture, "version").unwrap_or_default());
                    if versions.last().is_some_and(|version| version == "2") && versions.len() > 20 {
                        break;
                    }
                }
                versions
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    replace_file(&v2, &file);

    for caller in callers {
        let versions = tokio::time::timeout(HANG_GUARD, caller).await.expect("callers finish").expect("caller ran");
        assert!(versions.iter().all(|version| version == "1" || version == "2"), "{versions:?}");
    }
    let after = tokio::time::timeout(HANG_GUARD, async {
        loop {
            let capture = host.call("hot", form(&[("mode", "version")])).await.expect("version call");
            if field_value(&capture, "version").as_deref() == Some("2") {
                return capture;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the new version takes effect");

    assert_eq!(field_value(&after, "version").as_deref(), Some("2"));
    assert_eq!(metric_value("footprint_plugin_faults_total", &[("plugin", "hot")]), 0.0);
}

#[tokio::test]
async fn broken_new_version_keeps_old() {
    let dir = TempDir::new().expect("temporary plugin directory");
    let file = dir.path().join("plugin.wasm");
    std::fs::copy(fixture_plugin(), &file).expect("plugin copied");
    let host = PluginHost::start(&config(&dir, vec![rule("keep", &file, test_limits(), PluginGrants::default())]))
        .expect("plugin host starts");
    std::fs::write(&file, b"not a component").expect("plugin file overwritten");

    tokio::time::timeout(HANG_GUARD, host.reload()).await.expect("reload returns");

    let capture = call(&host, "keep", &[("a", "1")]).await.expect("the old version still runs");
    assert_eq!(field_value(&capture, "a").as_deref(), Some("1"));
    assert_eq!(metric_value("footprint_plugin_loads_total", &[("plugin", "keep"), ("outcome", "compile_failed")]), 1.0);
}

#[test]
fn relative_plugin_path_uses_config_dir() {
    let dir = TempDir::new().expect("temporary configuration directory");
    std::fs::copy(fixture_plugin(), dir.path().join("relative.wasm")).expect("plugin copied");
    let config_path = dir.path().join("footprint.toml");
    let text = "[tracker]\nkeys = [\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==\"]\n\n\
                [[admin.tokens]]\nname = \"test\"\ntoken = \"test-token-0123456789abcdef\"\n\n\
                [plugins]\ncache_dir = \"compiled\"\nreload_poll_secs = 0\n\n\
                [[plugin]]\nname = \"relative\"\nfile = \"relative.wasm\"\npath = \"/form\"\n\
                [plugin.success]\nstatus = [200]\n";
    std::fs::write(&config_path, text).expect("configuration written");

    let config = Config::load(&config_path).expect("configuration loads");
    let host = PluginHost::start(&config).expect("plugin host starts");

    assert_eq!(host.rule("relative").map(|rule| rule.file.clone()), Some(dir.path().join("relative.wasm")));
    assert!(host.status("relative").is_some_and(|status| status.loaded));
    assert_eq!(cache_files(&dir.path().join("compiled")).len(), 1);
}

#[test]
fn interface_version_is_pinned() {
    let wit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/wit/world.wit"))
        .expect("the WIT file is readable");

    assert_eq!(INTERFACE_VERSION, "1.0.0");
    assert!(wit.contains(&format!("package footprint:plugin@{INTERFACE_VERSION};")), "WIT package version changed");
}

#[tokio::test]
async fn empty_host_has_no_plugins() {
    let host = PluginHost::empty();

    let fault = host.call("any", form(&[])).await.expect_err("no plugins");

    assert!(matches!(fault, PluginFault::NotLoaded));
    assert_eq!(host.rules().count(), 0);
}
