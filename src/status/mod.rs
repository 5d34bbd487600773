//! Contact statuses: the email block (staff holds and bounces), the
//! newsletter, the cellphone and the SMS subscription.
//!
//! Statuses are stored as entries in the contact's own record, apart from
//! profile fields (see [`crate::store::ContactRecord::statuses`]), one entry
//! per concern:
//!
//! | entry | value | absent means |
//! |---|---|---|
//! | `email` | `blocked` or `paused`, set by staff | no hold |
//! | `email_delivery` | JSON [`Delivery`]: address, bounced, temporary bounces, last bounce | no bounce reported |
//! | `newsletter` | JSON [`SubscriptionRecord`] | `not_subscribed` |
//! | `cellphone` | `blocked` or `paused`, set by staff | no hold |
//! | `sms` | JSON [`SubscriptionRecord`] | `not_subscribed` |
//!
//! Every change runs as read, decide, compare-and-update
//! ([`crate::store::Store::update_statuses`]): the decision is made on the
//! entries as read, and the store applies it only when they are still the
//! same, together with the activities that record it. A concurrent change
//! makes the decision run again on fresh data, so concurrent changes
//! neither overwrite nor repeat one another.
//!
//! Email events ([`apply_email_event`]), staff edits ([`apply_changes`])
//! and form consents captured by plugins ([`apply_form_consents`]) are the
//! ways in, and a merge fills missing subscriptions
//! ([`fill_subscriptions`]).

mod consent;
mod edit;
mod email;
mod events;
mod form;
mod merge;

use std::collections::BTreeMap;

pub use consent::{status_of, Consent, ConsentSource, Subscription, SubscriptionRecord};
pub use edit::{apply_changes, InvalidStatus, StatusChanges};
pub use email::{email_status, Bounce, BounceKind, ChannelStatus, Delivery, Hold};
pub use events::{apply_email_event, EmailEvent, EmailEventKind};
pub use form::{apply_form_consents, FormChannel, FormConsent};
pub use merge::fill_subscriptions;

use crate::identity::{normalise_email, Identity};
use crate::store::{Activity, ContactId, ContactRecord, Millis, StatusUpdate, Store, StoreError};

/// Entry names, as stored after the `s:` prefix on Redis.
const EMAIL: &str = "email";
const EMAIL_DELIVERY: &str = "email_delivery";
const NEWSLETTER: &str = "newsletter";
const CELLPHONE: &str = "cellphone";
const SMS: &str = "sms";
const ENTRIES: [&str; 5] = [EMAIL, EMAIL_DELIVERY, NEWSLETTER, CELLPHONE, SMS];

/// Maximum number of decisions per change before giving up. Each retry
/// means that another writer changed the same contact's statuses.
const MAX_ATTEMPTS: usize = 8;

/// Failures of a status change.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("contact store failed")]
    Store(#[from] StoreError),
    #[error("contact {0} does not exist")]
    NotFound(ContactId),
    #[error("statuses of contact {contact} changed during each of {attempts} attempts")]
    Contended { contact: ContactId, attempts: usize },
    #[error("invalid status change")]
    Invalid(#[from] InvalidStatus),
}

/// The statuses of one contact, decoded from its status entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statuses {
    pub email_hold: Option<Hold>,
    pub delivery: Option<Delivery>,
    pub newsletter: Option<SubscriptionRecord>,
    pub cellphone_hold: Option<Hold>,
    pub sms: Option<SubscriptionRecord>,
}

impl Statuses {
    /// Decodes the status entries of `record`. Entries of unknown names are
    /// ignored (written by a newer version); a known entry that does not
    /// decode is [`StoreError::Corrupt`].
    pub fn of(record: &ContactRecord) -> Result<Statuses, StoreError> {
        let entries = &record.statuses;
        let corrupt = |name: &str, reason: String| StoreError::Corrupt {
            what: "status entry",
            reason: format!("{name} of contact {}: {reason}", record.id.map(|id| id.to_string()).unwrap_or_default()),
        };
        let hold = |name: &str| -> Result<Option<Hold>, StoreError> {
            entries
                .get(name)
                .map(|text| Hold::parse(text).ok_or_else(|| corrupt(name, format!("unknown value {text:?}"))))
                .transpose()
        };
        fn json<T: serde::de::DeserializeOwned>(
            entries: &BTreeMap<String, String>,
            name: &str,
        ) -> Result<Option<T>, String> {
            entries.get(name).map(|text| serde_json::from_str(text).map_err(|error| error.to_string())).transpose()
        }

        Ok(Statuses {
            email_hold: hold(EMAIL)?,
            delivery: json(entries, EMAIL_DELIVERY).map_err(|reason| corrupt(EMAIL_DELIVERY, reason))?,
            newsletter: json(entries, NEWSLETTER).map_err(|reason| corrupt(NEWSLETTER, reason))?,
            cellphone_hold: hold(CELLPHONE)?,
            sms: json(entries, SMS).map_err(|reason| corrupt(SMS, reason))?,
        })
    }

