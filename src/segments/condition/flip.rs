//! Finding the next moment a condition's result can change with no new
//! event, so a scheduler can wake for exactly that contact at exactly that
//! time instead of evaluating everyone every minute.
//!
//! Time moves a result in four ways: an activity leaves a window, the time
//! since the newest activity or since the basket's newest update grows past
//! a duration, and a relative date (`{"days_ago": 30}`) moves past a stored
//! date. For a single term the moment returned is exact: the result at that
//! millisecond differs from the result now, and is the same as now at every
//! millisecond before it. For `all`, `any` and `not` it is the earliest
//! moment a change is possible, which may pass without a change (two terms
//! flipping together can cancel out). The scheduler then evaluates again and
//! requests the next moment.

use rust_decimal::Decimal;

use super::ast::{BasketTerm, FieldTerm, FieldTest, Node, Operand, SinceLastTest};
use super::evaluate::{
    activity_times, add_days, decode, last_at, midnight, purchases, stored_value, total, utc_date, Decoded,
};
use super::span::DAY;
use super::view::ContactView;
use crate::store::Millis;

impl Node {
    /// Returns the earliest moment after `now` at which this node's result
    /// can change without any new event, or `None` when time alone never
    /// changes it.
    pub fn next_flip(&self, view: &ContactView, now: Millis) -> Option<Millis> {
        match self {
            Node::All(children) => combined_flip(children, view, now, false),
            Node::Any(children) => combined_flip(children, view, now, true),
            Node::Not(child) => child.next_flip(view, now),
            Node::Field(term) => field_flip(term, view, now),
            Node::Status(_) => None,
            Node::Activity(term) => {
                let exits = activity_times(term, view, now)
                    .into_iter()
                    .map(|at| (at.saturating_add(term.within.0), Decimal::ONE));
                first_change(exits, |count| term.count.accepts(u64::try_from(count).unwrap_or(u64::MAX)))
            }
            Node::SinceLast(term) => {
                let last = last_at(term.kind, view)?;
                let span = match term.test {
                    SinceLastTest::AtLeast { span, .. } | SinceLastTest::LessThan(span) => span,
                    SinceLastTest::Never(_) => return None,
                };
                (now.saturating_sub(last) < span.0).then(|| last.saturating_add(span.0))
            }
            Node::Spent(term) => {
                let exits = purchases(term, view, now)
                    .into_iter()
                    .map(|(at, amount)| (at.saturating_add(term.within.0), amount));
                first_change(exits, |total| term.test.accepts(total))
            }
            Node::Basket(BasketTerm::AbandonedFor(span)) => {
                let updated_at = view.behaviour.basket.as_ref()?.updated_at;
                (now.saturating_sub(updated_at) < span.0).then(|| updated_at.saturating_add(span.0))
            }
            Node::Basket(BasketTerm::Empty | BasketTerm::NotEmpty) => None,
        }
    }
}

/// Combines the flips of `all` (`deciding` false) or `any` (`deciding`
/// true). A child whose result equals `deciding` settles the combination
/// on its own: while one such child stays, nothing changes, so the result
/// can change only once every one of them has flipped. Otherwise (no
/// deciding child) any child's flip can change the result.
fn combined_flip(children: &[Node], view: &ContactView, now: Millis, deciding: bool) -> Option<Millis> {
    let mut deciding_flips = Vec::new();
    let mut all_flips = Vec::new();
    for child in children {
        let flip = child.next_flip(view, now);
        if child.matches(view, now) == deciding {
            deciding_flips.push(flip);
        }
        all_flips.extend(flip);
    }

    if deciding_flips.is_empty() {
        return all_flips.into_iter().min();
    }
    // A deciding child that never flips keeps the result as it is forever.
    deciding_flips.into_iter().collect::<Option<Vec<Millis>>>()?.into_iter().max()
}

/// Walks window exits in time order, each removing its amount from the
/// total (1 per activity for counts), and returns the first exit after
/// which `accepts` returns another result.
fn first_change(exits: impl Iterator<Item = (Millis, Decimal)>, accepts: impl Fn(Decimal) -> bool) -> Option<Millis> {
    let mut exits: Vec<(Millis, Decimal)> = exits.collect();
    exits.sort_by_key(|(at, _)| *at);
    let mut remaining = total(exits.iter().map(|(_, amount)| *amount));
    let current = accepts(remaining);

    let mut index = 0;
    while index < exits.len() {
        // Activities of the same millisecond leave together.
        let moment = exits[index].0;
        while index < exits.len() && exits[index].0 == moment {
            remaining = remaining.saturating_sub(exits[index].1);
            index += 1;
        }
        if accepts(remaining) != current {
            return Some(moment);
        }
    }
    None
}

/// Relative `before` and `after` move with time; every other field test
/// depends on stored values only.
fn field_flip(term: &FieldTerm, view: &ContactView, now: Millis) -> Option<Millis> {
    let (moment, before) = match term.test {
        FieldTest::Before(moment) => (moment, true),
        FieldTest::After(moment) => (moment, false),
        _ => return None,
    };
    let offset_days = moment.offset_days()?;
    let Some(Decoded::Scalar(value)) = decode(term.field.kind, stored_value(term, view)?) else {
        return None;
    };

    // The threshold only grows with time, so `before` can only turn true
    // and `after` can only turn false.
    match value {
        Operand::Date(date) => {
            let threshold = add_days(utc_date(now)?, offset_days)?;
            match before {
                // True from the day the threshold passes the date.
                true if date >= threshold => add_days(date, 1 - offset_days).map(midnight),
                // False from the day the threshold reaches the date.
                false if date > threshold => add_days(date, -offset_days).map(midnight),
                _ => None,
            }
        }
        Operand::DateTime(instant) => {
            let offset = offset_days.checked_mul(DAY)?;
            let threshold = now.checked_add(offset)?;
            match before {
                true if instant >= threshold => instant.checked_sub(offset)?.checked_add(1),
                false if instant > threshold => instant.checked_sub(offset),
                _ => None,
            }
        }
        _ => None,
    }
}
