//! SIGHUP reloads plugins. This test sends SIGHUP to its own process, so it
//! has a test binary of its own: the signal would reload the plugins of
//! any other test running alongside it.

mod support;

use std::process::Command;
use std::time::Duration;

use footprint::config::{Config, PluginLimits, PluginRule, ResponseCondition};
use footprint::plugins::{Field, PluginFault, PluginHost, Submission};
use support::plugins::fixture_plugin;
use tempfile::TempDir;

/// A hang guard for the whole wait, not a performance bound.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn submission(mode: &str) -> Submission {
    Submission {
        route: "/form".to_owned(),
        method: "POST".to_owned(),
        content_type: "application/x-www-form-urlencoded".to_owned(),
        fields: vec![Field { name: "mode".to_owned(), value: mode.to_owned() }],
    }
}

#[tokio::test]
async fn sighup_reenables_disabled_plugin() {
    // Listening before the host starts keeps an early SIGHUP from ending
    // the process with the default action.
    let mut own_listener =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).expect("SIGHUP listener installs");
    let cache = TempDir::new().expect("temporary cache directory");
    let mut config = Config::default();
    config.plugins.cache_dir = cache.path().to_owned();
    config.plugins.reload_poll_secs = 0.0;
    config.plugin_rules = vec![PluginRule {
        name: "hup".to_owned(),
        file: fixture_plugin(),
        path: "/form".to_owned(),
        methods: vec!["POST".to_owned()],
        content_types: vec!["application/x-www-form-urlencoded".to_owned()],
        success: ResponseCondition::default(),
        limits: PluginLimits { timeout_ms: 5_000, max_consecutive_faults: 1, ..PluginLimits::default() },
        grants: Default::default(),
    }];
    let host = PluginHost::start(&config).expect("plugin host starts");
    host.call("hup", submission("err")).await.expect_err("err mode faults");
    let disabled = host.call("hup", submission("echo")).await.expect_err("the plugin is disabled");
    assert!(matches!(disabled, PluginFault::Disabled { .. }), "{disabled:?}");

    // The watcher starts listening in a spawned task, so the signal is
    // repeated until the reload shows.
    let reenabled = tokio::time::timeout(HANG_GUARD, async {
        loop {
            let status =
                Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().expect("kill runs");
            assert!(status.success());
            own_listener.recv().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            if host.status("hup").is_some_and(|status| !status.disabled) {
                return;
            }
        }
    })
    .await;

    assert!(reenabled.is_ok(), "SIGHUP did not re-enable the plugin");
    host.call("hup", submission("echo")).await.expect("the reloaded plugin runs");
}
