//! `footprint plugin test`: runs a plugin once on a sample form, without a
//! shop or a store, and prints what it captured, whether each value passes
//! Footprint's field rules, and the time, memory and fuel the call used.
//!
//! The form is parsed by the same parser the proxy uses
//! ([`crate::tracking::Fields`]), so the plugin receives what it would
//! receive in production. Standard fields are checked with the standard
//! field rules; custom fields are checked only when `--definitions` gives
//! their definitions, in the JSON shape `GET /api/v1/fields` returns.
//! Printing submitted values is fine here because the form comes from the
//! person running the command.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use serde::Deserialize;

use crate::config::{PluginGrants, PluginLimits};
use crate::identity::PhoneCountry;
use crate::plugins::{self, Capture, Channel, Field, FieldValue, Identity, Measured, PluginFault, Submission};
use crate::standard_fields::StandardField;
use crate::store::{FieldDefinition, FieldType};
use crate::tracking::{Fields, FormEncoding};

/// Exit code when the plugin faulted or failed to load.
pub const EXIT_FAULT: i32 = 2;
/// Exit code when the capture fails the field rules.
pub const EXIT_INVALID: i32 = 3;

/// Options of `footprint plugin test`.
#[derive(Clone, Debug, clap::Args)]
pub struct PluginTestOptions {
    /// The plugin component (`.wasm`).
    pub file: PathBuf,
    /// A urlencoded form body, such as `email=ana%40example.com&newsletter=yes`.
    #[arg(long, conflicts_with_all = ["json", "multipart"])]
    pub form: Option<String>,
    /// A file with a JSON body.
    #[arg(long, conflicts_with = "multipart")]
    pub json: Option<PathBuf>,
    /// A file with a multipart/form-data body; `--content-type` gives its boundary.
    #[arg(long, requires = "content_type")]
    pub multipart: Option<PathBuf>,
    /// The `Content-Type` of the body, such as `multipart/form-data; boundary=x`.
    /// Defaults to the type of `--form`, `--json` or `--multipart`.
    #[arg(long)]
    pub content_type: Option<String>,
    /// The request path, optionally with a query string whose fields come first.
    #[arg(long, default_value = "/")]
    pub route: String,
    /// The HTTP method.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// Custom field definitions as `GET /api/v1/fields` returns them; without
    /// this file custom fields are not checked.
    #[arg(long)]
    pub definitions: Option<PathBuf>,
    /// ISO 3166-1 alpha-2 country for phone numbers without a country code.
    #[arg(long, default_value = "US")]
    pub country: String,
    /// Call deadline in milliseconds; fuel counting makes calls slower than
    /// in production. Default: the production default.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Memory limit in bytes. Default: the production default.
    #[arg(long)]
    pub memory_bytes: Option<usize>,
}

/// Runs the command and returns the process exit code.
pub async fn run(options: PluginTestOptions) -> anyhow::Result<i32> {
    let submission = build_submission(&options).await?;
    let country = PhoneCountry::parse(&options.country).map_err(anyhow::Error::msg).context("invalid --country")?;
    let definitions = match &options.definitions {
        Some(path) => Some(read_definitions(path)?),
        None => None,
    };
    let mut limits = PluginLimits::default();
    limits.timeout_ms = options.timeout_ms.unwrap_or(limits.timeout_ms);
    limits.memory_bytes = options.memory_bytes.unwrap_or(limits.memory_bytes);

    let measured = plugins::measure(&options.file, &limits, &PluginGrants::default(), submission).await;
    let measured = match measured {
        Ok(measured) => measured,
        Err(error) => {
            println!("plugin: {}", options.file.display());
            println!("load failed: {}", plugins_error_chain(&error));
            return Ok(EXIT_FAULT);
        }
    };

    let (report, code) = render(&options.file, &measured, definitions.as_deref(), country);
    print!("{report}");
    Ok(code)
}

async fn build_submission(options: &PluginTestOptions) -> anyhow::Result<Submission> {
    let (body, default_type) = if let Some(form) = &options.form {
        (Bytes::from(form.clone().into_bytes()), "application/x-www-form-urlencoded")
    } else if let Some(path) = &options.json {
        (read_body(path)?, "application/json")
    } else if let Some(path) = &options.multipart {
        (read_body(path)?, "multipart/form-data")
    } else {
        (Bytes::new(), "application/x-www-form-urlencoded")
    };
    let content_type = options.content_type.as_deref().unwrap_or(default_type);
    let Some(encoding) = FormEncoding::from_content_type(Some(content_type)) else {
        bail!("unsupported --content-type {content_type:?}; expected urlencoded, JSON, or multipart with a boundary");
    };

    let (path, query) = options.route.split_once('?').unwrap_or((&options.route, ""));
    let mut fields = Fields::from_urlencoded(query.as_bytes());
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    let body_fields = Fields::from_body_prefix(&encoding, body, true).await;
    if has_body && body_fields.is_empty() {
        bail!(
            "the body contains no fields readable as {}; check the file and --content-type (for multipart, the boundary)",
            encoding.media_type()
        );
    }
    fields.extend(body_fields);

    Ok(Submission {
        route: path.to_owned(),
        method: options.method.to_ascii_uppercase(),
        content_type: encoding.media_type().to_owned(),
        fields: fields.into_pairs().into_iter().map(|(name, value)| Field { name, value }).collect(),
    })
}

