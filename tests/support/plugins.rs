//! Plugin components for tests, built from their Rust crates on first use.
//!
//! [`build_plugin`] runs `cargo build --release --target wasm32-wasip2` on a
//! plugin crate once per test binary, crate and target directory, and
//! returns the `.wasm` path. Builds use target directories under `target/`
//! other than the outer `cargo test`'s, so they never wait on its lock.
//! Build failures panic with cargo's output.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

/// The adversarial fixture: the field `mode` picks its behaviour (see
/// `tests/fixtures/plugins/src/lib.rs`).
pub fn fixture_plugin() -> PathBuf {
    build_plugin(&fixture_dir(), "plugins", &[])
}

/// The fixture built with `FIXTURE_VERSION=2`, so mode `version` returns 2.
pub fn fixture_plugin_v2() -> PathBuf {
    build_plugin(&fixture_dir(), "plugins-v2", &[("FIXTURE_VERSION", "2")])
}

/// Returns the path of a component with no exports, `(component)` in the
/// text format.
pub fn no_export_plugin() -> PathBuf {
    fixture_dir().join("no_export.wat")
}

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plugins")
}

/// A build's crate directory and target directory. Several crates share one
/// target directory, so the key contains both.
type BuildKey = (PathBuf, PathBuf);

/// Builds the plugin crate in `crate_dir` into `target/<target_name>` with
/// the extra environment `env`, once per test binary, crate and target
/// directory, and returns the component's path.
pub fn build_plugin(crate_dir: &Path, target_name: &str, env: &[(&str, &str)]) -> PathBuf {
    static BUILDS: OnceLock<Mutex<HashMap<BuildKey, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(target_name);

    let once = {
        let mut builds = BUILDS.get_or_init(Default::default).lock().unwrap_or_else(|error| error.into_inner());
        builds.entry((crate_dir.to_owned(), target_dir.clone())).or_default().clone()
    };
    once.get_or_init(|| run_cargo_build(crate_dir, &target_dir, env)).clone()
}

fn run_cargo_build(crate_dir: &Path, target_dir: &Path, env: &[(&str, &str)]) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let manifest = crate_dir.join("Cargo.toml");
    let output = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .envs(env.iter().copied())
        .output()
        .expect("cargo could not be started");
    assert!(
        output.status.success(),
        "building {} failed:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&output.stderr)
    );

    let name = package_name(&manifest).replace('-', "_");
    let wasm = target_dir.join("wasm32-wasip2/release").join(format!("{name}.wasm"));
    assert!(wasm.exists(), "cargo built no {}", wasm.display());
    wasm
}

/// Reads the package name from a crate manifest.
fn package_name(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).expect("plugin manifest is readable");
    let table: toml::Table = toml::from_str(&text).expect("plugin manifest is valid TOML");
    table
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(|name| name.as_str())
        .unwrap_or_else(|| panic!("no package name in {}", manifest.display()))
        .to_owned()
}

/// Builds an example plugin of `plugins/` (`newsletter` or `profile`) into
/// `target/plugins`, where the demo and `examples/oscar.toml` expect it, and
/// returns the component's path.
pub fn example(name: &str) -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins").join(name);
    build_plugin(&crate_dir, "plugins", &[])
}
