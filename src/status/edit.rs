//! Status changes made by staff: the `statuses` JSON object of the admin
//! API, validated as a whole before anything is written.
//!
//! The object has any subset of `email` (`active`, `blocked`, `paused`),
//! `newsletter` and `sms` (`subscribed`, `unsubscribed`, `not_subscribed`)
//! and `cellphone` (`active`, `blocked`, `paused`). `bounced` is never
//! accepted: only bounce events set it, and setting `email` to `active`
//! clears a bounce of the current address. `not_subscribed` means "never
//! subscribed", so it is accepted only where it changes nothing.
//!
//! Any handler that receives such an object can call
//! [`StatusChanges::from_json`] and [`apply_changes`].

use std::fmt;

use serde_json::Value;

use super::{update, Applied, ChannelStatus, Consent, Decision, Hold, StatusError, Subscription, SubscriptionRecord};
use crate::identity::Identity;
use crate::store::{Activity, ActivityKind, ContactId, Millis, Store};

const CHANNEL_VALUES: &str = "active, blocked, paused";
const SUBSCRIPTION_VALUES: &str = "subscribed, unsubscribed, not_subscribed";
const MEMBERS: &str = "email, newsletter, cellphone, sms";

/// A rejected status change, naming the member at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{member}: {detail}")]
pub struct InvalidStatus {
    /// The JSON member (`email`, `newsletter`, ...), or `body` for the
    /// object as a whole.
    pub member: String,
    pub detail: String,
}

impl InvalidStatus {
    fn new(member: &str, detail: impl fmt::Display) -> InvalidStatus {
        InvalidStatus { member: member.to_owned(), detail: detail.to_string() }
    }
}

/// Validated status changes; `None` leaves a block as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusChanges {
    /// `None` inside: `active`.
    pub email: Option<Option<Hold>>,
    pub newsletter: Option<Subscription>,
    /// `None` inside: `active`.
    pub cellphone: Option<Option<Hold>>,
    pub sms: Option<Subscription>,
}

impl StatusChanges {
    /// Validates a `statuses` object. Every member is checked before any is
    /// used, and the first invalid one is reported.
    pub fn from_json(value: &Value) -> Result<StatusChanges, InvalidStatus> {
        let Value::Object(members) = value else {
            return Err(InvalidStatus::new("body", format!("expected a JSON object with any of {MEMBERS}")));
        };
        if members.is_empty() {
            return Err(InvalidStatus::new("body", format!("no status given; send any of {MEMBERS}")));
        }

        let mut changes = StatusChanges::default();
        for (name, value) in members {
            let text = |accepted: &str| {
                value.as_str().ok_or_else(|| InvalidStatus::new(name, format!("expected a string: one of {accepted}")))
            };
            match name.as_str() {
                "email" => changes.email = Some(parse_email(text(CHANNEL_VALUES)?)?),
                "cellphone" => changes.cellphone = Some(parse_channel(name, text(CHANNEL_VALUES)?)?),
                "newsletter" | "sms" => {
                    let subscription = parse_subscription(name, text(SUBSCRIPTION_VALUES)?)?;
                    if name == "sms" {
                        changes.sms = Some(subscription);
                    } else {
                        changes.newsletter = Some(subscription);
                    }
                }
                _ => return Err(InvalidStatus::new(name, format!("unknown status; expected any of {MEMBERS}"))),
            }
        }
        Ok(changes)
    }
}

fn parse_email(text: &str) -> Result<Option<Hold>, InvalidStatus> {
    if text == ChannelStatus::Bounced.as_str() {
        return Err(InvalidStatus::new(
            "email",
            format!("`bounced` follows bounce events and cannot be set by hand; expected one of {CHANNEL_VALUES}"),
        ));
    }
    parse_channel("email", text)
}

fn parse_channel(member: &str, text: &str) -> Result<Option<Hold>, InvalidStatus> {
    if text == ChannelStatus::Active.as_str() {
        return Ok(None);
    }
    Hold::parse(text)
        .map(Some)
        .ok_or_else(|| InvalidStatus::new(member, format!("unknown status {text:?}; expected one of {CHANNEL_VALUES}")))
}

fn parse_subscription(member: &str, text: &str) -> Result<Subscription, InvalidStatus> {
    [Subscription::Subscribed, Subscription::Unsubscribed, Subscription::NotSubscribed]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| {
            InvalidStatus::new(member, format!("unknown status {text:?}; expected one of {SUBSCRIPTION_VALUES}"))
        })
}

