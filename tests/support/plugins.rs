//! Builds the plugin components the tests load: the example plugins in
//! `plugins/` and the fault fixture in `tests/fixtures/plugins/`.
//!
//! Each is built once per test process with the `cargo` running the tests,
//! for `wasm32-wasip2` in release mode, into `target/plugins`, where
//! `config.toml` expects the examples. Cargo skips the build when nothing
//! changed. The build runs offline, so the plugins' dependencies must
//! already be in the local registry cache.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Serialises builds within one test process: cargo would block on its
/// own lock anyway, and this keeps the output of one build together.
static BUILD: Mutex<()> = Mutex::new(());

/// Builds the example plugin `plugins/<name>` and returns its component.
pub fn example(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    build(&root.join("plugins").join(name).join("Cargo.toml"), &format!("footprint_plugin_{name}.wasm"))
}

/// Builds the fault fixture of `tests/fixtures/plugins` and returns its
/// component.
pub fn fixture() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    build(&root.join("tests/fixtures/plugins/Cargo.toml"), "footprint_test_plugin.wasm")
}

fn build(manifest: &Path, artifact: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = root.join("target/plugins");
    let _guard = BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(["build", "--offline", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .arg("--manifest-path")
        .arg(manifest)
        .status()
        .expect("run cargo to build a plugin");
    assert!(status.success(), "building {} failed", manifest.display());

    let component = target_dir.join("wasm32-wasip2/release").join(artifact);
    assert!(component.is_file(), "{} was not built", component.display());
    component
}
