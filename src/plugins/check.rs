//! Checking a plugin's capture before anything is written.
//!
//! A capture is checked whole against the standard field rules
//! ([`crate::standard_fields`]) and the custom field definitions
//! ([`crate::custom`]). One invalid field, identity or unknown field name
//! rejects the whole capture, so a plugin never half-applies. Error reasons
//! name the field but never repeat a value, because they are logged.

use std::collections::BTreeMap;

use serde_json::Value;
use time::Date;

use super::{Capture, Channel, Identity, PluginFault};
use crate::identity::{normalise_email, normalise_phone, IdentityKey, PhoneCountry};
use crate::standard_fields::StandardField;
use crate::status::{FormChannel, FormConsent};
use crate::store::{FieldDefinition, FieldType, IndexKind, CELLPHONE_FIELD, EMAIL_FIELD};

/// Maximum length of a customer id, in characters.
const MAX_CUSTOMER_ID_CHARS: usize = 200;

/// A capture that passed every check, in the form the store takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckedCapture {
    /// Profile fields to set: standard field names and custom fields'
    /// storage names, with canonical text.
    pub fields: BTreeMap<String, String>,
    /// Unique standard fields among `fields`, with their index match key.
    pub unique: Vec<(StandardField, IndexKind, String)>,
    pub consents: Vec<FormConsent>,
    pub identity: Option<IdentityKey>,
}

/// Checks `capture` against the standard fields and `definitions`.
///
/// Entries are grouped by name. A multiple-choice custom field takes every
/// entry's value, in order and without repeats; any other field takes the
/// last entry. A blank value sets nothing, because a form field left empty
/// is no reason to erase what the contact already has.
pub fn check_capture(
    capture: &Capture,
    definitions: &[FieldDefinition],
    country: PhoneCountry,
    today: Date,
) -> Result<CheckedCapture, PluginFault> {
    let mut checked = CheckedCapture::default();

    for (name, values) in group_by_name(capture) {
        if let Some(field) = StandardField::parse(name) {
            let Some(raw) = values.last().map(|value| value.trim()).filter(|value| !value.is_empty()) else {
                continue;
            };
            let value = field.validate(raw, country, today).map_err(|error| invalid(name, error))?;
            if let (Some(kind), Some(key)) = (field.index(), value.index_key) {
                checked.unique.push((field, kind, key));
            }
            checked.fields.insert(name.to_owned(), value.stored);
            continue;
        }

        let definition = definitions
            .iter()
            .find(|definition| definition.name == name)
            .ok_or_else(|| invalid(name, "unknown field; expected a standard field or a custom field definition"))?;
        let json = custom_json(definition, &values);
        let text = crate::custom::validate_for(definition, &json, country).map_err(|error| invalid(name, error))?;
        if let Some(text) = text {
            checked.fields.insert(definition.storage_name(), text);
        }
    }

    checked.consents = capture
        .consents
        .iter()
        .map(|consent| FormConsent {
            channel: match consent.channel {
                Channel::Newsletter => FormChannel::Newsletter,
                Channel::Sms => FormChannel::Sms,
            },
            subscribed: consent.subscribed,
        })
        .collect();

    checked.identity = capture.identity.as_ref().map(|identity| identity_key(identity, country)).transpose()?;
    Ok(checked)
}

/// Groups entries by name, in the order each name first appears.
fn group_by_name(capture: &Capture) -> Vec<(&str, Vec<&str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for entry in &capture.fields {
        match groups.iter_mut().find(|(name, _)| *name == entry.name) {
            Some((_, values)) => values.push(&entry.value),
            None => groups.push((&entry.name, vec![&entry.value])),
        }
    }
    groups
}

/// Builds the JSON value the custom field checks take from text entries.
fn custom_json(definition: &FieldDefinition, values: &[&str]) -> Value {
    if definition.kind != FieldType::MultipleChoice {
        let last = values.last().copied().unwrap_or_default();
        return Value::String(last.to_owned());
    }

    let mut chosen: Vec<Value> = Vec::with_capacity(values.len());
    for value in values.iter().map(|value| value.trim()).filter(|value| !value.is_empty()) {
        let item = Value::String(value.to_owned());
        if !chosen.contains(&item) {
            chosen.push(item);
        }
    }
    Value::Array(chosen)
}

fn identity_key(identity: &Identity, country: PhoneCountry) -> Result<IdentityKey, PluginFault> {
    match identity {
        Identity::Email(typed) => {
            let key = normalise_email(typed).ok_or_else(|| invalid("identity.email", "invalid email address"))?;
            Ok(IdentityKey { kind: IndexKind::Email, key, field: Some((EMAIL_FIELD, typed.trim().to_owned())) })
        }
        Identity::Phone(typed) => {
            let e164 =
                normalise_phone(typed, country).ok_or_else(|| invalid("identity.phone", "invalid phone number"))?;
            Ok(IdentityKey { kind: IndexKind::Phone, key: e164.clone(), field: Some((CELLPHONE_FIELD, e164)) })
        }
        Identity::CustomerId(id) => {
            let id = id.trim();
            if id.is_empty() {
                return Err(invalid("identity.customer_id", "empty customer id"));
            }
            if id.chars().count() > MAX_CUSTOMER_ID_CHARS || id.chars().any(char::is_control) {
                let reason =
                    format!("customer id longer than {MAX_CUSTOMER_ID_CHARS} characters or with a control character");
                return Err(invalid("identity.customer_id", reason));
            }
            Ok(IdentityKey { kind: IndexKind::CustomerId, key: id.to_owned(), field: None })
        }
    }
}

fn invalid(name: &str, reason: impl std::fmt::Display) -> PluginFault {
    PluginFault::InvalidOutput { reason: format!("{name}: {reason}") }
}
