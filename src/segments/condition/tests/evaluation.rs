//! Evaluation: every operator on every type, missing values, statuses,
//! behaviour windows at their boundaries, and combinations.

use serde_json::{json, Value};

use super::{activity, condition, with_activities, with_basket, with_fields, DAY, HOUR, NOW};
use crate::segments::condition::ContactView;
use crate::status::{Consent, Delivery, Hold, Subscription, SubscriptionRecord};
use crate::store::ActivityKind;

/// Checks `field op value` against one stored value for each case.
fn check_field(field: &str, stored: &str, cases: &[(&str, Value, bool)]) {
    let view = with_fields(&[(field, stored)]);
    for (op, value, expected) in cases {
        let term = condition(json!({"field": field, "op": op, "value": value}));
        assert_eq!(term.matches(&view, NOW), *expected, "{field} = {stored:?}: {op} {value}");
    }
}

#[test]
fn text_compares_ignoring_case() {
    check_field(
        "city",
        "Madrid",
        &[
            ("equals", json!("madrid"), true),
            ("equals", json!("MADRID "), true),
            ("equals", json!("Madri"), false),
            ("not_equals", json!("madrid"), false),
            ("not_equals", json!("Paris"), true),
            ("contains", json!("DRI"), true),
            ("contains", json!("x"), false),
            ("starts_with", json!("ma"), true),
            ("starts_with", json!("drid"), false),
            ("in", json!(["Paris", "MADRID"]), true),
            ("in", json!(["Paris", "Rome"]), false),
        ],
    );
}

#[test]
fn text_keeps_accents_apart() {
    check_field("city", "Málaga", &[("equals", json!("MÁLAGA"), true), ("equals", json!("malaga"), false)]);
}

#[test]
fn standard_fields_read_like_text() {
    check_field(
        "email",
        "Ana@Example.com",
        &[("equals", json!("ana@example.com"), true), ("contains", json!("@EXAMPLE."), true)],
    );
    check_field("first_name", "Ana", &[("starts_with", json!("an"), true)]);
    check_field("last_name", "García", &[("equals", json!("garcía"), true)]);
    check_field("cellphone", "+34600000001", &[("starts_with", json!("+34"), true), ("in", json!(["+1"]), false)]);
    check_field("work_email", "ops@shop.test", &[("equals", json!("OPS@shop.test"), true)]);
    check_field("work_phone", "+34600000001", &[("equals", json!("+34600000001"), true)]);
}

#[test]
fn integers_compare_as_numbers() {
    check_field(
        "shoe_size",
        "42",
        &[
            ("equals", json!(42), true),
            ("equals", json!("42"), true),
            ("not_equals", json!(41), true),
            ("greater_than", json!(41), true),
            ("greater_than", json!(42), false),
            ("less_than", json!(43), true),
            ("less_than", json!(42), false),
            ("between", json!([42, 44]), true),
            ("between", json!([38, 42]), true),
            ("between", json!([43, 44]), false),
            ("in", json!([40, 42]), true),
            ("in", json!([40, 41]), false),
        ],
    );
}

#[test]
fn decimals_compare_exactly() {
    check_field(
        "score",
        "42.5",
        &[
            ("equals", json!("42.50"), true),
            ("equals", json!(42.5), true),
            ("greater_than", json!("42.49"), true),
            ("less_than", json!("42.51"), true),
            ("less_than", json!(42.5), false),
            ("between", json!(["42.5", 50]), true),
        ],
    );
    // 0.1 + 0.2 stored as f64 text is 0.30000000000000004: not 0.3.
    check_field(
        "score",
        "0.30000000000000004",
        &[("equals", json!("0.3"), false), ("greater_than", json!("0.3"), true)],
    );
}

#[test]
fn dates_compare_as_dates() {
    check_field(
        "signed_up_on",
        "2026-03-15",
        &[
            ("equals", json!("2026-03-15"), true),
            ("not_equals", json!("2026-03-16"), true),
            ("before", json!("2026-03-16"), true),
            ("before", json!("2026-03-15"), false),
            ("after", json!("2026-03-14"), true),
            ("after", json!("2026-03-15"), false),
            ("between", json!(["2026-03-01", "2026-03-15"]), true),
            ("between", json!(["2026-03-16", "2026-04-01"]), false),
        ],
    );
    check_field("date_of_birth", "1990-05-20", &[("before", json!("2000-01-01"), true)]);
}

