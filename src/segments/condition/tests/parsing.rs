//! Parsing: accepted shapes, errors with pointers, limits, round trips.

use serde_json::{json, Value};

use super::{condition, definitions};
use crate::segments::condition::{parse, ConditionError, MAX_DEPTH, MAX_TERMS};

fn error(value: Value) -> ConditionError {
    match parse(&value, &definitions()) {
        Ok(_) => panic!("{value} should be rejected"),
        Err(error) => error,
    }
}

fn assert_rejected(value: Value, pointer: &str, reason_part: &str) {
    let error = error(value.clone());
    assert_eq!(error.pointer, pointer, "pointer for {value}: {}", error.reason);
    assert!(error.reason.contains(reason_part), "reason for {value}: {:?} lacks {reason_part:?}", error.reason);
}

#[test]
fn unknown_field_points_at_name() {
    let value = json!({"all": [
        {"status": "newsletter", "is": "subscribed"},
        {"field": "cty", "op": "equals", "value": "Madrid"},
    ]});

    assert_rejected(value, "/all/1/field", "unknown field cty");
}

#[test]
fn wrong_value_type_names_field_type() {
    let value = json!({"all": [
        {"field": "city", "op": "equals", "value": "Madrid"},
        {"field": "shoe_size", "op": "equals", "value": "big"},
    ]});

    assert_rejected(value, "/all/1/value", "expected a whole number for integer field shoe_size");
}

#[test]
fn type_mismatches_rejected_per_type() {
    let cases = [
        json!({"field": "shoe_size", "op": "equals", "value": 4.5}),
        json!({"field": "score", "op": "greater_than", "value": "many"}),
        json!({"field": "signed_up_on", "op": "equals", "value": "04/12/2026"}),
        json!({"field": "signed_up_on", "op": "before", "value": "2026-02-30"}),
        json!({"field": "seen_at", "op": "after", "value": "2026-12-04"}),
        json!({"field": "vip", "op": "equals", "value": "yes"}),
        json!({"field": "city", "op": "equals", "value": 3}),
        json!({"field": "city", "op": "equals", "value": " "}),
        json!({"field": "plan", "op": "equals", "value": "gold"}),
        json!({"field": "date_of_birth", "op": "after", "value": 1990}),
    ];
    for value in cases {
        assert_eq!(error(value.clone()).pointer, "/value", "{value}");
    }
}

#[test]
fn choice_item_error_points_at_item() {
    let value = json!({"field": "colours", "op": "contains_all", "value": ["red", "pink"]});

    assert_rejected(value, "/value/1", "not one of the options of field colours");
}

#[test]
fn unknown_operator_lists_operators() {
    assert_rejected(json!({"field": "city", "op": "like", "value": "M"}), "/op", "unknown operator like");
}

#[test]
fn operator_must_fit_field_type() {
    let cases = [
        json!({"field": "shoe_size", "op": "contains", "value": "4"}),
        json!({"field": "city", "op": "greater_than", "value": 3}),
        json!({"field": "city", "op": "before", "value": "2026-01-01"}),
        json!({"field": "vip", "op": "in", "value": [true]}),
        json!({"field": "colours", "op": "equals", "value": "red"}),
        json!({"field": "plan", "op": "contains_any", "value": ["pro"]}),
        json!({"field": "seen_at", "op": "equals", "value": "2026-12-04T10:00:00Z"}),
    ];
    for value in cases {
        let error = error(value.clone());
        assert_eq!(error.pointer, "/op", "{value}");
        assert!(error.reason.contains("does not apply"), "{value}: {}", error.reason);
    }
}

#[test]
fn between_needs_two_ordered_values() {
    let reason = "between needs two values in order";

    assert_rejected(json!({"field": "shoe_size", "op": "between", "value": [44, 38]}), "/value", reason);
    assert_rejected(json!({"field": "shoe_size", "op": "between", "value": [38]}), "/value", reason);
    assert_rejected(json!({"field": "shoe_size", "op": "between", "value": 38}), "/value", reason);
    assert_rejected(
        json!({"field": "signed_up_on", "op": "between", "value": ["2026-02-01", "2026-01-01"]}),
        "/value",
        reason,
    );
    assert_rejected(json!({"field": "shoe_size", "op": "between", "value": [38, "x"]}), "/value/1", "whole number");
    condition(json!({"field": "shoe_size", "op": "between", "value": [38, 38]}));
}

