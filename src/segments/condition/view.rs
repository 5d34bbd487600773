//! The contact data that evaluating a condition reads.
//!
//! The view is plain data, so evaluation is pure and the same view can be
//! evaluated at several moments. It contains (`segments::reads` reads it):
//!
//! - the contact's record (profile fields and status entries);
//! - the number of push subscriptions;
//! - the activities of the types the condition names
//!   ([`super::Condition::activity_kinds`]) that are younger than
//!   [`super::Condition::lookback`], read newest first from the timeline;
//! - the time of the newest activity of each type the condition names,
//!   whatever its age, for `since_last` terms. The per-type counters
//!   ([`crate::store::Store::counters`]) tell which types ever happened,
//!   so the timeline is read further back only for those;
//! - the basket as [`crate::ecommerce::summarise_activities`] derives it
//!   from the cart updates since the newest purchase (all of them when the
//!   contact never bought), which retention bounds.
//!
//! A view built with a shorter lookback than the condition needs gives
//! wrong counts, because activities missing from it count as absent. A
//! type missing from `last_at` reads as never having happened.

use std::collections::BTreeMap;

use crate::ecommerce::Basket;
use crate::status::{self, ChannelStatus, Statuses, Subscription};
use crate::store::{Activity, ActivityKind, ContactRecord, Millis, StoreError};

/// One contact's data as conditions read it.
#[derive(Clone, Debug, Default)]
pub struct ContactView {
    pub record: ContactRecord,
    pub statuses: Statuses,
    pub push_subscriptions: usize,
    pub behaviour: Behaviour,
}

/// The contact's recent behaviour.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Activities inside the lookback, in any order.
    pub recent: Vec<Activity>,
    /// The time of the newest activity of each type, whatever its age. A
    /// type without an entry never happened.
    pub last_at: BTreeMap<ActivityKind, Millis>,
    /// The current basket; `None` when empty.
    pub basket: Option<Basket>,
}

impl ContactView {
    /// Builds a view, decoding the status entries of `record`.
    pub fn new(record: ContactRecord, push_subscriptions: usize, behaviour: Behaviour) -> Result<Self, StoreError> {
        let statuses = Statuses::of(&record)?;
        Ok(ContactView { record, statuses, push_subscriptions, behaviour })
    }

    /// Returns the stored text of a profile field, or `None` when it is
    /// missing or blank.
    pub fn field(&self, storage_name: &str) -> Option<&str> {
        self.record.fields.get(storage_name).map(|value| value.trim()).filter(|value| !value.is_empty())
    }

    /// Returns the email status of the contact's current address, as the
    /// admin API shows it.
    pub fn email_status(&self) -> ChannelStatus {
        let address = status::current_address(&self.record);
        self.statuses.email_status(address.as_deref())
    }

    pub fn newsletter(&self) -> Subscription {
        status::status_of(self.statuses.newsletter.as_ref())
    }

    pub fn cellphone_status(&self) -> ChannelStatus {
        self.statuses.cellphone_hold.into()
    }

    pub fn sms(&self) -> Subscription {
        status::status_of(self.statuses.sms.as_ref())
    }
}

impl Behaviour {
    /// Summarises activities given newest first, as a timeline read returns
    /// them: keeps those younger than `lookback` at `now`, the newest time of
    /// every type, and the basket.
    ///
    /// The basket is derived from the activities given, so they must reach
    /// back to the newest purchase for it to be right.
    pub fn from_newest_first(newest_first: &[Activity], now: Millis, lookback: Millis) -> Behaviour {
        let mut last_at = BTreeMap::new();
        for activity in newest_first {
            let newest = last_at.entry(activity.kind).or_insert(activity.at);
            *newest = (*newest).max(activity.at);
        }

        let lookback_start = now.saturating_sub(lookback);
        let recent = newest_first.iter().filter(|activity| activity.at > lookback_start).cloned().collect();
        let basket = crate::ecommerce::summarise_activities(newest_first).basket;
        Behaviour { recent, last_at, basket }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activity(kind: ActivityKind, at: Millis, properties: &[(&str, &str)]) -> Activity {
        Activity {
            at,
            kind,
            url: String::new(),
            referrer: None,
            properties: properties.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    #[test]
    fn behaviour_keeps_lookback_and_newest_times() {
        let newest_first = [
            activity(ActivityKind::CartUpdate, 900, &[("product_id", "42")]),
            activity(ActivityKind::Login, 500, &[]),
            activity(ActivityKind::Purchase, 300, &[("amount", "10")]),
            activity(ActivityKind::Login, 100, &[]),
        ];

        let behaviour = Behaviour::from_newest_first(&newest_first, 1000, 500);

        let recent: Vec<Millis> = behaviour.recent.iter().map(|activity| activity.at).collect();
        assert_eq!(recent, vec![900]);
        assert_eq!(behaviour.last_at.get(&ActivityKind::Login), Some(&500));
        assert_eq!(behaviour.last_at.get(&ActivityKind::Purchase), Some(&300));
        assert_eq!(behaviour.last_at.get(&ActivityKind::Search), None);
        assert_eq!(behaviour.basket.map(|basket| basket.updated_at), Some(900));
    }

    #[test]
    fn view_decodes_statuses_and_blank_fields() {
        let mut record = ContactRecord::default();
        record.fields.insert("city".to_owned(), " ".to_owned());
        record.statuses.insert("cellphone".to_owned(), "paused".to_owned());

        let view = ContactView::new(record, 0, Behaviour::default()).expect("valid statuses");

        assert_eq!(view.field("city"), None);
        assert_eq!(view.cellphone_status(), ChannelStatus::Paused);
        assert_eq!(view.newsletter(), Subscription::NotSubscribed);

        let mut corrupt = ContactRecord::default();
        corrupt.statuses.insert("newsletter".to_owned(), "{".to_owned());
        assert!(ContactView::new(corrupt, 0, Behaviour::default()).is_err());
    }
}