#[test]
fn relative_dates_count_utc_days() {
    // NOW is 2026-12-04; 30 days ago is 2026-11-04.
    let cases = [
        ("2026-11-03", "before", true),
        ("2026-11-04", "before", false),
        ("2026-11-04", "after", false),
        ("2026-11-05", "after", true),
    ];
    for (stored, op, expected) in cases {
        let view = with_fields(&[("signed_up_on", stored)]);
        let term = condition(json!({"field": "signed_up_on", "op": op, "value": {"days_ago": 30}}));
        assert_eq!(term.matches(&view, NOW), expected, "{stored} {op} 30 days ago");
    }

    let view = with_fields(&[("signed_up_on", "2026-12-06")]);
    let ahead = condition(json!({"field": "signed_up_on", "op": "before", "value": {"days_from_now": 2}}));
    assert!(!ahead.matches(&view, NOW));
    assert!(ahead.matches(&view, NOW + DAY));
}

#[test]
fn date_times_compare_instants() {
    check_field(
        "seen_at",
        "2026-12-04T09:30:00Z",
        &[
            ("before", json!("2026-12-04T10:30:00+01:00"), false),
            ("before", json!("2026-12-04T09:30:00.001Z"), true),
            ("after", json!("2026-12-04T09:29:59Z"), true),
            ("between", json!(["2026-12-04T09:30:00Z", "2026-12-04T10:00:00Z"]), true),
            ("after", json!({"days_ago": 1}), true),
            ("before", json!({"days_ago": 1}), false),
        ],
    );

    // Relative date-times count 24-hour days from now, to the millisecond.
    let view = with_fields(&[("seen_at", "2026-12-03T12:00:00Z")]);
    let day_old = condition(json!({"field": "seen_at", "op": "after", "value": {"days_ago": 1}}));
    assert!(day_old.matches(&view, NOW - 1));
    assert!(!day_old.matches(&view, NOW));
}

#[test]
fn booleans_and_choices_compare() {
    check_field(
        "vip",
        "true",
        &[("equals", json!(true), true), ("equals", json!(false), false), ("not_equals", json!(false), true)],
    );
    check_field(
        "plan",
        "pro",
        &[("equals", json!("pro"), true), ("in", json!(["basic"]), false), ("not_equals", json!("basic"), true)],
    );
    check_field(
        "colours",
        r#"["red","blue"]"#,
        &[
            ("contains_any", json!(["green", "blue"]), true),
            ("contains_any", json!(["green"]), false),
            ("contains_all", json!(["blue", "red"]), true),
            ("contains_all", json!(["red", "green"]), false),
        ],
    );
}

/// Returns one condition per operator that takes a value, on each type.
fn valued_terms() -> Vec<Value> {
    vec![
        json!({"field": "city", "op": "equals", "value": "x"}),
        json!({"field": "city", "op": "not_equals", "value": "x"}),
        json!({"field": "city", "op": "contains", "value": "x"}),
        json!({"field": "city", "op": "starts_with", "value": "x"}),
        json!({"field": "city", "op": "in", "value": ["x"]}),
        json!({"field": "email", "op": "not_equals", "value": "x"}),
        json!({"field": "shoe_size", "op": "not_equals", "value": 1}),
        json!({"field": "shoe_size", "op": "greater_than", "value": -100}),
        json!({"field": "score", "op": "less_than", "value": 100}),
        json!({"field": "score", "op": "between", "value": [-100, 100]}),
        json!({"field": "signed_up_on", "op": "before", "value": {"days_from_now": 10}}),
        json!({"field": "date_of_birth", "op": "after", "value": "1900-01-01"}),
        json!({"field": "seen_at", "op": "after", "value": {"days_ago": 100}}),
        json!({"field": "vip", "op": "not_equals", "value": true}),
        json!({"field": "plan", "op": "not_equals", "value": "pro"}),
        json!({"field": "colours", "op": "contains_any", "value": ["red"]}),
    ]
}

