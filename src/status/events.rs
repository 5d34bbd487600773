//! Email events reported by the shop's email provider: bounces,
//! deliveries, complaints and unsubscribes.
//!
//! The rules, for an event about address A of a contact whose current
//! email is E:
//!
//! - A hard bounce makes A `bounced`. A soft bounce adds one to A's
//!   temporary-bounce streak and makes A `bounced` once the streak reaches
//!   the threshold. A delivery resets the streak; it does not lift a
//!   bounce. These apply only when A is E: a bounce of an old address is
//!   recorded in the history and changes nothing.
//! - A complaint or an unsubscribe sets the newsletter to `unsubscribed`
//!   (consent source `email_event`) whatever the address, because the
//!   person opted out either way.
//! - Every event is recorded as an activity on the contact's own stream.
//!   Its properties never hold the address: the contact identifies it.
//!
//! NOTE: events apply in the order they arrive, not by their `at` time, so
//! a late delivery report resets a streak that newer bounces started.

use std::collections::BTreeMap;

use super::{update, Applied, BounceKind, Consent, Decision, StatusError, Subscription, SubscriptionRecord};
use crate::identity::Identity;
use crate::store::{Activity, ActivityKind, ContactId, Millis, Store};

/// Characters of a bounce reason kept at most.
const MAX_REASON_CHARS: usize = 500;

/// The type of an email event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailEventKind {
    HardBounce,
    SoftBounce,
    Delivery,
    Complaint,
    Unsubscribe,
}

