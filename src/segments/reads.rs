//! The store reads that build a [`ContactView`] for a set of conditions.
//!
//! [`Needs`] unites what every loaded condition reads, so one view serves
//! all segments of a contact change. Conditions on fields and statuses
//! need only the contact's record, which the caller has already read. Push
//! terms need the number of push subscriptions, which [`view`] reads and
//! [`view_with`] takes from the caller. Behaviour terms add one walk of
//! the timeline, bounded by the largest `lookback` (see `condition::view`
//! for the contract).

use std::collections::{BTreeMap, BTreeSet};

use super::condition::{Behaviour, Condition, ContactView};
use crate::store::{
    Activity, ActivityKind, ActivityQuery, ContactId, ContactRecord, Millis, Source, Store, StoreError,
};

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
    let sources = if needs.behaviour() { store.sources(contact).await? } else { Vec::new() };
    view_with(store, record, push_subscriptions, &sources, needs, now).await
}

/// Builds a view from the parts of [`crate::store::ContactSnapshot`] that
/// the caller has read, adding the activity reads that `needs` requires.
pub async fn view_with(
    store: &dyn Store,
    record: ContactRecord,
    push_subscriptions: usize,
    sources: &[Source],
    needs: &Needs,
    now: Millis,
) -> Result<ContactView, StoreError> {
    let behaviour = if needs.behaviour() { behaviour(store, sources, needs, now).await? } else { Behaviour::default() };
    ContactView::new(record, if needs.push { push_subscriptions } else { 0 }, behaviour)
}

/// Reads the activities younger than the lookback, the newest time of each
/// named type and, when needed, the basket, in one walk of the timeline
/// newest first. A first page that reaches the end of the timeline settles
/// everything, which is one read for most contacts. Otherwise the
/// counters, read once, tell which types ever happened, so the walk stops
/// as soon as no older activity can change the view.
async fn behaviour(store: &dyn Store, sources: &[Source], needs: &Needs, now: Millis) -> Result<Behaviour, StoreError> {
    let mut query = ActivityQuery { kinds: needs.kinds.clone(), limit: PAGE, ..ActivityQuery::default() };
    let mut page = store.activities(sources, &query).await?;
    let mut walk = Walk::new(needs, now.saturating_sub(needs.lookback));
    let mut counters = None;

    loop {
        for stored in page.items {
            walk.add(stored.activity);
        }
        let Some(next) = page.next else {
            break;
        };
        let counters = match &counters {
            Some(counters) => counters,
            None => counters.insert(store.counters(sources).await?),
        };
        if walk.is_complete(counters) {
            break;
        }
        query.before = Some(next);
        page = store.activities(sources, &query).await?;
    }
    Ok(walk.finish())
}

/// The state of a timeline walk, newest first, over the types that
/// `needs` names.
struct Walk<'a> {
    needs: &'a Needs,
    lookback_start: Millis,
    /// Activities before the first one at or before `lookback_start`. The
    /// walk follows stream order, so an activity stored later with an older
    /// time ends the window early, as it always has.
    recent: Vec<Activity>,
    window_closed: bool,
    /// The time of the first activity of each type met in the walk.
    first_at: BTreeMap<ActivityKind, Millis>,
    /// Purchases and cart updates up to and including the newest purchase,
    /// which is all the basket depends on.
    basket_activities: Vec<Activity>,
    purchase_seen: bool,
    cart_updates_seen: u64,
}

impl<'a> Walk<'a> {
    fn new(needs: &'a Needs, lookback_start: Millis) -> Walk<'a> {
        Walk {
            needs,
            lookback_start,
            recent: Vec::new(),
            window_closed: needs.lookback == 0,
            first_at: BTreeMap::new(),
            basket_activities: Vec::new(),
            purchase_seen: false,
            cart_updates_seen: 0,
        }
    }

    fn add(&mut self, activity: Activity) {
        self.first_at.entry(activity.kind).or_insert(activity.at);

        let basket_kind = matches!(activity.kind, ActivityKind::Purchase | ActivityKind::CartUpdate);
        if self.needs.basket && basket_kind && !self.purchase_seen {
            self.purchase_seen = activity.kind == ActivityKind::Purchase;
            self.cart_updates_seen += u64::from(activity.kind == ActivityKind::CartUpdate);
            self.basket_activities.push(activity.clone());
        }

        if !self.window_closed {
            if activity.at <= self.lookback_start {
                self.window_closed = true;
            } else {
                self.recent.push(activity);
            }
        }
    }

    /// Returns true when no older activity can change the view. That is the
    /// case once the window is closed and the newest activity of every type
    /// that ever happened (by `counters`) is found. With a basket term, the
    /// walk must also have met a purchase or every cart update counted.
    fn is_complete(&self, counters: &BTreeMap<ActivityKind, u64>) -> bool {
        let count = |kind: &ActivityKind| counters.get(kind).copied().unwrap_or(0);
        let times_found = self.needs.kinds.iter().all(|kind| self.first_at.contains_key(kind) || count(kind) == 0);
        let cart_updates = count(&ActivityKind::CartUpdate);
        let basket_settled = !self.needs.basket || self.purchase_seen || self.cart_updates_seen >= cart_updates;
        self.window_closed && times_found && basket_settled
    }

    fn finish(self) -> Behaviour {
        // Inside the window the newest time of a type is the largest there,
        // because stream order and activity times may differ. Outside it,
        // the newest time is that of the first activity met.
        let mut last_at = BTreeMap::new();
        for activity in &self.recent {
            let newest = last_at.entry(activity.kind).or_insert(activity.at);
            *newest = (*newest).max(activity.at);
        }
        for (kind, at) in &self.first_at {
            last_at.entry(*kind).or_insert(*at);
        }

        let basket = if self.needs.basket {
            crate::ecommerce::summarise_activities(&self.basket_activities).basket
        } else {
            None
        };
        Behaviour { recent: self.recent, last_at, basket }
    }
}