/// Applies staff `changes` to `contact` as the admin token named `by`, at
/// `at`, recording one activity per block that changed: `admin_edit` for
/// the email and cellphone, `newsletter_subscription` and
/// `sms_subscription` for the subscriptions.
pub async fn apply_changes(
    store: &dyn Store,
    identity: &Identity,
    contact: ContactId,
    changes: &StatusChanges,
    by: &str,
    at: Millis,
) -> Result<Applied, StatusError> {
    update(store, identity, contact, at, |record, current| {
        let mut statuses = current.clone();
        let mut activities = Vec::new();
        let address = super::current_address(record);

        if let Some(hold) = changes.email {
            let before = current.email_status(address.as_deref());
            statuses.email_hold = hold;
            // `active` also lifts a bounce of the current address; a bounce
            // of an old address is already ignored.
            if hold.is_none() {
                if let Some(address) = &address {
                    if let Some(delivery) = statuses.delivery.as_mut().filter(|d| &d.address == address) {
                        delivery.bounced = false;
                        delivery.temporary_bounces = 0;
                    }
                }
            }
            let after = statuses.email_status(address.as_deref());
            if before != after || statuses.delivery != current.delivery {
                activities.push(edit_activity("email", after, by, at));
            }
        }

        if let Some(hold) = changes.cellphone {
            statuses.cellphone_hold = hold;
            if hold != current.cellphone_hold {
                activities.push(edit_activity("cellphone", hold.into(), by, at));
            }
        }

        if let Some(requested) = changes.newsletter {
            let kind = ActivityKind::NewsletterSubscription;
            if let Some(activity) = subscribe(&mut statuses.newsletter, "newsletter", requested, kind, by, at)? {
                activities.push(activity);
            }
        }
        if let Some(requested) = changes.sms {
            let kind = ActivityKind::SmsSubscription;
            if let Some(activity) = subscribe(&mut statuses.sms, "sms", requested, kind, by, at)? {
                activities.push(activity);
            }
        }
        Ok(Decision { statuses, activities })
    })
    .await
}

/// Sets a subscription to `requested` with an admin consent and returns the
/// activity recording the change, or `None` when it is already `requested`.
fn subscribe(
    record: &mut Option<SubscriptionRecord>,
    member: &str,
    requested: Subscription,
    kind: ActivityKind,
    by: &str,
    at: Millis,
) -> Result<Option<Activity>, StatusError> {
    if super::status_of(record.as_ref()) == requested {
        return Ok(None);
    }
    if requested == Subscription::NotSubscribed {
        let detail = "`not_subscribed` means never subscribed and cannot replace a subscription record; \
                      send `unsubscribed`";
        return Err(InvalidStatus::new(member, detail).into());
    }

    let consent = Consent::admin(by, at);
    let mut activity = super::events::subscription_activity(requested, &consent);
    activity.kind = kind;
    *record = Some(SubscriptionRecord { status: requested, consent });
    Ok(Some(activity))
}

fn edit_activity(member: &str, status: ChannelStatus, by: &str, at: Millis) -> Activity {
    let properties = [("by", by), (member, status.as_str())]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    super::events::activity(at, ActivityKind::AdminEdit, properties)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_accept_any_subset() {
        let changes = StatusChanges::from_json(&json!({"email": "paused", "sms": "subscribed"})).expect("valid");
        assert_eq!(changes.email, Some(Some(Hold::Paused)));
        assert_eq!(changes.sms, Some(Subscription::Subscribed));
        assert_eq!(changes.newsletter, None);
        assert_eq!(changes.cellphone, None);
    }

    #[test]
    fn changes_name_the_invalid_member() {
        let cases = [
            (json!({"email": "bounced"}), "email"),
            (json!({"email": "gone"}), "email"),
            (json!({"newsletter": "yes"}), "newsletter"),
            (json!({"sms": true}), "sms"),
            (json!({"cellphone": "bounced"}), "cellphone"),
            (json!({"email": "active", "fax": "active"}), "fax"),
            (json!({}), "body"),
            (json!(["email"]), "body"),
        ];
        for (body, member) in cases {
            let error = StatusChanges::from_json(&body).expect_err("invalid");
            assert_eq!(error.member, member, "{body}");
        }
    }

    #[test]
    fn rejection_lists_accepted_values() {
        let error = StatusChanges::from_json(&json!({"newsletter": "maybe"})).expect_err("invalid");
        assert!(error.detail.contains(SUBSCRIPTION_VALUES), "{}", error.detail);
    }
}
