//! The email block: staff holds, delivery state bound to an address, and
//! the status shown for the contact's current address.
//!
//! Bounces belong to the address they were reported for. The delivery
//! state stores that address (normalised), and it counts only while the
//! contact's current email normalises to the same address. After the email
//! changes, the contact reads as not bounced with no temporary bounces, and
//! the old bounces stay in the activity history.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::store::Millis;

/// A status staff set by hand on an email address or a cellphone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// Receives nothing.
    Blocked,
    /// Temporarily receives nothing.
    Paused,
}

impl Hold {
    pub fn as_str(self) -> &'static str {
        match self {
            Hold::Blocked => "blocked",
            Hold::Paused => "paused",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Hold> {
        match text {
            "blocked" => Some(Hold::Blocked),
            "paused" => Some(Hold::Paused),
            _ => None,
        }
    }
}

/// The status of an email address or cellphone as the API shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    Active,
    /// Email only: the current address bounced.
    Bounced,
    Blocked,
    Paused,
}

impl ChannelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelStatus::Active => "active",
            ChannelStatus::Bounced => "bounced",
            ChannelStatus::Blocked => "blocked",
            ChannelStatus::Paused => "paused",
        }
    }
}

impl fmt::Display for ChannelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Option<Hold>> for ChannelStatus {
    fn from(hold: Option<Hold>) -> ChannelStatus {
        match hold {
            None => ChannelStatus::Active,
            Some(Hold::Blocked) => ChannelStatus::Blocked,
            Some(Hold::Paused) => ChannelStatus::Paused,
        }
    }
}

/// Whether a bounce was permanent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    HardBounce,
    SoftBounce,
}

impl BounceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BounceKind::HardBounce => "hard_bounce",
            BounceKind::SoftBounce => "soft_bounce",
        }
    }
}

/// One reported bounce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounce {
    #[serde(rename = "type")]
    pub kind: BounceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: Millis,
}

/// The delivery state of one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The normalised address this state belongs to.
    pub address: String,
    /// Set by a hard bounce or by reaching the soft-bounce threshold;
    /// cleared only by staff setting the email status to `active`.
    pub bounced: bool,
    /// Soft bounces since the last delivery.
    pub temporary_bounces: u32,
    pub last_bounce: Option<Bounce>,
}

impl Delivery {
    /// Creates a clean state for `address`.
    pub fn new(address: &str) -> Delivery {
        Delivery { address: address.to_owned(), bounced: false, temporary_bounces: 0, last_bounce: None }
    }
}

/// Returns the email status shown for a contact.
///
/// A staff hold is shown over a bounce, so that a hold staff set stays
/// visible; the bounce itself still shows in `last_bounce`. Without a hold,
/// a bounce of the current address reads `bounced`.
pub fn email_status(hold: Option<Hold>, delivery: Option<&Delivery>) -> ChannelStatus {
    match hold {
        Some(hold) => Some(hold).into(),
        None if delivery.is_some_and(|delivery| delivery.bounced) => ChannelStatus::Bounced,
        None => ChannelStatus::Active,
    }
}