#[test]
fn missing_field_matches_only_is_not_set() {
    let view = ContactView::default();

    for value in valued_terms() {
        assert!(!condition(value.clone()).matches(&view, NOW), "{value}");
    }
    for field in ["city", "email", "shoe_size", "seen_at", "colours"] {
        assert!(condition(json!({"field": field, "op": "is_not_set"})).matches(&view, NOW), "{field}");
        assert!(!condition(json!({"field": field, "op": "is_set"})).matches(&view, NOW), "{field}");
    }
}

#[test]
fn blank_value_counts_as_missing() {
    let view = with_fields(&[("city", "  ")]);

    assert!(condition(json!({"field": "city", "op": "is_not_set"})).matches(&view, NOW));
    assert!(!condition(json!({"field": "city", "op": "not_equals", "value": "Madrid"})).matches(&view, NOW));
}

#[test]
fn undecodable_value_is_set_but_fails_tests() {
    let view = with_fields(&[
        ("shoe_size", "big"),
        ("score", "n/a"),
        ("signed_up_on", "soon"),
        ("seen_at", "2026-12-04"),
        ("vip", "yes"),
        ("colours", "red"),
        ("plan", "gold"),
    ]);

    for value in valued_terms().into_iter().filter(|value| value["field"] != "city" && value["field"] != "email") {
        let field = value["field"].as_str().unwrap_or_default();
        if field == "date_of_birth" {
            continue;
        }
        let expected = field == "plan";
        assert_eq!(condition(value.clone()).matches(&view, NOW), expected, "{value}");
    }
    assert!(condition(json!({"field": "shoe_size", "op": "is_set"})).matches(&view, NOW));
}

#[test]
fn custom_default_applies_when_unset() {
    let spain = condition(json!({"field": "country", "op": "equals", "value": "spain"}));
    let set = condition(json!({"field": "country", "op": "is_set"}));

    assert!(spain.matches(&ContactView::default(), NOW));
    assert!(set.matches(&ContactView::default(), NOW));
    assert!(!spain.matches(&with_fields(&[("country", "France")]), NOW));
}

fn subscribed(at: i64) -> SubscriptionRecord {
    SubscriptionRecord { status: Subscription::Subscribed, consent: Consent::email_event(at) }
}

#[test]
fn status_terms_read_decoded_statuses() {
    let is = |status: &str, value: Value, view: &ContactView| {
        condition(json!({"status": status, "is": value})).matches(view, NOW)
    };
    let mut view = with_fields(&[("email", "Ana@Example.com")]);

    assert!(is("email", json!("active"), &view));
    assert!(is("newsletter", json!("not_subscribed"), &view));
    assert!(is("sms", json!("not_subscribed"), &view));
    assert!(is("cellphone", json!("active"), &view));
    assert!(is("push_subscribed", json!(false), &view));

    let mut delivery = Delivery::new("ana@example.com");
    delivery.bounced = true;
    view.statuses.delivery = Some(delivery);
    view.statuses.newsletter = Some(subscribed(1));
    view.statuses.sms = Some(SubscriptionRecord { status: Subscription::Unsubscribed, ..subscribed(1) });
    view.statuses.cellphone_hold = Some(Hold::Paused);
    view.push_subscriptions = 2;

    assert!(is("email", json!("bounced"), &view));
    assert!(!is("email", json!("active"), &view));
    assert!(is("newsletter", json!("subscribed"), &view));
    assert!(is("sms", json!("unsubscribed"), &view));
    assert!(is("cellphone", json!("paused"), &view));
    assert!(is("push_subscribed", json!(true), &view));

    // A hold shows over a bounce, as in the admin API.
    view.statuses.email_hold = Some(Hold::Blocked);
    assert!(is("email", json!("blocked"), &view));

    // A bounce of a previous address does not count.
    view.statuses.email_hold = None;
    view.record.fields.insert("email".to_owned(), "new@example.com".to_owned());
    assert!(is("email", json!("active"), &view));
}

