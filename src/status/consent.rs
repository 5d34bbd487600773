//! Subscriptions (newsletter, SMS) and the consent record kept with each
//! change.
//!
//! Only the latest consent is stored with the subscription; every change
//! is also recorded as an activity, which is where the history lives.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::store::Millis;

/// A subscription status as the API shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    Subscribed,
    /// Was subscribed, or opted out explicitly, and is no longer.
    Unsubscribed,
    /// Never subscribed: the default, never stored.
    NotSubscribed,
}

impl Subscription {
    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::Subscribed => "subscribed",
            Subscription::Unsubscribed => "unsubscribed",
            Subscription::NotSubscribed => "not_subscribed",
        }
    }
}

impl fmt::Display for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The origin of a subscription change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentSource {
    /// A form on the shop; the consent names the form's route.
    Form,
    Import,
    /// Staff through the admin API; the consent names the token.
    Admin,
    Api,
    /// A complaint or unsubscribe reported by the email provider.
    EmailEvent,
}

impl ConsentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentSource::Form => "form",
            ConsentSource::Import => "import",
            ConsentSource::Admin => "admin",
            ConsentSource::Api => "api",
            ConsentSource::EmailEvent => "email_event",
        }
    }
}

/// When and through what a subscription last changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub at: Millis,
    pub source: ConsentSource,
    /// The admin token's name, for [`ConsentSource::Admin`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The form's route, for [`ConsentSource::Form`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
}

impl Consent {
    /// Creates a consent given by staff through the token named `by`.
    pub fn admin(by: &str, at: Millis) -> Consent {
        Consent { at, source: ConsentSource::Admin, by: Some(by.to_owned()), form: None }
    }

    /// Creates a consent for a change reported by the email provider.
    pub fn email_event(at: Millis) -> Consent {
        Consent { at, source: ConsentSource::EmailEvent, by: None, form: None }
    }

    /// Adds `source`, `by` and `form` to the properties of an activity.
    pub(super) fn describe(&self, properties: &mut BTreeMap<String, String>) {
        properties.insert("source".to_owned(), self.source.as_str().to_owned());
        if let Some(by) = &self.by {
            properties.insert("by".to_owned(), by.clone());
        }
        if let Some(form) = &self.form {
            properties.insert("form".to_owned(), form.clone());
        }
    }
}

/// A stored subscription: `subscribed` or `unsubscribed` with the consent
/// of that change. `not_subscribed` is the absence of a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub status: Subscription,
    pub consent: Consent,
}

/// Returns the status a stored record stands for.
pub fn status_of(record: Option<&SubscriptionRecord>) -> Subscription {
    record.map_or(Subscription::NotSubscribed, |record| record.status)
}
