//! Consents given on a shop form, as captured by a field-capture plugin.
//!
//! A form consent sets the newsletter or SMS subscription with the consent
//! source `form` and the form's route, and records the same
//! `newsletter_subscription` or `sms_subscription` activity as a staff
//! edit. A consent that matches the current status changes nothing, so a
//! visitor who submits the same form twice keeps the first consent's date.
//! Unsubscribing a contact that never subscribed stores `unsubscribed`,
//! because the form recorded an explicit opt-out.

use super::{update, Applied, Consent, ConsentSource, Decision, StatusError, Subscription, SubscriptionRecord};
use crate::identity::Identity;
use crate::store::{ActivityKind, ContactId, Millis, Store};

/// A channel a form can subscribe the visitor to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormChannel {
    Newsletter,
    Sms,
}

/// One consent given on a form: subscribe (`true`) or unsubscribe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormConsent {
    pub channel: FormChannel,
    pub subscribed: bool,
}

/// Applies `consents`, given on the form at `route`, to `contact`. When one
/// channel appears several times, the last consent wins.
pub async fn apply_form_consents(
    store: &dyn Store,
    identity: &Identity,
    contact: ContactId,
    consents: &[FormConsent],
    route: &str,
    at: Millis,
) -> Result<Applied, StatusError> {
    update(store, identity, contact, at, |_record, current| {
        let mut statuses = current.clone();
        let mut activities = Vec::new();

        for consent in consents {
            let requested = if consent.subscribed { Subscription::Subscribed } else { Subscription::Unsubscribed };
            let (record, kind) = match consent.channel {
                FormChannel::Newsletter => (&mut statuses.newsletter, ActivityKind::NewsletterSubscription),
                FormChannel::Sms => (&mut statuses.sms, ActivityKind::SmsSubscription),
            };
            if super::status_of(record.as_ref()) == requested {
                continue;
            }

            let form_consent = Consent { at, source: ConsentSource::Form, by: None, form: Some(route.to_owned()) };
            let mut activity = super::events::subscription_activity(requested, &form_consent);
            activity.kind = kind;
            activities.push(activity);
            *record = Some(SubscriptionRecord { status: requested, consent: form_consent });
        }
        Ok(Decision { statuses, activities })
    })
    .await
}