#[test]
fn term_members_are_checked() {
    assert_rejected(json!({"field": "city", "op": "is_set", "value": "x"}), "/value", "takes no value");
    assert_rejected(json!({"field": "city", "op": "equals"}), "", "missing value");
    assert_rejected(json!({"field": "city", "value": "x"}), "", "missing op");
    assert_rejected(json!({"field": "city", "op": "is_set", "colour": 1}), "/colour", "unknown key colour");
    assert_rejected(json!({"all": [], "field": "city"}), "/field", "unknown key field");
    assert_rejected(json!({"all": []}), "/all", "at least one condition");
    assert_rejected(json!({"any": [{"city": "Madrid"}]}), "/any/0", "expected a condition");
    assert_rejected(json!("city = Madrid"), "", "expected a condition");
    assert_rejected(json!({"not": [{"basket": "empty"}]}), "/not", "expected a condition");
}

#[test]
fn status_terms_checked() {
    condition(json!({"status": "email", "is": "bounced"}));
    condition(json!({"status": "push_subscribed", "is": false}));

    assert_rejected(json!({"status": "cellphone", "is": "bounced"}), "/is", "expected active, blocked or paused");
    assert_rejected(json!({"status": "newsletter", "is": "active"}), "/is", "subscribed");
    assert_rejected(json!({"status": "push_subscribed", "is": "yes"}), "/is", "true or false");
    assert_rejected(json!({"status": "fax", "is": "active"}), "/status", "unknown status");
    assert_rejected(json!({"status": "sms"}), "", "missing is");
}

#[test]
fn activity_terms_checked() {
    assert_rejected(
        json!({"activity": "product_view", "within": {"days": 7}, "count": {"at_least": 1}}),
        "/activity",
        "unknown activity type",
    );
    assert_rejected(json!({"activity": "search", "count": {"at_least": 1}}), "", "missing within");
    assert_rejected(
        json!({"activity": "search", "within": {"days": 7}, "count": {"at_least": 1, "at_most": 3}}),
        "/count/at_most",
        "only one of",
    );
    assert_rejected(
        json!({"activity": "search", "within": {"days": 7}, "count": {"at_least": -1}}),
        "/count/at_least",
        "whole number",
    );
    assert_rejected(
        json!({"activity": "page_visit", "path": "catalogue/*", "within": {"days": 7}, "count": {"at_least": 1}}),
        "/path",
        "must start with",
    );
    assert_rejected(
        json!({"activity": "product_visit", "where": {"product_id": true}, "within": {"days": 7},
               "count": {"at_least": 1}}),
        "/where/product_id",
        "string",
    );
}

#[test]
fn since_last_requires_explicit_never() {
    assert_rejected(json!({"since_last": "purchase", "at_least": {"days": 90}}), "", "missing or_never");
    assert_rejected(
        json!({"since_last": "purchase", "less_than": {"days": 9}, "or_never": true}),
        "/or_never",
        "only with at_least",
    );
}

#[test]
fn spent_and_basket_terms_checked() {
    assert_rejected(json!({"spent": "EUR", "within": {"days": 30}, "at_least": -5}), "/at_least", "at least 0");
    assert_rejected(json!({"spent": "", "within": {"days": 30}, "at_least": 5}), "/spent", "currency");
    assert_rejected(json!({"basket": "full"}), "/basket", "abandoned_for");
    assert_rejected(json!({"basket": {"abandoned_for": {"hours": 0}}}), "/basket/abandoned_for", "longer than zero");
}

#[test]
fn windows_limited_to_two_years() {
    condition(json!({"activity": "login", "within": {"days": 730}, "count": {"at_least": 1}}));

    assert_rejected(
        json!({"all": [{"activity": "login", "within": {"days": 731}, "count": {"at_least": 1}}]}),
        "/all/0/within",
        "2 years",
    );
    assert_rejected(json!({"since_last": "login", "less_than": {"weeks": 105}}), "/less_than", "2 years");
    assert_rejected(json!({"basket": {"abandoned_for": {"days": 800}}}), "/basket/abandoned_for", "2 years");
}

fn nested(levels: usize) -> Value {
    let mut value = json!({"basket": "empty"});
    for _ in 1..levels {
        value = json!({"not": value});
    }
    value
}

#[test]
fn depth_limit_counts_levels() {
    condition(nested(MAX_DEPTH));

    let error = error(nested(MAX_DEPTH + 1));
    assert_eq!(error.pointer, "/not".repeat(MAX_DEPTH));
    assert!(error.reason.contains("at most 8 levels"), "{}", error.reason);
}

