//! The segment condition language: which contacts belong to a dynamic
//! segment.
//!
//! A condition is JSON (`docs/segments.md` describes every term with
//! examples). [`parse`] checks it against the custom field definitions
//! and returns a typed [`Condition`], or a [`ConditionError`] whose JSON
//! pointer names the offending part. A parsed condition then answers three
//! questions about a contact, with no store access: does it match now
//! ([`Condition::matches`]), when could that change with no new event
//! ([`Condition::next_flip`]), and does it need behaviour at all
//! ([`Condition::is_behavioural`]).
//!
//! Store a condition as its JSON and parse it again when loading it,
//! because custom field definitions can change in between. A condition
//! that names a deleted field then fails to parse instead of silently
//! matching no contact.
//! That is why [`Condition`] implements `Serialize` but not `Deserialize`.
//!
//! Time boundaries follow one rule everywhere: a window of 7 days ending
//! at `now` contains the activities younger than 7 days. An activity
//! exactly 7 days old is outside, so it stops counting at the millisecond
//! it turns 7 days old, and "at least 7 days since" becomes true at that
//! same millisecond.

mod ast;
mod error;
mod evaluate;
mod flip;
mod parse;
mod parse_field;
mod span;
mod view;
mod write;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use serde_json::Value;

pub use ast::{
    ActivityTerm, AmountTest, BasketTerm, CountTest, FieldRef, FieldTerm, FieldTest, Moment, Node, Operand, PathFilter,
    SinceLastTerm, SinceLastTest, Span, SpentTerm, StatusTerm,
};
pub use error::ConditionError;
pub use span::MAX_RELATIVE_DAYS;
pub use view::{Behaviour, ContactView};

use crate::store::{ActivityKind, FieldDefinition, Millis};

/// Maximum nesting of `all`, `any` and `not`, counting the outermost
/// condition as level 1.
pub const MAX_DEPTH: usize = 8;

/// Maximum number of terms (field, status and behaviour tests) in one
/// condition.
pub const MAX_TERMS: usize = 100;

/// Maximum length of a window or duration, in days (2 years). It bounds
/// how much history a view must hold.
pub const MAX_WINDOW_DAYS: u32 = 730;

/// Maximum number of values of `in`, `contains_any` and `contains_all`.
pub const MAX_LIST_ITEMS: usize = 100;

/// A checked condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    root: Node,
}

/// Parses and checks a condition. Custom fields are looked up by name in
/// `definitions`, and values must fit each field's type.
pub fn parse(value: &Value, definitions: &[FieldDefinition]) -> Result<Condition, ConditionError> {
    let root = parse::Parser::new(definitions).node(value, &error::Pointer::default(), 1)?;
    Ok(Condition { root })
}

impl Condition {
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Returns whether the contact in `view` matches at `now`.
    pub fn matches(&self, view: &ContactView, now: Millis) -> bool {
        self.root.matches(view, now)
    }

    /// Returns the earliest moment after `now` at which the result can
    /// change with no new event, or `None` when only an event can change it.
    /// See the `flip` module for how exact the moment is.
    pub fn next_flip(&self, view: &ContactView, now: Millis) -> Option<Millis> {
        self.root.next_flip(view, now)
    }

    /// Returns true when the condition reads behaviour (activities, the
    /// basket), which only dynamic plus segments may use.
    pub fn is_behavioural(&self) -> bool {
        walk(&self.root)
            .any(|node| matches!(node, Node::Activity(_) | Node::SinceLast(_) | Node::Spent(_) | Node::Basket(_)))
    }

    /// Returns true when time alone can change the result: the condition is
    /// behavioural or compares a date with a relative one
    /// (`{"days_ago": 30}`). Such conditions need [`Condition::next_flip`]
    /// scheduling even in a plain dynamic segment.
    pub fn depends_on_time(&self) -> bool {
        let relative = |moment: &Moment| moment.offset_days().is_some();
        self.is_behavioural()
            || walk(&self.root).any(|node| match node {
                Node::Field(FieldTerm { test: FieldTest::Before(moment) | FieldTest::After(moment), .. }) => {
                    relative(moment)
                }
                _ => false,
            })
    }

    /// Returns the maximum window of any count or amount term, in milliseconds:
    /// how far back [`Behaviour::recent`] must reach. Zero when no term
    /// counts activities.
    pub fn lookback(&self) -> Millis {
        walk(&self.root)
            .filter_map(|node| match node {
                Node::Activity(term) => Some(term.within.0),
                Node::Spent(term) => Some(term.within.0),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// The activity types a view must hold for this condition. The basket
    /// needs purchases and cart updates.
    pub fn activity_kinds(&self) -> BTreeSet<ActivityKind> {
        let mut kinds = BTreeSet::new();
        for node in walk(&self.root) {
            match node {
                Node::Activity(term) => {
                    kinds.insert(term.kind);
                }
                Node::SinceLast(term) => {
                    kinds.insert(term.kind);
                }
                Node::Spent(_) => {
                    kinds.insert(ActivityKind::Purchase);
                }
                Node::Basket(_) => {
                    kinds.extend([ActivityKind::Purchase, ActivityKind::CartUpdate]);
                }
                _ => {}
            }
        }
        kinds
    }

    /// Returns true when a `basket` term needs the contact's basket.
    pub fn needs_basket(&self) -> bool {
        walk(&self.root).any(|node| matches!(node, Node::Basket(_)))
    }

    /// Returns true when a status term tests push subscriptions, so the view
    /// needs their number.
    pub fn needs_push(&self) -> bool {
        walk(&self.root).any(|node| matches!(node, Node::Status(StatusTerm::PushSubscribed(_))))
    }

    /// Returns the condition as JSON that [`parse`] reads back to an equal
    /// condition, given the same definitions.
    pub fn to_json(&self) -> Value {
        self.root.to_json()
    }
}

impl serde::Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Iterates over every node of the tree, parents before children.
fn walk(root: &Node) -> impl Iterator<Item = &Node> {
    let mut pending = vec![root];
    std::iter::from_fn(move || {
        let node = pending.pop()?;
        match node {
            Node::All(children) | Node::Any(children) => pending.extend(children.iter().rev()),
            Node::Not(child) => pending.push(child),
            _ => {}
        }
        Some(node)
    })
}