#[test]
fn window_excludes_activity_exactly_window_old() {
    let term = condition(json!({"activity": "login", "within": {"days": 7}, "count": {"at_least": 1}}));

    let exactly = with_activities(vec![activity(ActivityKind::Login, NOW - 7 * DAY, &[])]);
    let younger = with_activities(vec![activity(ActivityKind::Login, NOW - 7 * DAY + 1, &[])]);
    let future = with_activities(vec![activity(ActivityKind::Login, NOW + 1, &[])]);

    assert!(!term.matches(&exactly, NOW));
    assert!(term.matches(&younger, NOW));
    assert!(term.matches(&future, NOW));
}

#[test]
fn count_compares_at_least_at_most_exactly() {
    let visits = with_activities(vec![
        activity(ActivityKind::ProductVisit, NOW - HOUR, &[("product_id", "42")]),
        activity(ActivityKind::ProductVisit, NOW - 2 * DAY, &[("product_id", "42")]),
        activity(ActivityKind::ProductVisit, NOW - 3 * DAY, &[("product_id", "7")]),
        activity(ActivityKind::PageVisit, NOW - HOUR, &[("product_id", "42")]),
    ]);
    let count = |filter: Value, count: Value| {
        let mut term = json!({"activity": "product_visit", "within": {"days": 7}, "count": count});
        if !filter.is_null() {
            term["where"] = filter;
        }
        condition(term).matches(&visits, NOW)
    };

    assert!(count(Value::Null, json!({"exactly": 3})));
    assert!(count(json!({"product_id": "42"}), json!({"at_least": 2})));
    assert!(!count(json!({"product_id": "42"}), json!({"at_least": 3})));
    assert!(count(json!({"product_id": 42}), json!({"exactly": 2})));
    assert!(count(json!({"product_id": "42"}), json!({"at_most": 2})));
    assert!(!count(json!({"product_id": "42"}), json!({"at_most": 1})));
    assert!(count(json!({"product_id": "9"}), json!({"exactly": 0})));
    assert!(!count(json!({"product_id": "42", "colour": "red"}), json!({"at_least": 1})));
}

#[test]
fn path_filter_ignores_query() {
    let mut visit = activity(ActivityKind::PageVisit, NOW - HOUR, &[]);
    visit.url = "/catalogue/shoes/?page=2".to_owned();
    let view = with_activities(vec![visit]);
    let term = |path: &str| {
        condition(json!({"activity": "page_visit", "path": path, "within": {"days": 1}, "count": {"at_least": 1}}))
    };

    assert!(term("/catalogue/*").matches(&view, NOW));
    assert!(term("/catalogue/{category}/").matches(&view, NOW));
    assert!(!term("/offers/*").matches(&view, NOW));
}

#[test]
fn since_last_boundaries_and_never() {
    let bought = with_activities(vec![activity(ActivityKind::Purchase, NOW - 90 * DAY, &[])]);
    let never = ContactView::default();
    let at_least =
        |or_never: bool| condition(json!({"since_last": "purchase", "at_least": {"days": 90}, "or_never": or_never}));
    let less_than = condition(json!({"since_last": "purchase", "less_than": {"days": 90}}));
    let never_bought = condition(json!({"since_last": "purchase", "never": true}));
    let ever_bought = condition(json!({"since_last": "purchase", "never": false}));

    assert!(at_least(false).matches(&bought, NOW));
    assert!(!at_least(false).matches(&bought, NOW - 1));
    assert!(!less_than.matches(&bought, NOW));
    assert!(less_than.matches(&bought, NOW - 1));

    assert!(at_least(true).matches(&never, NOW));
    assert!(!at_least(false).matches(&never, NOW));
    assert!(!less_than.matches(&never, NOW));
    assert!(never_bought.matches(&never, NOW));
    assert!(!never_bought.matches(&bought, NOW));
    assert!(ever_bought.matches(&bought, NOW));
}

#[test]
fn since_last_reads_history_beyond_lookback() {
    // The purchase is older than any window, so only `last_at` records it.
    let mut view = ContactView::default();
    view.behaviour.last_at.insert(ActivityKind::Purchase, NOW - 600 * DAY);

    let never = condition(json!({"since_last": "purchase", "never": true}));
    let lapsed = condition(json!({"since_last": "purchase", "at_least": {"days": 365}, "or_never": false}));

    assert!(!never.matches(&view, NOW));
    assert!(lapsed.matches(&view, NOW));
}

