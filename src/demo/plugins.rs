//! Builds the example plugins the demo configuration declares when their
//! components are missing, so `cargo run -- demo` captures form fields on a
//! fresh clone.
//!
//! A missing `footprint_plugin_<name>.wasm` is built from `plugins/<name>/`
//! with `cargo build --release --target wasm32-wasip2 --target-dir
//! target/plugins`, relative to the working directory, which is the
//! repository root under `cargo run`. The build needs the `wasm32-wasip2`
//! target and, on the first run, the crates.io index. The first build
//! compiles wit-bindgen and takes tens of seconds. A failed build is logged as a
//! warning and the demo starts without that plugin: its form still works,
//! and nothing is captured from it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Config;

/// The file name prefix cargo gives the example plugins' components.
const EXAMPLE_PREFIX: &str = "footprint_plugin_";

/// Builds every declared example plugin whose component file is missing.
pub async fn build_missing(config: &Config) {
    let missing: Vec<(String, PathBuf)> = config
        .plugin_rules
        .iter()
        .map(|rule| (rule.name.clone(), config.resolve_path(&rule.file)))
        .filter(|(_, file)| !file.exists())
        .collect();

    for (name, file) in missing {
        let Some(crate_dir) = example_crate_dir(&file) else {
            tracing::warn!(plugin = %name, file = %file.display(), "plugin file missing and not an example plugin; the demo runs without it");
            continue;
        };

        tracing::info!(plugin = %name, crate_dir = %crate_dir.display(), "building the example plugin for wasm32-wasip2; the first build compiles wit-bindgen and takes tens of seconds");
        let built = tokio::task::spawn_blocking(move || build(&crate_dir)).await;
        match built {
            Ok(Ok(())) if file.exists() => {
                tracing::info!(plugin = %name, file = %file.display(), "example plugin built")
            }
            Ok(Ok(())) => {
                tracing::warn!(plugin = %name, file = %file.display(), "cargo succeeded but wrote no component at the configured path; the demo runs without this plugin")
            }
            Ok(Err(reason)) => {
                tracing::warn!(plugin = %name, %reason, "failed to build the example plugin; the demo runs without it")
            }
            Err(error) => {
                tracing::warn!(plugin = %name, %error, "the plugin build task failed; the demo runs without it")
            }
        }
    }
}

/// Returns `plugins/<name>` for a component named
/// `footprint_plugin_<name>.wasm`, when that crate exists.
fn example_crate_dir(file: &Path) -> Option<PathBuf> {
    let stem = file.file_name()?.to_str()?.strip_suffix(".wasm")?;
    let name = stem.strip_prefix(EXAMPLE_PREFIX)?.replace('_', "-");

    let crate_dir = Path::new("plugins").join(name);
    crate_dir.join("Cargo.toml").is_file().then_some(crate_dir)
}

/// Runs cargo on the crate; returns the reason as text when it fails.
fn build(crate_dir: &Path) -> Result<(), String> {
    // `cargo run` sets CARGO to the cargo binary that started the demo.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(&cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir", "target/plugins", "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .output()
        .map_err(|error| format!("failed to start {cargo}: {error}; install Rust with rustup"))?;
    if output.status.success() {
        return Ok(());
    }

    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("wasm32-wasip2") && (stderr.contains("not installed") || stderr.contains("can't find crate")) {
        return Err("the wasm32-wasip2 target is missing; run `rustup target add wasm32-wasip2`".to_owned());
    }
    let last_lines: Vec<&str> = stderr.lines().rev().take(5).collect();
    Err(format!(
        "cargo exited with {}: {}",
        output.status,
        last_lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_components_map_to_crates() {
        let file = Path::new("target/plugins/wasm32-wasip2/release/footprint_plugin_newsletter.wasm");
        let crate_dir = example_crate_dir(file);

        // Unit tests run in the package root, where plugins/newsletter exists.
        assert_eq!(crate_dir, Some(PathBuf::from("plugins/newsletter")));
    }

    #[test]
    fn other_components_map_to_nothing() {
        for file in ["shop_capture.wasm", "footprint_plugin_missing.wasm", "footprint_plugin_newsletter.wat", ""] {
            assert_eq!(example_crate_dir(Path::new(file)), None, "file {file:?}");
        }
    }
}
