//! Identification: binding a browser to the contact that owns an email.

use std::collections::BTreeMap;

use super::{normalise_email, Identity};
use crate::recorder::Browser;
use crate::store::{Activity, ContactId, IndexKind, MergeIntent, Millis, Source, StoreError, EMAIL_FIELD};

/// A value that identifies a contact through one of the unique indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityKey {
    pub kind: IndexKind,
    /// The normalised match key: a lowercased email, an E.164 phone, or the
    /// customer id as the shop sent it.
    pub key: String,
    /// The profile field set on the identified contact, with its value as
    /// stored; `None` keeps the value in the index only.
    pub field: Option<(&'static str, String)>,
}

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
        let key = normalise_email(email).map(|key| IdentityKey {
            kind: IndexKind::Email,
            key,
            field: Some((EMAIL_FIELD, email.trim().to_owned())),
        });
        let at = activity.at;
        self.identify_by(browser, key, at, Some(activity)).await
    }

    /// Applies a proof that `browser` belongs to the owner of `key` in its
    /// unique index, the same way [`Identity::identify`] does for an email,
    /// then records `activity` when given. A `None` key is a junk identity:
    /// the activity is recorded without identifying.
    pub async fn identify_by(
        &self,
        browser: &Browser,
        key: Option<IdentityKey>,
        at: Millis,
        activity: Option<Activity>,
    ) -> Result<Identified, StoreError> {
        let outcome = match &key {
            Some(key) => self.bind_identity(browser, key, at).await?,
            None => Identified::Junk,
        };
        let kind = key.as_ref().map_or("junk", |key| key.kind.as_str());
        metrics::counter!("footprint_identify_total", "outcome" => outcome.label(), "index" => kind).increment(1);

        let contact = match outcome.contact() {
            Some(contact) => Some(contact),
            None => self.contact_for(browser, true, at).await?,
        };
        if let (Some(contact), Some(activity)) = (contact, activity) {
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
        identity: &IdentityKey,
        at: i64,
    ) -> Result<Identified, StoreError> {
        let tracker = browser.tracker;
        let (kind, key) = (identity.kind, identity.key.as_str());
        for _ in 0..3 {
            let bound = self.store.tracker_contact(tracker).await?;
            let current = match bound {
                Some(bound) => self.resolve(bound).await?,
                None => None,
            };
            let owner = match self.store.index_lookup(kind, key).await? {
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
                    if self.store.claim_index(kind, key, current).await? != current {
                        continue;
                    }
                    Identified::Registered(current)
                }
                (None, _) => {
                    let fresh = ContactId::new();
                    if self.store.claim_index(kind, key, fresh).await? != fresh {
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
            // and whose field did not.
            if let (Some(contact), Some((name, value))) = (outcome.contact(), &identity.field) {
                let field = BTreeMap::from([((*name).to_owned(), value.clone())]);
                self.store.set_fields(contact, &field, true, at).await?;
            }
            return Ok(outcome);
        }
        Err(StoreError::Corrupt {
            what: "identity",
            reason: format!("the {} or tracker kept changing during identification", kind.as_str()),
        })
    }
}
