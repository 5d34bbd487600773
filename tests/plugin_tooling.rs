//! `footprint plugin new`: the scaffold it writes passes its own unit tests
//! and builds for wasm32-wasip2 into a component that `footprint plugin
//! test` runs, and the command
//! rejects names and directories it must not use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

fn footprint(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_footprint"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("footprint could not be started")
}

/// Builds a plugin crate into `target/plugins`, so wit-bindgen compiled for
/// the example plugins is reused, and returns the component's path.
fn build_for_wasm(crate_dir: &Path, lib_name: &str) -> PathBuf {
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plugins");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());

    let output = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .current_dir(crate_dir)
        .output()
        .expect("cargo could not be started");
    assert!(output.status.success(), "scaffold build failed:\n{}", String::from_utf8_lossy(&output.stderr));

    target_dir.join("wasm32-wasip2/release").join(format!("{lib_name}.wasm"))
}

#[test]
fn scaffold_tests_builds_and_runs() {
    let root = TempDir::new().expect("temporary directory");
    let crate_dir = root.path().join("scaffold-check");

    let created =
        footprint(&["plugin", "new", "scaffold-check", "--dir", crate_dir.to_str().expect("UTF-8 path")], root.path());
    assert!(created.status.success(), "plugin new failed:\n{}", String::from_utf8_lossy(&created.stderr));
    for file in ["Cargo.toml", "src/lib.rs", "wit/world.wit", "README.md", ".gitignore"] {
        assert!(crate_dir.join(file).is_file(), "scaffold lacks {file}");
    }

    // The generated unit tests run on the host.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plugins");
    let unit_tests = Command::new(cargo)
        .arg("test")
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(&crate_dir)
        .output()
        .expect("cargo could not be started");
    let test_output = String::from_utf8_lossy(&unit_tests.stdout);
    assert!(
        unit_tests.status.success(),
        "scaffold tests failed:\n{test_output}\n{}",
        String::from_utf8_lossy(&unit_tests.stderr)
    );
    assert!(test_output.contains("test result: ok. 2 passed"), "scaffold tests:\n{test_output}");

    let wasm = build_for_wasm(&crate_dir, "scaffold_check");
    let bytes = std::fs::read(&wasm).expect("component is readable");

    // A core module has version 1 in bytes 4..8; a component has version 13
    // in the first two and layer 1 in the last two.
    assert_eq!(&bytes[..4], b"\0asm", "not WebAssembly");
    assert_eq!(&bytes[4..8], [0x0d, 0x00, 0x01, 0x00], "not a component");

    let wasm_arg = wasm.to_str().expect("UTF-8 path");
    let tested =
        footprint(&["plugin", "test", wasm_arg, "--form", "email=ada%40example.com&newsletter=on"], root.path());
    let report = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.status.success(), "plugin test failed:\n{report}\n{}", String::from_utf8_lossy(&tested.stderr));
    assert!(report.contains("field email = \"ada@example.com\": valid"), "report:\n{report}");
    assert!(report.contains("consent newsletter: subscribed"), "report:\n{report}");
    assert!(report.contains("identity email = \"ada@example.com\""), "report:\n{report}");
}

#[test]
fn scaffold_defaults_to_name_directory() {
    let root = TempDir::new().expect("temporary directory");

    let created = footprint(&["plugin", "new", "my_capture"], root.path());

    assert!(created.status.success(), "plugin new failed:\n{}", String::from_utf8_lossy(&created.stderr));
    assert!(root.path().join("my_capture/Cargo.toml").is_file());
}

#[test]
fn scaffold_rejects_existing_directory() {
    let root = TempDir::new().expect("temporary directory");
    std::fs::create_dir(root.path().join("taken")).expect("directory created");

    let refused = footprint(&["plugin", "new", "taken"], root.path());

    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("already exists"), "stderr: {stderr}");
    assert!(!root.path().join("taken/Cargo.toml").exists());
}

#[test]
fn scaffold_rejects_invalid_name() {
    let root = TempDir::new().expect("temporary directory");

    let refused = footprint(&["plugin", "new", "../escape"], root.path());

    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("invalid plugin name"), "stderr: {stderr}");
    assert_eq!(std::fs::read_dir(root.path()).expect("listing").count(), 0, "something was created");
}