fn read_body(path: &Path) -> anyhow::Result<Bytes> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Bytes::from(bytes))
}

/// One definition in the `GET /api/v1/fields` response; members the checks
/// do not use are ignored.
#[derive(Deserialize)]
struct DefinitionEntry {
    #[serde(default = "uuid::Uuid::nil")]
    id: uuid::Uuid,
    name: String,
    #[serde(default)]
    label: String,
    #[serde(rename = "type")]
    kind: FieldType,
    #[serde(default)]
    options: Vec<String>,
}

#[derive(Deserialize)]
struct DefinitionList {
    items: Vec<DefinitionEntry>,
}

fn read_definitions(path: &Path) -> anyhow::Result<Vec<FieldDefinition>> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let list: DefinitionList = serde_json::from_slice(&text).with_context(|| {
        format!("invalid definitions file {}; expected the JSON of GET /api/v1/fields", path.display())
    })?;
    Ok(list
        .items
        .into_iter()
        .map(|entry| FieldDefinition {
            id: entry.id,
            name: entry.name,
            label: entry.label,
            kind: entry.kind,
            options: entry.options,
            default: None,
            created_at: 0,
            updated_at: 0,
        })
        .collect())
}

/// Formats the report and chooses the exit code.
fn render(
    file: &Path,
    measured: &Measured,
    definitions: Option<&[FieldDefinition]>,
    country: PhoneCountry,
) -> (String, i32) {
    let mut out = String::new();
    let _ = writeln!(out, "plugin: {}", file.display());
    if measured.input_fields_dropped > 0 {
        let _ = writeln!(out, "input: {} fields cut by the input caps", measured.input_fields_dropped);
    }

    let code = match &measured.result {
        Ok(capture) => {
            let invalid = render_capture(&mut out, capture, definitions, country);
            if invalid == 0 {
                let _ = writeln!(out, "validation: ok");
                0
            } else {
                let _ = writeln!(out, "validation: {invalid} invalid");
                EXIT_INVALID
            }
        }
        Err(fault) => {
            let _ = writeln!(out, "fault: {}: {fault}", fault.kind());
            EXIT_FAULT
        }
    };

    let _ = writeln!(out, "time: {:.3} ms", measured.elapsed.as_secs_f64() * 1000.0);
    let _ = writeln!(out, "memory peak: {} bytes", measured.memory_peak_bytes);
    let _ = writeln!(out, "fuel: {}", measured.fuel_consumed);
    (out, code)
}

/// Writes one line per captured entry and returns how many are invalid.
fn render_capture(
    out: &mut String,
    capture: &Capture,
    definitions: Option<&[FieldDefinition]>,
    country: PhoneCountry,
) -> usize {
    let mut invalid = 0;
    if capture.is_empty() {
        let _ = writeln!(out, "captured: nothing");
    } else {
        let _ = writeln!(out, "captured:");
    }

    let mut names: Vec<&str> = Vec::new();
    for field in &capture.fields {
        if !names.contains(&field.name.as_str()) {
            names.push(&field.name);
        }
    }
    for name in names {
        let entries: Vec<FieldValue> = capture.fields.iter().filter(|field| field.name == name).cloned().collect();
        let values: Vec<String> = entries.iter().map(|field| format!("{:?}", field.value)).collect();
        let verdict = check_field(name, entries, definitions, country);
        invalid += usize::from(verdict.starts_with("invalid"));
        let _ = writeln!(out, "  field {name} = {}: {verdict}", values.join(", "));
    }

    for consent in &capture.consents {
        let channel = match consent.channel {
            Channel::Newsletter => "newsletter",
            Channel::Sms => "sms",
        };
        let change = if consent.subscribed { "subscribed" } else { "unsubscribed" };
        let _ = writeln!(out, "  consent {channel}: {change}");
    }

    if let Some(identity) = &capture.identity {
        let (kind, value) = match identity {
            Identity::Email(value) => ("email", value),
            Identity::Phone(value) => ("phone", value),
            Identity::CustomerId(value) => ("customer id", value),
        };
        let only_identity = Capture { identity: Some(identity.clone()), ..Capture::default() };
        let verdict = verdict_of(plugins::check_capture(&only_identity, &[], country, today()).map(|_| ()));
        invalid += usize::from(verdict.starts_with("invalid"));
        let _ = writeln!(out, "  identity {kind} = {value:?}: {verdict}");
    }
    invalid
}

/// Checks every entry of one field name together, as the proxy does.
fn check_field(
    name: &str,
    entries: Vec<FieldValue>,
    definitions: Option<&[FieldDefinition]>,
    country: PhoneCountry,
) -> String {
    let standard = StandardField::parse(name).is_some();
    if !standard && definitions.is_none() {
        return "not checked (custom field; pass --definitions)".to_owned();
    }

    let capture = Capture { fields: entries, ..Capture::default() };
    verdict_of(plugins::check_capture(&capture, definitions.unwrap_or_default(), country, today()).map(|_| ()))
}

fn verdict_of(result: Result<(), PluginFault>) -> String {
    match result {
        Ok(()) => "valid".to_owned(),
        Err(PluginFault::InvalidOutput { reason }) => format!("invalid: {reason}"),
        Err(other) => format!("invalid: {other}"),
    }
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn plugins_error_chain(error: &plugins::PluginError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        let _ = write!(text, ": {inner}");
        source = inner.source();
    }
    text
}
