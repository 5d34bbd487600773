//! The store reads that build a [`ContactView`] for a set of conditions.
//!
//! [`Needs`] unites what every loaded condition reads, so one view serves
//! all segments of a contact change. Conditions on fields and statuses
//! need only the contact's record, which the caller has already read. Push
//! terms add one read. Behaviour terms add timeline reads bounded by the
//! largest `lookback` (see `condition::view` for the contract).

use std::collections::BTreeSet;

use super::condition::{Behaviour, Condition, ContactView};
use crate::store::{ActivityKind, ActivityQuery, ContactId, ContactRecord, Millis, Store, StoreError};

/// Activities read per timeline call.
const PAGE: usize = 500;

/// The contents a set of conditions requires of a view.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Activity types that behaviour terms name.
    pub kinds: BTreeSet<ActivityKind>,
    /// The largest window of any count or amount term, in milliseconds.
    pub lookback: Millis,
    pub basket: bool,
    pub push: bool,
}

impl Needs {
    /// Adds what `condition` reads.
    pub fn include(&mut self, condition: &Condition) {
        self.kinds.extend(condition.activity_kinds());
        self.lookback = self.lookback.max(condition.lookback());
        self.basket |= condition.needs_basket();
        self.push |= condition.needs_push();
    }

    fn behaviour(&self) -> bool {
        !self.kinds.is_empty() || self.basket
    }
}

/// Builds the view of `contact`, whose record the caller has read, with
/// only the reads that `needs` requires.
pub async fn view(
    store: &dyn Store,
    contact: ContactId,
    record: ContactRecord,
    needs: &Needs,
    now: Millis,
) -> Result<ContactView, StoreError> {
    let push_subscriptions = if needs.push { store.push_subscriptions(contact).await?.len() } else { 0 };
    let behaviour = if needs.behaviour() { behaviour(store, contact, needs, now).await? } else { Behaviour::default() };
    ContactView::new(record, push_subscriptions, behaviour)
}

/// Reads the activities younger than the lookback, the newest time of each
/// named type and, when needed, the basket.
async fn behaviour(store: &dyn Store, contact: ContactId, needs: &Needs, now: Millis) -> Result<Behaviour, StoreError> {
    let sources = store.sources(contact).await?;
    let lookback_start = now.saturating_sub(needs.lookback);

    let mut recent = Vec::new();
    if needs.lookback > 0 {
        let mut query = ActivityQuery { kinds: needs.kinds.clone(), limit: PAGE, ..ActivityQuery::default() };
        'pages: loop {
            let page = store.activities(&sources, &query).await?;
            for stored in page.items {
                if stored.activity.at <= lookback_start {
                    break 'pages;
                }
                recent.push(stored.activity);
            }
            match page.next {
                Some(next) => query.before = Some(next),
                None => break,
            }
        }
    }

    // The counters tell which types ever happened, so a type with none
    // costs no timeline read.
    let mut last_at = std::collections::BTreeMap::new();
    for activity in &recent {
        let newest = last_at.entry(activity.kind).or_insert(activity.at);
        *newest = (*newest).max(activity.at);
    }
    let missing: Vec<ActivityKind> = needs.kinds.iter().filter(|kind| !last_at.contains_key(kind)).copied().collect();
    let counters = if missing.is_empty() { Default::default() } else { store.counters(&sources).await? };
    for kind in &missing {
        if counters.get(kind).copied().unwrap_or(0) == 0 {
            continue;
        }
        let query = ActivityQuery { kinds: BTreeSet::from([*kind]), limit: 1, ..ActivityQuery::default() };
        if let Some(newest) = store.activities(&sources, &query).await?.items.first() {
            last_at.insert(*kind, newest.activity.at);
        }
    }

    let basket = if needs.basket { crate::ecommerce::summarise(store, &sources).await?.basket } else { None };
    Ok(Behaviour { recent, last_at, basket })
}
