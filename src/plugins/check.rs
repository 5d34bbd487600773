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
use crate::identity::{normalise_customer_id, normalise_email, normalise_phone, IdentityKey, PhoneCountry};
use crate::standard_fields::StandardField;
use crate::status::{FormChannel, FormConsent};
use crate::store::{FieldDefinition, FieldType, IndexKind, CELLPHONE_FIELD, EMAIL_FIELD};

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
            let id = normalise_customer_id(id).map_err(|reason| invalid("identity.customer_id", reason))?;
            Ok(IdentityKey { kind: IndexKind::CustomerId, key: id.to_owned(), field: None })
        }
    }
}

fn invalid(name: &str, reason: impl std::fmt::Display) -> PluginFault {
    PluginFault::InvalidOutput { reason: format!("{name}: {reason}") }
}

#[cfg(test)]
mod tests {
    use time::macros::date;
    use uuid::Uuid;

    use super::*;
    use crate::plugins::{Consent, FieldValue};

    fn spain() -> PhoneCountry {
        PhoneCountry::parse("ES").expect("valid country")
    }

    fn definition(name: &str, kind: FieldType, options: &[&str]) -> FieldDefinition {
        // A stable id per name, so two calls of `definitions` agree.
        let mut id = [0u8; 16];
        let length = name.len().min(16);
        id[..length].copy_from_slice(&name.as_bytes()[..length]);
        FieldDefinition {
            id: Uuid::from_bytes(id),
            name: name.to_owned(),
            label: name.to_owned(),
            kind,
            options: options.iter().map(|option| (*option).to_owned()).collect(),
            default: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn definitions() -> Vec<FieldDefinition> {
        vec![
            definition("city", FieldType::Text, &[]),
            definition("shoe_size", FieldType::Decimal, &[]),
            definition("interests", FieldType::MultipleChoice, &["running", "yoga", "cycling"]),
        ]
    }

    fn capture(fields: &[(&str, &str)]) -> Capture {
        Capture {
            fields: fields
                .iter()
                .map(|(name, value)| FieldValue { name: (*name).to_owned(), value: (*value).to_owned() })
                .collect(),
            ..Capture::default()
        }
    }

    fn check(capture: &Capture) -> Result<CheckedCapture, PluginFault> {
        check_capture(capture, &definitions(), spain(), date!(2026 - 12 - 04))
    }

    fn storage_name(name: &str) -> String {
        definitions().into_iter().find(|definition| definition.name == name).expect("defined").storage_name()
    }

    #[test]
    fn repeated_choices_fill_multiple_choice() {
        let checked = check(&capture(&[("interests", "running"), ("interests", "yoga"), ("interests", "cycling")]))
            .expect("valid capture");

        assert_eq!(checked.fields[&storage_name("interests")], r#"["running","yoga","cycling"]"#);
    }

    #[test]
    fn repeated_choice_is_kept_once() {
        let checked = check(&capture(&[("interests", "yoga"), ("interests", " yoga "), ("interests", "running")]))
            .expect("valid capture");

        assert_eq!(checked.fields[&storage_name("interests")], r#"["yoga","running"]"#);
    }

    #[test]
    fn single_value_fields_take_last_entry() {
        let checked =
            check(&capture(&[("city", "Lisbon"), ("city", "Porto"), ("first_name", "A"), ("first_name", "Ana")]))
                .expect("valid capture");

        assert_eq!(checked.fields[&storage_name("city")], "Porto");
        assert_eq!(checked.fields["first_name"], "Ana");
    }

    #[test]
    fn standard_fields_are_normalised_and_indexed() {
        let checked = check(&capture(&[("cellphone", "600 000 001"), ("email", " Ana@Example.com ")])).expect("valid");

        assert_eq!(checked.fields["cellphone"], "+34600000001");
        assert_eq!(checked.fields["email"], "Ana@Example.com");
        assert!(checked.unique.contains(&(StandardField::Cellphone, IndexKind::Phone, "+34600000001".to_owned())));
        assert!(checked.unique.contains(&(StandardField::Email, IndexKind::Email, "ana@example.com".to_owned())));
    }

    #[test]
    fn blank_values_set_nothing() {
        let checked = check(&capture(&[("first_name", "  "), ("city", ""), ("interests", "")])).expect("valid capture");

        assert!(checked.fields.is_empty(), "{:?}", checked.fields);
    }

    #[test]
    fn one_invalid_field_rejects_whole_capture() {
        let cases: [&[(&str, &str)]; 5] = [
            &[("city", "Lisbon"), ("shoe_size", "large")],
            &[("city", "Lisbon"), ("nickname", "Ana")],
            &[("city", "Lisbon"), ("interests", "chess")],
            &[("city", "Lisbon"), ("date_of_birth", "2030-01-01")],
            &[("city", "Lisbon"), ("cellphone", "12")],
        ];

        for fields in cases {
            let fault = check(&capture(fields)).expect_err("invalid capture");
            assert_eq!(fault.kind(), "invalid_output", "{fields:?}");
        }
    }

    #[test]
    fn fault_reason_names_field_not_value() {
        let fault = check(&capture(&[("shoe_size", "secret-value")])).expect_err("invalid decimal");
        let reason = fault.to_string();

        assert!(reason.contains("shoe_size"), "{reason}");
        assert!(!reason.contains("secret-value"), "{reason}");
    }

    #[test]
    fn identities_become_index_keys() {
        let cases = [
            (Identity::Email(" Ana@Example.com".to_owned()), IndexKind::Email, "ana@example.com"),
            (Identity::Phone("600 000 001".to_owned()), IndexKind::Phone, "+34600000001"),
            (Identity::CustomerId(" c-42 ".to_owned()), IndexKind::CustomerId, "c-42"),
        ];

        for (identity, kind, key) in cases {
            let capture = Capture { identity: Some(identity.clone()), ..Capture::default() };
            let checked = check(&capture).expect("valid identity");
            let found = checked.identity.expect("identity kept");
            assert_eq!(found.kind, kind, "{identity:?}");
            assert_eq!(found.key, key, "{identity:?}");
        }
    }

    #[test]
    fn invalid_identities_reject_capture() {
        let identities = [
            Identity::Email("null".to_owned()),
            Identity::Phone("12".to_owned()),
            Identity::CustomerId(" ".to_owned()),
            Identity::CustomerId("x".repeat(crate::identity::MAX_CUSTOMER_ID_CHARS + 1)),
            Identity::CustomerId("a\nb".to_owned()),
        ];

        for identity in identities {
            let capture = Capture { identity: Some(identity.clone()), ..Capture::default() };
            assert!(check(&capture).is_err(), "{identity:?}");
        }
    }

    #[test]
    fn consents_map_to_form_channels() {
        let capture = Capture {
            consents: vec![
                Consent { channel: Channel::Newsletter, subscribed: true },
                Consent { channel: Channel::Sms, subscribed: false },
            ],
            ..Capture::default()
        };

        let checked = check(&capture).expect("valid capture");
        assert_eq!(
            checked.consents,
            [
                FormConsent { channel: FormChannel::Newsletter, subscribed: true },
                FormConsent { channel: FormChannel::Sms, subscribed: false },
            ]
        );
    }
}
