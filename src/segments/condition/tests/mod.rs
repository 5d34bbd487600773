//! Tests of the condition language, sharing one set of custom field
//! definitions and a fixed `now`.

mod evaluation;
mod flips;
mod parsing;

use serde_json::Value;

use super::{parse, Condition, ContactView};
use crate::ecommerce::{Basket, BasketItem};
use crate::store::{Activity, ActivityKind, FieldDefinition, FieldType, Millis};

/// 2026-12-04T12:00:00Z.
const NOW: Millis = 1_796_385_600_000;
const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;

fn definition(id: u128, name: &str, kind: FieldType, options: &[&str], default: Option<&str>) -> FieldDefinition {
    FieldDefinition {
        id: uuid::Uuid::from_u128(id),
        name: name.to_owned(),
        label: name.to_owned(),
        kind,
        options: options.iter().map(|option| (*option).to_owned()).collect(),
        default: default.map(str::to_owned),
        created_at: 0,
        updated_at: 0,
    }
}

/// Returns one custom field definition of every type.
fn definitions() -> Vec<FieldDefinition> {
    vec![
        definition(1, "city", FieldType::Text, &[], None),
        definition(2, "work_email", FieldType::Email, &[], None),
        definition(3, "work_phone", FieldType::Phone, &[], None),
        definition(4, "shoe_size", FieldType::Integer, &[], None),
        definition(5, "score", FieldType::Decimal, &[], None),
        definition(6, "signed_up_on", FieldType::Date, &[], None),
        definition(7, "seen_at", FieldType::DateTime, &[], None),
        definition(8, "vip", FieldType::Boolean, &[], None),
        definition(9, "plan", FieldType::SingleChoice, &["basic", "pro"], None),
        definition(10, "colours", FieldType::MultipleChoice, &["red", "green", "blue"], None),
        definition(11, "country", FieldType::Text, &[], Some("Spain")),
    ]
}

fn condition(value: Value) -> Condition {
    match parse(&value, &definitions()) {
        Ok(condition) => condition,
        Err(error) => panic!("{value} should parse: {error}"),
    }
}

/// Returns a view whose fields are set by name, standard or custom.
fn with_fields(fields: &[(&str, &str)]) -> ContactView {
    let definitions = definitions();
    let mut view = ContactView::default();
    for (name, value) in fields {
        let storage_name = match definitions.iter().find(|definition| definition.name == *name) {
            Some(definition) => definition.storage_name(),
            None => (*name).to_owned(),
        };
        view.record.fields.insert(storage_name, (*value).to_owned());
    }
    view
}

fn activity(kind: ActivityKind, at: Millis, properties: &[(&str, &str)]) -> Activity {
    Activity {
        at,
        kind,
        url: "/".to_owned(),
        referrer: None,
        properties: properties.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

/// Returns a view holding `activities` as recent behaviour, with
/// `last_at` filled from them.
fn with_activities(activities: Vec<Activity>) -> ContactView {
    let mut view = ContactView::default();
    for activity in &activities {
        let last = view.behaviour.last_at.entry(activity.kind).or_insert(activity.at);
        *last = (*last).max(activity.at);
    }
    view.behaviour.recent = activities;
    view
}

fn with_basket(updated_at: Millis) -> ContactView {
    let mut view = ContactView::default();
    let item = BasketItem { product_id: "42".to_owned(), quantity: 1, price: None };
    view.behaviour.basket = Some(Basket { items: vec![item], value: None, updated_at });
    view
}
