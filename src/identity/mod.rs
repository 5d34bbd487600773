//! Identity: which contact a browser belongs to, identification by email,
//! and merging an anonymous contact into a registered one.
//!
//! The rules, built on the store's small idempotent operations:
//!
//! - A browser becomes a contact the first time it returns its tracker
//!   cookie (or on a successful login); until then its activity is pending
//!   and expires, so cookie-less clients leave no contacts behind.
//! - Identifying an anonymous contact with an email nobody owns makes it
//!   registered. Identifying it with an email a registered contact owns
//!   merges it into that contact (see [`merge`]).
//! - Two registered contacts are never merged: when a second person logs in
//!   on a shared browser, the browser's tracker moves to that person and
//!   nothing else moves. Activity recorded earlier stays with whoever the
//!   tracker was bound to at the time, because each binding has its own
//!   activity stream.
//! - Junk identities (`null`, `undefined`, invalid addresses) never
//!   identify anyone.

mod customer_id;
mod email;
mod erase;
mod fields;
mod identify;
mod merge;
mod phone;

use std::sync::Arc;

pub use customer_id::{normalise_customer_id, CustomerIdError, MAX_CUSTOMER_ID_CHARS};
pub use email::normalise_email;
pub use erase::Erased;
pub use fields::{FieldChange, FieldWriteError, UniqueChange};
pub use identify::{Identified, IdentityKey};
pub use phone::{normalise_phone, PhoneCountry};

use crate::recorder::Browser;
use crate::store::{ContactId, ContactRecord, Millis, Source, Store, StoreError};

/// Merge pointers followed at most, a guard against a corrupted cycle.
const MAX_MERGE_HOPS: usize = 16;

/// Identity operations over a store.
#[derive(Clone)]
pub struct Identity {
    store: Arc<dyn Store>,
}

impl Identity {
    pub fn new(store: Arc<dyn Store>) -> Identity {
        Identity { store }
    }

    /// Follows merge pointers from `contact` and returns the live contact
    /// with its record, or `None` when the contact does not exist.
    pub async fn resolve(&self, contact: ContactId) -> Result<Option<(ContactId, ContactRecord)>, StoreError> {
        let mut current = contact;
        for _ in 0..MAX_MERGE_HOPS {
            let Some(record) = self.store.contact(current).await? else {
                return Ok(None);
            };
            match record.merged_into {
                Some(next) if next != current => current = next,
                _ => return Ok(Some((current, record))),
            }
        }
        Err(StoreError::Corrupt {
            what: "merge pointers",
            reason: format!("more than {MAX_MERGE_HOPS} hops from {contact}"),
        })
    }

    /// Returns the contact of a browser, following merges (and re-pointing
    /// the tracker at the survivor when it still points at a merged
    /// contact). An unbound tracker is bound to a new anonymous contact when
    /// `confirm` is true and left pending (`None`) otherwise.
    pub async fn contact_for(
        &self,
        browser: &Browser,
        confirm: bool,
        at: Millis,
    ) -> Result<Option<ContactId>, StoreError> {
        let tracker = browser.tracker;
        for _ in 0..3 {
            let bound = self.store.tracker_contact(tracker).await?;
            let live = match bound {
                Some(bound) => self.resolve(bound).await?.map(|(live, _)| live),
                None => None,
            };

            match (bound, live) {
                (Some(bound), Some(live)) if bound == live => return Ok(Some(live)),
                (Some(bound), Some(live)) => {
                    self.store.bind_tracker(tracker, live, Some(bound)).await?;
                }
                (bound, _) if confirm => {
                    // Unbound, or bound to a contact that no longer exists
                    // (erased): the browser starts a fresh anonymous contact.
                    let fresh = ContactId::new();
                    if self.store.bind_tracker(tracker, fresh, bound).await? {
                        self.store.touch(fresh, Source::Tracker { tracker, contact: fresh }, at).await?;
                        metrics::counter!("footprint_contacts_created_total", "reason" => "browser").increment(1);
                        return Ok(Some(fresh));
                    }
                }
                _ => return Ok(None),
            }
        }
        Err(StoreError::Corrupt { what: "tracker binding", reason: format!("tracker {tracker} kept changing") })
    }
}