#[test]
fn term_limit_points_at_extra_term() {
    let term = json!({"field": "city", "op": "is_set"});
    condition(json!({"any": vec![term.clone(); MAX_TERMS]}));

    let error = error(json!({"any": vec![term; MAX_TERMS + 1]}));
    assert_eq!(error.pointer, format!("/any/{MAX_TERMS}"));
    assert!(error.reason.contains("at most 100 terms"), "{}", error.reason);
}

#[test]
fn error_message_shows_pointer_and_reason() {
    let error = error(json!({"not": {"field": "cty", "op": "is_set"}}));

    assert_eq!(error.to_string(), "invalid condition at \"/not/field\": unknown field cty");
}

#[test]
fn round_trip_keeps_every_term() {
    let value = json!({"any": [
        {"all": [
            {"field": "city", "op": "equals", "value": "Madrid"},
            {"field": "first_name", "op": "starts_with", "value": "An"},
            {"field": "work_email", "op": "contains", "value": "@shop"},
            {"field": "work_phone", "op": "in", "value": ["+34600000001", "+34600000002"]},
            {"field": "shoe_size", "op": "between", "value": [38, 44]},
            {"field": "score", "op": "greater_than", "value": "4.75"},
            {"field": "score", "op": "less_than", "value": 10},
            {"field": "signed_up_on", "op": "before", "value": {"days_ago": 30}},
            {"field": "date_of_birth", "op": "after", "value": "1990-01-31"},
            {"field": "seen_at", "op": "after", "value": "2026-12-04T09:30:00Z"},
            {"field": "seen_at", "op": "before", "value": {"days_from_now": 2}},
            {"field": "vip", "op": "not_equals", "value": true},
            {"field": "plan", "op": "in", "value": ["basic", "pro"]},
            {"field": "colours", "op": "contains_any", "value": ["red"]},
            {"field": "colours", "op": "contains_all", "value": ["red", "blue"]},
            {"field": "cellphone", "op": "is_not_set"},
        ]},
        {"not": {"status": "email", "is": "bounced"}},
        {"status": "push_subscribed", "is": true},
        {"activity": "product_visit", "where": {"product_id": "42"}, "path": "/products/*",
         "within": {"days": 7}, "count": {"at_least": 2}},
        {"since_last": "purchase", "at_least": {"days": 90}, "or_never": false},
        {"since_last": "login", "less_than": {"hours": 36}},
        {"since_last": "registration", "never": true},
        {"spent": "EUR", "within": {"days": 28}, "at_least": "100.50"},
        {"basket": {"abandoned_for": {"minutes": 90}}},
        {"basket": "not_empty"},
    ]});

    let parsed = condition(value.clone());
    let written = parsed.to_json();
    let serialized = serde_json::to_value(&parsed).expect("a condition serializes");

    assert_eq!(serialized, written);
    assert_eq!(condition(written.clone()), parsed);
    assert_eq!(written, value);
}

#[test]
fn classification_by_term_kind() {
    let static_only = condition(json!({"all": [
        {"field": "city", "op": "equals", "value": "Madrid"},
        {"status": "newsletter", "is": "subscribed"},
    ]}));
    let relative = condition(json!({"field": "signed_up_on", "op": "after", "value": {"days_ago": 30}}));
    let behaviour = condition(json!({"not": {"any": [
        {"field": "city", "op": "is_set"},
        {"activity": "search", "within": {"days": 3}, "count": {"at_least": 1}},
        {"spent": "EUR", "within": {"days": 60}, "at_least": 1},
    ]}}));

    assert!(!static_only.is_behavioural());
    assert!(!static_only.depends_on_time());
    assert!(!relative.is_behavioural());
    assert!(relative.depends_on_time());
    assert!(behaviour.is_behavioural());
    assert!(behaviour.depends_on_time());
    assert_eq!(behaviour.lookback(), 60 * super::DAY);
    assert_eq!(static_only.lookback(), 0);
    let kinds: Vec<&str> = behaviour.activity_kinds().iter().map(|kind| kind.as_str()).collect();
    assert_eq!(kinds, vec!["search", "purchase"]);
}

#[test]
fn documented_examples_parse() {
    let page = include_str!("../../../../docs/segments.md");
    let blocks: Vec<&str> = page.split("```json\n").skip(1).filter_map(|rest| rest.split("```").next()).collect();

    assert!(blocks.len() >= 10, "found {} JSON examples", blocks.len());
    for block in blocks {
        let value: Value = serde_json::from_str(block).unwrap_or_else(|error| panic!("{block}: {error}"));
        condition(value);
    }
}
