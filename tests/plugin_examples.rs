//! The example plugins of `plugins/` (built for wasm32-wasip2 on first use)
//! run in the real plugin host, on fields parsed from real form bodies.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use footprint::config::{Config, PluginGrants, PluginLimits, PluginRule, ResponseCondition};
use footprint::plugins::{Capture, Channel, Consent, Field, Identity, PluginHost, Submission};
use footprint::tracking::{Fields, FormEncoding};
use support::plugins::example;
use tempfile::TempDir;

/// A hang guard for calls, not a performance bound.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Starts a host with one example plugin. The deadline is generous so that
/// a busy machine cannot turn a call into a timeout fault.
fn start_example(name: &str) -> (Arc<PluginHost>, TempDir) {
    let cache = TempDir::new().expect("temporary cache directory");
    let mut config = Config::default();
    config.plugins.cache_dir = cache.path().to_owned();
    config.plugins.reload_poll_secs = 0.0;
    config.plugin_rules = vec![PluginRule {
        name: name.to_owned(),
        file: example(name),
        path: "/form".to_owned(),
        methods: vec!["POST".to_owned()],
        content_types: vec![
            "application/x-www-form-urlencoded".to_owned(),
            "multipart/form-data".to_owned(),
            "application/json".to_owned(),
        ],
        success: ResponseCondition::default(),
        limits: PluginLimits { timeout_ms: 5_000, ..PluginLimits::default() },
        grants: PluginGrants::default(),
    }];
    (PluginHost::start(&config).expect("plugin host starts"), cache)
}

/// Parses `body` as the proxy does and runs plugin `name` on the fields.
async fn capture_body(host: &PluginHost, name: &str, content_type: &str, body: &str) -> Capture {
    let encoding = FormEncoding::from_content_type(Some(content_type)).expect("a form content type");
    let fields = Fields::from_body_prefix(&encoding, Bytes::from(body.to_owned()), true).await;
    let submission = Submission {
        route: "/form".to_owned(),
        method: "POST".to_owned(),
        content_type: encoding.media_type().to_owned(),
        fields: fields.into_pairs().into_iter().map(|(name, value)| Field { name, value }).collect(),
    };

    let call = host.call(name, submission);
    tokio::time::timeout(HANG_GUARD, call).await.expect("plugin call returns").expect("plugin call succeeds")
}

fn values<'a>(capture: &'a Capture, name: &str) -> Vec<&'a str> {
    capture.fields.iter().filter(|field| field.name == name).map(|field| field.value.as_str()).collect()
}

#[tokio::test]
async fn newsletter_captures_signup_fields() {
    let (host, _cache) = start_example("newsletter");
    let body = "email=ada%40example.com&first_name=Ada&newsletter=0&newsletter=on&password1=secret";

    let capture = capture_body(&host, "newsletter", "application/x-www-form-urlencoded", body).await;

    assert_eq!(values(&capture, "email"), ["ada@example.com"]);
    assert_eq!(values(&capture, "first_name"), ["Ada"]);
    assert_eq!(capture.fields.len(), 2, "only email and first_name: {capture:?}");
    assert_eq!(capture.consents, [Consent { channel: Channel::Newsletter, subscribed: true }]);
    assert_eq!(capture.identity, Some(Identity::Email("ada@example.com".to_owned())));
}

#[tokio::test]
async fn newsletter_reads_json_customer_email() {
    let (host, _cache) = start_example("newsletter");
    let body = r#"{"customer": {"email": "ada@example.com"}, "name": "Ada", "consent": true}"#;

    let capture = capture_body(&host, "newsletter", "application/json", body).await;

    assert_eq!(values(&capture, "email"), ["ada@example.com"]);
    assert_eq!(values(&capture, "first_name"), ["Ada"]);
    assert_eq!(capture.consents, [Consent { channel: Channel::Newsletter, subscribed: true }]);
}

#[tokio::test]
async fn newsletter_ignores_unrelated_form() {
    let (host, _cache) = start_example("newsletter");

    let capture = capture_body(&host, "newsletter", "application/x-www-form-urlencoded", "q=shoes&page=2").await;

    assert!(capture.is_empty(), "{capture:?}");
}

#[tokio::test]
async fn profile_captures_normalised_fields() {
    let (host, _cache) = start_example("profile");
    let body = "cellphone=%2B44+7700+900123&dob=03%2F04%2F1990&city=London&shoe_size=42%2C5";

    let capture = capture_body(&host, "profile", "application/x-www-form-urlencoded", body).await;

    assert_eq!(values(&capture, "cellphone"), ["+44 7700 900123"]);
    assert_eq!(values(&capture, "date_of_birth"), ["1990-04-03"]);
    assert_eq!(values(&capture, "city"), ["London"]);
    assert_eq!(values(&capture, "shoe_size"), ["42.5"]);
    assert!(capture.consents.is_empty());
    assert_eq!(capture.identity, None);
}

/// Repeated fields arrive in three encodings and give the same three
/// interests each time.
#[tokio::test]
async fn profile_interests_match_across_encodings() {
    let (host, _cache) = start_example("profile");
    let multipart_body = [
        "--XyZ\r\nContent-Disposition: form-data; name=\"interests\"\r\n\r\nrunning\r\n",
        "--XyZ\r\nContent-Disposition: form-data; name=\"interests\"\r\n\r\nyoga\r\n",
        "--XyZ\r\nContent-Disposition: form-data; name=\"interests[]\"\r\n\r\ncycling\r\n",
        "--XyZ--\r\n",
    ]
    .concat();
    let encodings = [
        ("application/x-www-form-urlencoded", "interests=running&interests=yoga&interests%5B%5D=cycling".to_owned()),
        ("multipart/form-data; boundary=XyZ", multipart_body),
        ("application/json", r#"{"interests": ["running", "yoga", "cycling"]}"#.to_owned()),
    ];

    for (content_type, body) in encodings {
        let capture = capture_body(&host, "profile", content_type, &body).await;
        assert_eq!(values(&capture, "interests"), ["running", "yoga", "cycling"], "encoding {content_type}");
    }
}

#[test]
fn example_plugins_build_into_target_plugins() {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plugins/wasm32-wasip2/release");

    for name in ["newsletter", "profile"] {
        let wasm = example(name);
        assert_eq!(wasm, target.join(format!("footprint_plugin_{name}.wasm")));
    }
}

/// Checks that the `config.toml` example of the author's guide parses and
/// that the limits it lists equal the defaults.
#[test]
fn guide_config_example_parses() {
    let guide = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/README.md"))
        .expect("plugins/README.md is readable");
    let section = guide.split("## Declare it in config.toml").nth(1).expect("the guide has a config section");
    let example = section.split("```toml\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a TOML block");

    let config = Config::from_toml(example).expect("the guide's example is a valid configuration");

    assert_eq!(config.plugin_rules.len(), 1);
    let rule = &config.plugin_rules[0];
    assert_eq!(rule.name, "signup");
    assert_eq!(rule.limits, PluginLimits::default());
    assert_eq!(rule.grants, PluginGrants::default());
    assert_eq!(rule.success.status, [302]);
}
