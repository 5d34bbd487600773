//! Activity and identify rules: which requests are recorded as what.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::store::ActivityKind;

/// A request that is recorded as an activity.
///
/// ```toml
/// [[activity]]
/// kind = "product_visit"
/// path = "/catalogue/{slug}_{product_id}/"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityRule {
    pub kind: ActivityKind,
    /// Path pattern: literal text, `{name}` placeholders matching one path
    /// segment or part of one (captured as the property `name`; a
    /// placeholder named `_` is not captured), and an optional trailing `*`
    /// matching any rest.
    pub path: String,
    /// HTTP methods, upper case. Default: `GET`.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// Properties taken from query or form fields: property name to field
    /// name, e.g. `{ term = "q" }`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Query or form fields that must be present (any value) for the rule
    /// to match, e.g. the name of a submit button.
    #[serde(default)]
    pub require_fields: Vec<String>,
    /// Properties taken from the response body (HTML or JSON text, first
    /// `proxy.response_inspect_bytes`): property name to a regular
    /// expression whose first capture group is the value.
    #[serde(default)]
    pub response_body: BTreeMap<String, String>,
    /// When the response counts as a success; unmatched responses record
    /// nothing.
    #[serde(default)]
    pub success: ResponseCondition,
    /// Name recorded as the `form` property of a form submission.
    #[serde(default)]
    pub name: Option<String>,
    /// Fixed properties added to every activity of the rule, e.g.
    /// `{ currency = "EUR" }` on a purchase or `{ action = "remove" }` on a
    /// cart update. Captured values of the same name win.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// A form whose successful submission identifies the visitor.
///
/// ```toml
/// [[identify]]
/// kind = "login"
/// path = "/accounts/login/"
/// email_field = "login-username"
/// require_fields = ["login_submit"]
/// success = { status = [302], set_cookie = "sessionid" }
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifyRule {
    /// `login` or `registration`: the activity recorded on success.
    pub kind: ActivityKind,
    /// Path pattern, as in activity rules.
    pub path: String,
    /// Default: `POST`.
    #[serde(default = "default_post")]
    pub methods: Vec<String>,
    /// Form field holding the email address.
    pub email_field: String,
    /// Fields that must be present for the rule to match.
    #[serde(default)]
    pub require_fields: Vec<String>,
    /// The response condition that marks a successful submission.
    pub success: ResponseCondition,
}

/// Conditions on the shop's response; all given ones must hold.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseCondition {
    /// Accepted status codes. Empty: any 2xx or 3xx.
    pub status: Vec<u16>,
    /// The `Location` header's path starts with this.
    pub location_prefix: Option<String>,
    /// The response sets a cookie of this name to a non-empty value.
    pub set_cookie: Option<String>,
}

/// A response header the shop sets to identify the visitor.
///
/// The value is `email=<address>`. Footprint removes the header before the
/// response reaches the browser.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentifyHeaderConfig {
    /// Header name; empty disables it.
    pub name: String,
}

impl Default for IdentifyHeaderConfig {
    fn default() -> Self {
        IdentifyHeaderConfig { name: "x-footprint-identify".to_owned() }
    }
}

fn default_methods() -> Vec<String> {
    vec!["GET".to_owned()]
}

fn default_post() -> Vec<String> {
    vec!["POST".to_owned()]
}

fn validate_methods(methods: &[String]) -> Result<(), String> {
    if methods.is_empty() {
        return Err("`methods` must not be empty".to_owned());
    }
    for method in methods {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("invalid method {method:?}: expected an upper-case HTTP method"));
        }
    }
    Ok(())
}

impl ActivityRule {
    pub(crate) fn validate(&self) -> Result<(), String> {
        validate_methods(&self.methods)?;
        crate::tracking::PathPattern::parse(&self.path).map_err(|reason| format!("path: {reason}"))?;
        for (property, pattern) in &self.response_body {
            let regex = regex::Regex::new(pattern).map_err(|error| format!("response_body.{property}: {error}"))?;
            if regex.captures_len() < 2 {
                return Err(format!("response_body.{property}: the pattern needs a capture group"));
            }
        }
        if self.kind.is_recorded_by_footprint() {
            return Err(format!("`{}` activities are recorded by Footprint itself", self.kind));
        }
        Ok(())
    }
}

impl IdentifyRule {
    pub(crate) fn validate(&self) -> Result<(), String> {
        validate_methods(&self.methods)?;
        crate::tracking::PathPattern::parse(&self.path).map_err(|reason| format!("path: {reason}"))?;
        if !matches!(self.kind, ActivityKind::Login | ActivityKind::Registration) {
            return Err("`kind` must be `login` or `registration`".to_owned());
        }
        if self.email_field.is_empty() {
            return Err("`email_field` must not be empty".to_owned());
        }
        Ok(())
    }
}
