//! next_flip: the moment a result changes with no new event, checked at
//! the millisecond before and at the moment itself.

use serde_json::{json, Value};

use super::{activity, condition, with_activities, with_basket, with_fields, DAY, HOUR, MINUTE, NOW};
use crate::segments::condition::{Condition, ContactView};
use crate::store::{ActivityKind, Millis};

/// Asserts that `condition` flips exactly at `expected`: the same result
/// as at `NOW` at sample moments up to one millisecond before, another
/// result at `expected`.
fn assert_flips_at(condition: &Condition, view: &ContactView, expected: Millis) {
    let flip = condition.next_flip(view, NOW);
    assert_eq!(flip, Some(expected), "flip of {}", condition.to_json());

    let now = condition.matches(view, NOW);
    let samples = [NOW + 1, NOW + (expected - NOW) / 2, expected - 1];
    for moment in samples.into_iter().filter(|moment| *moment > NOW && *moment < expected) {
        assert_eq!(condition.matches(view, moment), now, "at {moment} before the flip of {}", condition.to_json());
    }
    assert_ne!(condition.matches(view, expected), now, "at the flip of {}", condition.to_json());
}

#[test]
fn count_flips_when_activity_leaves_window() {
    let term = condition(json!({"activity": "login", "within": {"days": 7}, "count": {"at_least": 1}}));
    let view = with_activities(vec![activity(ActivityKind::Login, NOW - 3 * DAY, &[])]);

    assert_flips_at(&term, &view, NOW + 4 * DAY);
}

#[test]
fn count_skips_exits_that_change_nothing() {
    // Three visits, at least two needed: the oldest leaving changes nothing,
    // the second oldest leaving does.
    let term = condition(json!({"activity": "product_visit", "where": {"product_id": "42"},
                                "within": {"days": 7}, "count": {"at_least": 2}}));
    let view = with_activities(vec![
        activity(ActivityKind::ProductVisit, NOW - HOUR, &[("product_id", "42")]),
        activity(ActivityKind::ProductVisit, NOW - 5 * DAY, &[("product_id", "42")]),
        activity(ActivityKind::ProductVisit, NOW - 6 * DAY, &[("product_id", "42")]),
        activity(ActivityKind::ProductVisit, NOW - 6 * DAY - HOUR, &[("product_id", "7")]),
    ]);

    assert_flips_at(&term, &view, NOW + 2 * DAY);
}

#[test]
fn exactly_count_flips_twice() {
    let term = condition(json!({"activity": "search", "within": {"days": 1}, "count": {"exactly": 1}}));
    let view = with_activities(vec![
        activity(ActivityKind::Search, NOW - 10 * HOUR, &[]),
        activity(ActivityKind::Search, NOW - 20 * HOUR, &[]),
    ]);

    assert_flips_at(&term, &view, NOW + 4 * HOUR);
    assert_eq!(term.next_flip(&view, NOW + 4 * HOUR), Some(NOW + 14 * HOUR));
}

#[test]
fn same_millisecond_activities_leave_together() {
    let term = condition(json!({"activity": "search", "within": {"hours": 1}, "count": {"at_most": 1}}));
    let view = with_activities(vec![
        activity(ActivityKind::Search, NOW - 30 * MINUTE, &[]),
        activity(ActivityKind::Search, NOW - 30 * MINUTE, &[]),
        activity(ActivityKind::Search, NOW - 40 * MINUTE, &[]),
    ]);

    assert_flips_at(&term, &view, NOW + 30 * MINUTE);
}

#[test]
fn since_last_flips_when_duration_passes() {
    let view = with_activities(vec![activity(ActivityKind::Purchase, NOW - 80 * DAY, &[])]);
    let lapsed = condition(json!({"since_last": "purchase", "at_least": {"days": 90}, "or_never": false}));
    let recent = condition(json!({"since_last": "purchase", "less_than": {"days": 90}}));

    assert_flips_at(&lapsed, &view, NOW + 10 * DAY);
    assert_flips_at(&recent, &view, NOW + 10 * DAY);
    assert_eq!(lapsed.next_flip(&view, NOW + 10 * DAY), None);
}

#[test]
fn never_and_settled_terms_have_no_flip() {
    let never = ContactView::default();
    let old = with_activities(vec![activity(ActivityKind::Purchase, NOW - 100 * DAY, &[])]);
    let cases: [(Value, &ContactView); 6] = [
        (json!({"since_last": "purchase", "at_least": {"days": 90}, "or_never": true}), &never),
        (json!({"since_last": "purchase", "less_than": {"days": 90}}), &never),
        (json!({"since_last": "purchase", "at_least": {"days": 90}, "or_never": false}), &old),
        (json!({"since_last": "purchase", "never": false}), &old),
        (json!({"activity": "purchase", "within": {"days": 7}, "count": {"at_least": 1}}), &old),
        (json!({"basket": {"abandoned_for": {"hours": 2}}}), &never),
    ];
    for (value, view) in cases {
        assert_eq!(condition(value.clone()).next_flip(view, NOW), None, "{value}");
    }
}

#[test]
fn static_terms_have_no_flip() {
    let view = with_fields(&[("city", "Madrid"), ("signed_up_on", "2026-01-01")]);
    let cases = [
        json!({"field": "city", "op": "equals", "value": "Madrid"}),
        json!({"field": "signed_up_on", "op": "before", "value": "2026-06-01"}),
        json!({"status": "newsletter", "is": "subscribed"}),
        json!({"basket": "empty"}),
    ];
    for value in cases {
        assert_eq!(condition(value.clone()).next_flip(&view, NOW), None, "{value}");
    }
}

