//! `footprint plugin test` run as a process on the fixture plugin: the
//! report it prints and its exit codes.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::plugins::{fixture_plugin, no_export_plugin};
use tempfile::TempDir;

fn plugin_test(file: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_footprint"))
        .arg("plugin")
        .arg("test")
        .arg(file)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("footprint runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Returns the number after `label` on its report line.
fn number_after(report: &str, label: &str) -> u64 {
    report
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{report}"))
}

#[test]
fn valid_form_prints_capture() {
    let output = plugin_test(
        &fixture_plugin(),
        &["--form", "mode=echo&email=ana%40example.com&newsletter=yes&favourite=blue", "--route", "/signup"],
    );

    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("field email = \"ana@example.com\": valid"), "{report}");
    assert!(report.contains("field favourite = \"blue\": not checked"), "{report}");
    assert!(report.contains("consent newsletter: subscribed"), "{report}");
    assert!(report.contains("identity email = \"ana@example.com\": valid"), "{report}");
    assert!(report.contains("validation: ok"), "{report}");
    assert!(number_after(&report, "fuel: ") > 0, "{report}");
    assert!(number_after(&report, "memory peak: ") > 0, "{report}");
    assert!(report.contains("time: "), "{report}");
}

#[test]
fn invalid_standard_field_exits_three() {
    let output = plugin_test(&fixture_plugin(), &["--form", "mode=echo&email=not-an-email"]);

    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(3), "{report}");
    assert!(report.contains("field email = \"not-an-email\": invalid"), "{report}");
    assert!(report.contains("validation: 2 invalid"), "{report}");
}

#[test]
fn definitions_check_custom_fields() {
    let dir = TempDir::new().expect("temporary directory");
    let definitions = dir.path().join("fields.json");
    let json = r#"{"items": [{"id": "0190a4f6-0000-7000-8000-000000000001", "name": "favourite", "label": "Favourite",
        "type": "single_choice", "options": ["red", "green"], "default": null,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}]}"#;
    std::fs::write(&definitions, json).expect("definitions written");
    let definitions = definitions.to_str().expect("UTF-8 path");

    let valid = plugin_test(&fixture_plugin(), &["--form", "favourite=red", "--definitions", definitions]);
    let invalid = plugin_test(&fixture_plugin(), &["--form", "favourite=blue", "--definitions", definitions]);
    let unknown = plugin_test(&fixture_plugin(), &["--form", "colour=red", "--definitions", definitions]);

    assert_eq!(valid.status.code(), Some(0), "{}", stdout(&valid));
    assert!(stdout(&valid).contains("field favourite = \"red\": valid"), "{}", stdout(&valid));
    assert_eq!(invalid.status.code(), Some(3), "{}", stdout(&invalid));
    assert!(stdout(&invalid).contains("field favourite = \"blue\": invalid"), "{}", stdout(&invalid));
    assert_eq!(unknown.status.code(), Some(3), "{}", stdout(&unknown));
    assert!(stdout(&unknown).contains("unknown field"), "{}", stdout(&unknown));
}

#[test]
fn fault_exits_two() {
    let output = plugin_test(&fixture_plugin(), &["--form", "mode=loop", "--timeout-ms", "50"]);

    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(report.contains("fault: timeout"), "{report}");
}

#[test]
fn json_body_fields_are_flattened() {
    let dir = TempDir::new().expect("temporary directory");
    let body = dir.path().join("body.json");
    std::fs::write(&body, r#"{"mode": "echo", "customer": {"first_name": "Ana"}}"#).expect("body written");

    let output = plugin_test(&fixture_plugin(), &["--json", body.to_str().expect("UTF-8 path")]);

    let report = stdout(&output);
    assert!(report.contains("field customer.first_name = \"Ana\""), "{report}");
}

#[test]
fn multipart_body_uses_boundary() {
    let dir = TempDir::new().expect("temporary directory");
    let body = dir.path().join("body.txt");
    let text = "--XyZ\r\nContent-Disposition: form-data; name=\"first_name\"\r\n\r\nAna\r\n--XyZ--\r\n";
    std::fs::write(&body, text).expect("body written");

    let output = plugin_test(
        &fixture_plugin(),
        &["--multipart", body.to_str().expect("UTF-8 path"), "--content-type", "multipart/form-data; boundary=XyZ"],
    );

    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("field first_name = \"Ana\": valid"), "{report}");
}

#[test]
fn query_fields_come_first() {
    let output = plugin_test(&fixture_plugin(), &["--form", "b=2", "--route", "/form?a=1"]);

    let report = stdout(&output);
    let a = report.find("field a =").expect("query field captured");
    let b = report.find("field b =").expect("body field captured");
    assert!(a < b, "{report}");
}

#[test]
fn component_without_export_fails_to_load() {
    let output = plugin_test(&no_export_plugin(), &["--form", "a=1"]);

    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{report}");
    assert!(report.contains("load failed"), "{report}");
}

#[test]
fn unparseable_body_is_an_error() {
    let dir = TempDir::new().expect("temporary directory");
    let json = dir.path().join("bad.json");
    std::fs::write(&json, "{bad").expect("body written");
    let multipart = dir.path().join("body.txt");
    std::fs::write(&multipart, "--other\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--other--\r\n")
        .expect("body written");

    let bad_json = plugin_test(&fixture_plugin(), &["--json", json.to_str().expect("path")]);
    let wrong_boundary = plugin_test(
        &fixture_plugin(),
        &["--multipart", multipart.to_str().expect("path"), "--content-type", "multipart/form-data; boundary=XyZ"],
    );

    for output in [bad_json, wrong_boundary] {
        let errors = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(1), "{errors}");
        assert!(errors.contains("no fields readable"), "{errors}");
    }
}

#[test]
fn invalid_options_exit_with_one() {
    let output = plugin_test(&fixture_plugin(), &["--form", "a=1", "--no-such-option"]);

    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
}
