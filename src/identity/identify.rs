//! Identification: binding a browser to the contact that owns an email.

use std::collections::BTreeMap;

use super::{normalise_email, Identity};
use crate::recorder::Browser;
use crate::store::{Activity, ContactId, IndexKind, MergeIntent, Source, StoreError};

/// What an identification did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identified {
    /// The value was junk; the activity was recorded without identifying.
    Junk,
    /// The browser's contact already owned the email (a replayed login).
    Unchanged(ContactId),
    /// The anonymous contact became registered, or a new registered
    /// contact was created for the browser.
    Registered(ContactId),
    /// The browser's anonymous contact was merged into the owner.
    Merged { from: ContactId, into: ContactId },
    /// The browser moved from another registered contact (or from no
    /// contact) to the owner; nothing was merged.
    Switched(ContactId),
}

impl Identified {
    /// The contact the browser belongs to afterwards.
    pub fn contact(self) -> Option<ContactId> {
        match self {
            Identified::Junk => None,
            Identified::Unchanged(id) | Identified::Registered(id) | Identified::Switched(id) => Some(id),
            Identified::Merged { into, .. } => Some(into),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Identified::Junk => "junk",
            Identified::Unchanged(_) => "unchanged",
            Identified::Registered(_) => "registered",
            Identified::Merged { .. } => "merged",
            Identified::Switched(_) => "switched",
        }
    }
}

impl Identity {
    /// Applies a successful login or registration of `browser` as the owner
    /// of `email`, then records `activity` on the resulting contact.
    ///
    /// Repeating the same call changes no binding, field or index; it only
    /// records the activity again, as a real second login would.
    pub async fn identify(&self, browser: &Browser, email: &str, activity: Activity) -> Result<Identified, StoreError> {
        let outcome = match normalise_email(email) {
            Some(key) => self.bind_identity(browser, email.trim(), &key, activity.at).await?,
            None => Identified::Junk,
        };
        metrics::counter!("footprint_identify_total", "outcome" => outcome.label()).increment(1);

        let contact = match outcome.contact() {
            Some(contact) => Some(contact),
            None => self.contact_for(browser, true, activity.at).await?,
        };
        if let Some(contact) = contact {
            let source = Source::Tracker { tracker: browser.tracker, contact };
            self.store.append_activities(&[(source, activity)]).await?;
        }
        tracing::debug!(tracker.id = %browser.tracker, outcome = outcome.label(), "identified browser");
        Ok(outcome)
    }

    /// Decides and applies the binding. Retries when another writer claims
    /// the email or binds the tracker concurrently.
    async fn bind_identity(
        &self,
        browser: &Browser,
        typed: &str,
        key: &str,
        at: i64,
    ) -> Result<Identified, StoreError> {
        let tracker = browser.tracker;
        for _ in 0..3 {
            let bound = self.store.tracker_contact(tracker).await?;
            let current = match bound {
                Some(bound) => self.resolve(bound).await?,
                None => None,
            };
            let owner = match self.store.index_lookup(IndexKind::Email, key).await? {
                Some(owner) => self.resolve(owner).await?.map(|(live, _)| live),
                None => None,
            };

            let outcome = match (owner, current) {
                (Some(owner), Some((current, _))) if owner == current => Identified::Unchanged(owner),
                (Some(owner), Some((_, record))) if record.is_registered() => {
                    if !self.store.bind_tracker(tracker, owner, bound).await? {
                        continue;
                    }
                    Identified::Switched(owner)
                }
                (Some(owner), Some((current, _))) => {
                    // The merge writes its intent before anything moves and
                    // re-points the anonymous contact's trackers; this one
                    // may still point at an older merged id.
                    self.merge(MergeIntent { from: current, into: owner }, at).await?;
                    let now_bound = self.store.tracker_contact(tracker).await?;
                    if now_bound != Some(owner) && !self.store.bind_tracker(tracker, owner, now_bound).await? {
                        continue;
                    }
                    Identified::Merged { from: current, into: owner }
                }
                (Some(owner), None) => {
                    if !self.store.bind_tracker(tracker, owner, bound).await? {
                        continue;
                    }
                    Identified::Switched(owner)
                }
                (None, Some((current, record))) if !record.is_registered() => {
                    if self.store.claim_index(IndexKind::Email, key, current).await? != current {
                        continue;
                    }
                    Identified::Registered(current)
                }
                (None, _) => {
                    let fresh = ContactId::new();
                    if self.store.claim_index(IndexKind::Email, key, fresh).await? != fresh {
                        continue;
                    }
                    self.store.touch(fresh, Source::Contact(fresh), at).await?;
                    metrics::counter!("footprint_contacts_created_total", "reason" => "identify").increment(1);
                    if !self.store.bind_tracker(tracker, fresh, bound).await? {
                        continue;
                    }
                    Identified::Registered(fresh)
                }
            };

            // Also repairs a contact whose index claim landed before a crash
            // and whose email field did not.
            if let Some(contact) = outcome.contact() {
                let email = BTreeMap::from([("email".to_owned(), typed.to_owned())]);
                self.store.set_fields(contact, &email, true, at).await?;
            }
            return Ok(outcome);
        }
        Err(StoreError::Corrupt {
            what: "identity",
            reason: "the email or tracker kept changing during identification".to_owned(),
        })
    }
}