    /// Encodes every known entry; `None` for an absent one.
    fn entries(&self) -> Result<BTreeMap<String, Option<String>>, StoreError> {
        fn json<T: serde::Serialize>(value: &Option<T>) -> Result<Option<String>, StoreError> {
            value
                .as_ref()
                .map(|value| {
                    serde_json::to_string(value).map_err(|error| StoreError::Corrupt {
                        what: "status entry",
                        reason: format!("encoding failed: {error}"),
                    })
                })
                .transpose()
        }

        Ok(BTreeMap::from([
            (EMAIL.to_owned(), self.email_hold.map(|hold| hold.as_str().to_owned())),
            (EMAIL_DELIVERY.to_owned(), json(&self.delivery)?),
            (NEWSLETTER.to_owned(), json(&self.newsletter)?),
            (CELLPHONE.to_owned(), self.cellphone_hold.map(|hold| hold.as_str().to_owned())),
            (SMS.to_owned(), json(&self.sms)?),
        ]))
    }

    /// Returns the delivery state when it belongs to `address`.
    pub fn delivery_for(&self, address: Option<&str>) -> Option<&Delivery> {
        self.delivery.as_ref().filter(|delivery| Some(delivery.address.as_str()) == address)
    }

    /// Returns the delivery state of `address`, replacing a state that
    /// belongs to another address with a clean one.
    fn delivery_mut(&mut self, address: &str) -> &mut Delivery {
        if self.delivery.as_ref().is_none_or(|delivery| delivery.address != address) {
            self.delivery = Some(Delivery::new(address));
        }
        self.delivery.get_or_insert_with(|| Delivery::new(address))
    }

    /// Returns the email status for the contact's current address.
    pub fn email_status(&self, current_address: Option<&str>) -> ChannelStatus {
        email_status(self.email_hold, self.delivery_for(current_address))
    }
}

/// Returns the normalised current email of `record`, the address that
/// bounce state must match to count.
pub fn current_address(record: &ContactRecord) -> Option<String> {
    record.fields.get("email").and_then(|email| normalise_email(email))
}

/// The statuses and activities a decision requests to store.
struct Decision {
    statuses: Statuses,
    activities: Vec<Activity>,
}

/// The result of an applied change.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The live contact the change was applied to (after merge pointers).
    pub contact: ContactId,
    /// The contact's record as read for the decision.
    pub record: ContactRecord,
    /// The statuses after the change.
    pub statuses: Statuses,
}

/// Runs `decide` on the current statuses of the live contact `contact`
/// resolves to and stores its outcome with a compare-and-update, deciding
/// again when another writer changed the statuses in between.
async fn update<F>(
    store: &dyn Store,
    identity: &Identity,
    contact: ContactId,
    at: Millis,
    mut decide: F,
) -> Result<Applied, StatusError>
where
    F: FnMut(&ContactRecord, &Statuses) -> Result<Decision, StatusError>,
{
    for _ in 0..MAX_ATTEMPTS {
        let (live, record) = identity.resolve(contact).await?.ok_or(StatusError::NotFound(contact))?;
        let current = Statuses::of(&record)?;

        let decision = decide(&record, &current)?;
        // The stored text, not a re-encoding, is what the store compares.
        let expected: BTreeMap<String, Option<String>> =
            ENTRIES.iter().map(|name| (name.to_string(), record.statuses.get(*name).cloned())).collect();
        let changes: BTreeMap<String, Option<String>> = decision
            .statuses
            .entries()?
            .into_iter()
            .filter(|(name, value)| expected.get(name) != Some(value))
            .collect();
        if changes.is_empty() && decision.activities.is_empty() {
            return Ok(Applied { contact: live, record, statuses: decision.statuses });
        }

        let update = StatusUpdate { expected, changes, activities: decision.activities, at };
        if store.update_statuses(live, &update).await? {
            return Ok(Applied { contact: live, record, statuses: decision.statuses });
        }
        tracing::debug!(contact.id = %live, "statuses changed concurrently; deciding again");
    }
    Err(StatusError::Contended { contact, attempts: MAX_ATTEMPTS })
}