#[test]
fn spent_flips_when_total_crosses() {
    let term = condition(json!({"spent": "EUR", "within": {"days": 30}, "at_least": 100}));
    let view = with_activities(vec![
        activity(ActivityKind::Purchase, NOW - DAY, &[("amount", "30"), ("currency", "EUR")]),
        activity(ActivityKind::Purchase, NOW - 20 * DAY, &[("amount", "60"), ("currency", "EUR")]),
        activity(ActivityKind::Purchase, NOW - 25 * DAY, &[("amount", "20"), ("currency", "EUR")]),
    ]);

    // 110 now; 90 once the 25-day-old purchase leaves the window.
    assert_flips_at(&term, &view, NOW + 5 * DAY);
}

#[test]
fn basket_flips_at_abandonment() {
    let term = condition(json!({"basket": {"abandoned_for": {"hours": 2}}}));
    let view = with_basket(NOW - 30 * MINUTE);

    assert_flips_at(&term, &view, NOW + 90 * MINUTE);
}

#[test]
fn relative_date_flips_at_utc_midnight() {
    // NOW is 2026-12-04T12:00Z; 30 days ago is 2026-11-04.
    let before = condition(json!({"field": "signed_up_on", "op": "before", "value": {"days_ago": 30}}));
    let after = condition(json!({"field": "signed_up_on", "op": "after", "value": {"days_ago": 30}}));
    let view = with_fields(&[("signed_up_on", "2026-11-06")]);
    let dec_07 = NOW + 2 * DAY + 12 * HOUR;
    let dec_06 = NOW + DAY + 12 * HOUR;

    // Before 30 days ago from 2026-12-07 (threshold 2026-11-07).
    assert_flips_at(&before, &view, dec_07);
    // No longer after 30 days ago from 2026-12-06 (threshold 2026-11-06).
    assert_flips_at(&after, &view, dec_06);
    assert_eq!(before.next_flip(&view, dec_07), None);
    assert_eq!(after.next_flip(&view, dec_06), None);
}

#[test]
fn relative_date_from_now_flips() {
    let term = condition(json!({"field": "signed_up_on", "op": "before", "value": {"days_from_now": 2}}));
    let view = with_fields(&[("signed_up_on", "2026-12-07")]);

    // 2026-12-07 is before today + 2 from 2026-12-06.
    assert_flips_at(&term, &view, NOW + DAY + 12 * HOUR);
}

#[test]
fn relative_date_time_flips_to_millisecond() {
    let after = condition(json!({"field": "seen_at", "op": "after", "value": {"days_ago": 1}}));
    let before = condition(json!({"field": "seen_at", "op": "before", "value": {"days_ago": 1}}));
    let view = with_fields(&[("seen_at", "2026-12-04T10:00:00Z")]);

    assert_flips_at(&after, &view, NOW + 22 * HOUR);
    assert_flips_at(&before, &view, NOW + 22 * HOUR + 1);
}

#[test]
fn all_and_any_combine_flips() {
    let visited = json!({"activity": "login", "within": {"days": 7}, "count": {"at_least": 1}});
    let abandoned = json!({"basket": {"abandoned_for": {"hours": 2}}});
    let madrid = json!({"field": "city", "op": "equals", "value": "Madrid"});
    let mut view = with_fields(&[("city", "Madrid")]);
    view.behaviour = with_activities(vec![activity(ActivityKind::Login, NOW - 6 * DAY, &[])]).behaviour;
    view.behaviour.basket = with_basket(NOW - HOUR).behaviour.basket;

    // All is false only through the basket, which turns true in 1 hour
    // while the login still counts.
    let all = condition(json!({"all": [visited, abandoned, madrid]}));
    assert_flips_at(&all, &view, NOW + HOUR);
    // Then all is true until the login leaves its window.
    assert_eq!(all.next_flip(&view, NOW + HOUR), Some(NOW + DAY));

    // Any is true through the login. The moment it leaves is the earliest
    // possible change, but the basket is true by then, so the result holds.
    let any = condition(json!({"any": [visited, abandoned]}));
    assert_eq!(any.next_flip(&view, NOW), Some(NOW + DAY));
    assert!(any.matches(&view, NOW + DAY));

    // A false term that never flips keeps all false forever.
    let never = condition(json!({"all": [abandoned, {"field": "city", "op": "equals", "value": "Paris"}]}));
    assert_eq!(never.next_flip(&view, NOW), None);

    // A true term that never flips keeps any true forever.
    let settled = condition(json!({"any": [visited, madrid]}));
    assert_eq!(settled.next_flip(&view, NOW), None);

    // Not flips with its child.
    let not = condition(json!({"not": visited}));
    assert_flips_at(&not, &view, NOW + DAY);
}

#[test]
fn true_all_flips_at_first_child_change() {
    let login = json!({"activity": "login", "within": {"days": 7}, "count": {"at_least": 1}});
    let search = json!({"activity": "search", "within": {"days": 7}, "count": {"at_least": 1}});
    let view = with_activities(vec![
        activity(ActivityKind::Login, NOW - 2 * DAY, &[]),
        activity(ActivityKind::Search, NOW - 3 * DAY, &[]),
    ]);

    let all = condition(json!({"all": [login, search]}));
    let none = condition(json!({"any": [{"not": login}, {"not": search}]}));

    assert_flips_at(&all, &view, NOW + 4 * DAY);
    assert_flips_at(&none, &view, NOW + 4 * DAY);
}