#[test]
fn spent_sums_one_currency_in_window() {
    let view = with_activities(vec![
        activity(ActivityKind::Purchase, NOW - DAY, &[("amount", "€60,25"), ("currency", "eur")]),
        activity(ActivityKind::Purchase, NOW - 10 * DAY, &[("amount", "40.00"), ("currency", "EUR")]),
        activity(ActivityKind::Purchase, NOW - 30 * DAY, &[("amount", "500"), ("currency", "EUR")]),
        activity(ActivityKind::Purchase, NOW - DAY, &[("amount", "999"), ("currency", "USD")]),
        activity(ActivityKind::Purchase, NOW - DAY, &[("currency", "EUR")]),
    ]);
    let spent = |test: &str, amount: Value| {
        condition(json!({"spent": "eur", "within": {"days": 30}, test: amount})).matches(&view, NOW)
    };

    assert!(spent("at_least", json!("100.25")));
    assert!(!spent("at_least", json!("100.26")));
    assert!(spent("at_most", json!(100.25)));
    assert!(!spent("more_than", json!("100.25")));
    assert!(spent("less_than", json!(101)));
    assert!(spent("at_least", json!(0)));
}

#[test]
fn basket_abandoned_from_exact_duration() {
    let abandoned = condition(json!({"basket": {"abandoned_for": {"hours": 2}}}));
    let view = with_basket(NOW - 2 * HOUR);

    assert!(abandoned.matches(&view, NOW));
    assert!(!abandoned.matches(&view, NOW - 1));
    assert!(!abandoned.matches(&ContactView::default(), NOW));
    assert!(condition(json!({"basket": "not_empty"})).matches(&view, NOW));
    assert!(!condition(json!({"basket": "empty"})).matches(&view, NOW));
    assert!(condition(json!({"basket": "empty"})).matches(&ContactView::default(), NOW));
}

#[test]
fn nested_all_any_not_combine() {
    let view = with_fields(&[("city", "Madrid"), ("shoe_size", "42")]);
    let madrid = json!({"field": "city", "op": "equals", "value": "Madrid"});
    let big = json!({"field": "shoe_size", "op": "greater_than", "value": 44});
    let cases = [
        (json!({"all": [madrid, big]}), false),
        (json!({"any": [madrid, big]}), true),
        (json!({"all": [madrid, {"not": big}]}), true),
        (json!({"not": {"any": [big, {"not": madrid}]}}), true),
        (json!({"any": [{"all": [big]}, {"not": {"not": big}}]}), false),
    ];
    for (value, expected) in cases {
        assert_eq!(condition(value.clone()).matches(&view, NOW), expected, "{value}");
    }
}

#[test]
fn not_differs_from_not_equals_when_missing() {
    let view = ContactView::default();

    let not_equals = condition(json!({"field": "city", "op": "not_equals", "value": "Madrid"}));
    let not = condition(json!({"not": {"field": "city", "op": "equals", "value": "Madrid"}}));

    assert!(!not_equals.matches(&view, NOW));
    assert!(not.matches(&view, NOW));
}

#[test]
fn huge_amounts_saturate_without_panic() {
    let huge = "79228162514264337593543950335";
    let view = with_activities(vec![
        activity(ActivityKind::Purchase, NOW - DAY, &[("amount", huge), ("currency", "EUR")]),
        activity(ActivityKind::Purchase, NOW - 2 * DAY, &[("amount", huge), ("currency", "EUR")]),
    ]);
    let term = condition(json!({"spent": "EUR", "within": {"days": 30}, "at_least": huge}));

    assert!(term.matches(&view, NOW));
    // The saturated total makes the first exit look like a change. That
    // moment is early, which costs one needless evaluation.
    assert_eq!(term.next_flip(&view, NOW), Some(NOW + 28 * DAY));
    assert_eq!(term.next_flip(&view, NOW + 28 * DAY), Some(NOW + 29 * DAY));
}