impl EmailEventKind {
    pub const ALL: [EmailEventKind; 5] = [
        EmailEventKind::HardBounce,
        EmailEventKind::SoftBounce,
        EmailEventKind::Delivery,
        EmailEventKind::Complaint,
        EmailEventKind::Unsubscribe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailEventKind::HardBounce => "hard_bounce",
            EmailEventKind::SoftBounce => "soft_bounce",
            EmailEventKind::Delivery => "delivery",
            EmailEventKind::Complaint => "complaint",
            EmailEventKind::Unsubscribe => "unsubscribe",
        }
    }

    /// Parses the API's spelling.
    pub fn parse(text: &str) -> Option<EmailEventKind> {
        EmailEventKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One validated event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailEvent {
    /// The normalised address the event is about.
    pub address: String,
    pub kind: EmailEventKind,
    /// The provider's explanation, as sent.
    pub reason: Option<String>,
    pub at: Millis,
}

/// Applies `event` to `contact` (the owner of its address) and records it.
/// `soft_bounce_threshold` soft bounces in a row make an address bounced.
pub async fn apply_email_event(
    store: &dyn Store,
    identity: &Identity,
    contact: ContactId,
    event: &EmailEvent,
    soft_bounce_threshold: u32,
) -> Result<Applied, StatusError> {
    let reason = event.reason.as_deref().map(|reason| scrub_reason(reason, &event.address));

    update(store, identity, contact, event.at, |record, current| {
        let mut statuses = current.clone();
        let is_current = super::current_address(record).as_deref() == Some(event.address.as_str());
        let mut properties = BTreeMap::from([("current_address".to_owned(), is_current.to_string())]);
        if let Some(reason) = &reason {
            properties.insert("reason".to_owned(), reason.clone());
        }
        let mut activities = Vec::new();

        match event.kind {
            EmailEventKind::HardBounce | EmailEventKind::SoftBounce => {
                let kind = match event.kind {
                    EmailEventKind::HardBounce => BounceKind::HardBounce,
                    _ => BounceKind::SoftBounce,
                };
                if is_current {
                    let delivery = statuses.delivery_mut(&event.address);
                    delivery.last_bounce = Some(super::Bounce { kind, reason: reason.clone(), at: event.at });
                    if kind == BounceKind::SoftBounce {
                        delivery.temporary_bounces = delivery.temporary_bounces.saturating_add(1);
                    }
                    if kind == BounceKind::HardBounce || delivery.temporary_bounces >= soft_bounce_threshold {
                        delivery.bounced = true;
                    }
                }
                properties.insert("type".to_owned(), kind.as_str().to_owned());
                activities.push(activity(event.at, ActivityKind::EmailBounce, properties));
            }
            EmailEventKind::Delivery => {
                if is_current {
                    if let Some(delivery) = statuses.delivery.as_mut().filter(|d| d.address == event.address) {
                        delivery.temporary_bounces = 0;
                    }
                }
                activities.push(activity(event.at, ActivityKind::EmailDelivery, properties));
            }
            EmailEventKind::Complaint => {
                activities.push(activity(event.at, ActivityKind::EmailComplaint, properties));
                if let Some(change) = unsubscribe(&mut statuses.newsletter, event.at) {
                    activities.push(change);
                }
            }
            EmailEventKind::Unsubscribe => {
                // The event itself is the subscription change, recorded even
                // when the contact had already unsubscribed.
                let change = unsubscribe(&mut statuses.newsletter, event.at);
                let consent = Consent::email_event(event.at);
                activities.push(change.unwrap_or_else(|| subscription_activity(Subscription::Unsubscribed, &consent)));
            }
        }
        Ok(Decision { statuses, activities })
    })
    .await
}

/// Sets `newsletter` to unsubscribed unless it already is, and returns the
/// activity recording that change.
fn unsubscribe(newsletter: &mut Option<SubscriptionRecord>, at: Millis) -> Option<Activity> {
    if newsletter.as_ref().is_some_and(|record| record.status == Subscription::Unsubscribed) {
        return None;
    }
    let consent = Consent::email_event(at);
    let change = subscription_activity(Subscription::Unsubscribed, &consent);
    *newsletter = Some(SubscriptionRecord { status: Subscription::Unsubscribed, consent });
    Some(change)
}

/// Builds a `newsletter_subscription` activity for a change to `status`.
pub(super) fn subscription_activity(status: Subscription, consent: &Consent) -> Activity {
    let mut properties = BTreeMap::from([("status".to_owned(), status.as_str().to_owned())]);
    consent.describe(&mut properties);
    activity(consent.at, ActivityKind::NewsletterSubscription, properties)
}

pub(super) fn activity(at: Millis, kind: ActivityKind, properties: BTreeMap<String, String>) -> Activity {
    Activity { at, kind, url: String::new(), referrer: None, properties }
}

/// Cuts a provider's reason to [`MAX_REASON_CHARS`] and replaces the
/// address in it, which providers often quote (`550 <a@b.c>: no such
/// user`), so that activities and statuses never hold the address.
fn scrub_reason(reason: &str, address: &str) -> String {
    let pattern = regex::RegexBuilder::new(&regex::escape(address)).case_insensitive(true).build();
    let scrubbed = match pattern {
        Ok(pattern) => pattern.replace_all(reason.trim(), "<address>").into_owned(),
        // An escaped literal always compiles; should it not, the reason is
        // dropped rather than kept with the address in it.
        Err(_) => String::new(),
    };
    scrubbed.chars().take(MAX_REASON_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_loses_the_address_in_any_case() {
        let scrubbed = scrub_reason(" 550 5.1.1 <Ana@Example.com>: user unknown ", "ana@example.com");
        assert_eq!(scrubbed, "550 5.1.1 <<address>>: user unknown");
    }

    #[test]
    fn reason_is_cut_to_the_maximum() {
        let scrubbed = scrub_reason(&"x".repeat(2000), "ana@example.com");
        assert_eq!(scrubbed.chars().count(), MAX_REASON_CHARS);
    }

    #[test]
    fn event_kinds_parse_their_own_names() {
        for kind in EmailEventKind::ALL {
            assert_eq!(EmailEventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EmailEventKind::parse("bounce"), None);
    }
}
