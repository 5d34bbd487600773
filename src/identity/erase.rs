//! Erasure (the GDPR right to be forgotten): a contact and everything
//! stored about it, gone.
//!
//! The steps run in an order that keeps a crash harmless: everything a
//! contact names in other slots (its browsers, index entries, activity
//! streams) goes before the contact's own record, which contains
//! those names. Repeating an interrupted erasure finds what is left and finishes.

use std::collections::BTreeSet;

use super::{normalise_email, Identity};
use crate::store::{ContactId, ContactRecord, IndexKind, Source, StoreError, TrackerId, CELLPHONE_FIELD, EMAIL_FIELD};

/// Counts of what an erasure removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// The live contact that was erased.
    pub contact: ContactId,
    /// Contacts that had been merged into it, erased with it.
    pub merged: usize,
    /// Browsers that were bound to it and now start afresh.
    pub trackers: usize,
    /// Activity streams deleted.
    pub sources: usize,
}

impl Identity {
    /// Erases the live contact `requested` resolves to, together with every
    /// contact merged into it, their activities, counters, index entries,
    /// segment memberships and browser bindings. Returns `None` when there is no such contact.
    ///
    /// A browser of the erased contact that comes back is a stranger: it
    /// starts a new anonymous contact with no history.
    ///
    /// NOTE: an activity that the writer resolved to the contact just before
    /// its browsers were forgotten can still be appended after its streams
    /// were deleted, leaving one orphan stream. Closing that window needs an
    /// erasure marker that the writer checks before appending.
    pub async fn erase(&self, requested: ContactId) -> Result<Option<Erased>, StoreError> {
        let Some((live, _)) = self.resolve(requested).await? else {
            return Ok(None);
        };
        let victims = self.with_merged(live).await?;
        let mut erased = Erased { contact: live, merged: victims.len() - 1, ..Erased::default() };

        // Browsers first, so that new activity starts a new contact instead
        // of landing on one being erased.
        let mut trackers = BTreeSet::new();
        for victim in &victims {
            trackers.extend(self.store.contact_trackers(*victim).await?);
            trackers.extend(self.store.sources(*victim).await?.into_iter().filter_map(|source| match source {
                Source::Tracker { tracker, .. } => Some(tracker),
                Source::Contact(_) => None,
            }));
        }
        erased.trackers = self.forget_trackers(&trackers, &victims).await?;

        for victim in &victims {
            if let Some(record) = self.store.contact(*victim).await? {
                for (kind, key) in index_keys(&record) {
                    self.store.release_index(kind, &key, *victim).await?;
                }
            }
            for source in self.store.sources(*victim).await? {
                self.store.delete_source(&source).await?;
                erased.sources += 1;
            }
        }

        for intent in self.store.pending_merges().await? {
            if victims.contains(&intent.from) || victims.contains(&intent.into) {
                self.store.finish_merge(intent).await?;
            }
        }

        // The live contact last: its merged set names the others.
        for victim in victims.iter().rev() {
            self.store.delete_contact(*victim).await?;
        }
        metrics::counter!("footprint_contacts_erased_total").increment(1);
        Ok(Some(erased))
    }

    /// Returns `live` followed by every contact merged into it, directly or
    /// through earlier merges.
    async fn with_merged(&self, live: ContactId) -> Result<Vec<ContactId>, StoreError> {
        let mut contacts = vec![live];
        let mut next = 0;
        while next < contacts.len() {
            for merged in self.store.merged_contacts(contacts[next]).await? {
                if !contacts.contains(&merged) {
                    contacts.push(merged);
                }
            }
            next += 1;
        }
        Ok(contacts)
    }

    /// Forgets each tracker bound to one of `contacts`; returns how many.
    async fn forget_trackers(
        &self,
        trackers: &BTreeSet<TrackerId>,
        contacts: &[ContactId],
    ) -> Result<usize, StoreError> {
        let mut forgotten = 0;
        for tracker in trackers {
            let Some(bound) = self.store.tracker_contact(*tracker).await? else {
                continue;
            };
            if contacts.contains(&bound) && self.store.forget_tracker(*tracker, bound).await? {
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }
}

/// Lists the unique index entries that a contact's fields claim.
fn index_keys(record: &ContactRecord) -> Vec<(IndexKind, String)> {
    let mut keys = Vec::new();
    if let Some(email) = record.fields.get(EMAIL_FIELD).and_then(|email| normalise_email(email)) {
        keys.push((IndexKind::Email, email));
    }
    if let Some(cellphone) = record.fields.get(CELLPHONE_FIELD).filter(|value| !value.is_empty()) {
        keys.push((IndexKind::Phone, cellphone.clone()));
    }
    keys
}
