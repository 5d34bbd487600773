//! The values the store keeps: ids, activities, contact records and the
//! activity sources a contact's timeline is assembled from.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Milliseconds since the Unix epoch, UTC. Every stored time uses this unit.
pub type Millis = i64;

/// Returns the current time in [`Millis`].
pub fn now_millis() -> Millis {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as Millis
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Mints a new time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A contact: anyone who visited or interacted with the shop.
    ContactId
);
uuid_id!(
    /// A browser, as identified by the tracker cookie.
    TrackerId
);
uuid_id!(
    /// A segment of contacts (see `crate::segments`).
    SegmentId
);
uuid_id!(
    /// An import or export job (see `crate::store::TransferJob`).
    TransferId
);

/// The type of a recorded activity. Serialized in snake_case, which is also
/// the spelling used in `config.toml` and in the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    PageVisit,
    ProductVisit,
    Search,
    CartUpdate,
    Purchase,
    FormSubmission,
    Login,
    Registration,
    /// Another contact was merged into this one.
    Merge,
    /// Staff created or edited the contact through the admin API.
    AdminEdit,
    /// A hard or soft bounce reported for the contact's address.
    EmailBounce,
    /// A delivery reported for the contact's address.
    EmailDelivery,
    /// A spam complaint reported for the contact's address.
    EmailComplaint,
    /// The newsletter subscription changed (property `status`).
    NewsletterSubscription,
    /// The SMS subscription changed (property `status`).
    SmsSubscription,
    /// The contact joined a segment (properties `segment_id`, `segment_name`).
    SegmentEntered,
    /// The contact left a segment (properties `segment_id`, `segment_name`).
    SegmentLeft,
}

impl ActivityKind {
    /// Every kind, in declaration order.
    pub const ALL: [ActivityKind; 17] = [
        ActivityKind::PageVisit,
        ActivityKind::ProductVisit,
        ActivityKind::Search,
        ActivityKind::CartUpdate,
        ActivityKind::Purchase,
        ActivityKind::FormSubmission,
        ActivityKind::Login,
        ActivityKind::Registration,
        ActivityKind::Merge,
        ActivityKind::AdminEdit,
        ActivityKind::EmailBounce,
        ActivityKind::EmailDelivery,
        ActivityKind::EmailComplaint,
        ActivityKind::NewsletterSubscription,
        ActivityKind::SmsSubscription,
        ActivityKind::SegmentEntered,
        ActivityKind::SegmentLeft,
    ];

    /// Returns the snake_case name used in configuration, storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::PageVisit => "page_visit",
            ActivityKind::ProductVisit => "product_visit",
            ActivityKind::Search => "search",
            ActivityKind::CartUpdate => "cart_update",
            ActivityKind::Purchase => "purchase",
            ActivityKind::FormSubmission => "form_submission",
            ActivityKind::Login => "login",
            ActivityKind::Registration => "registration",
            ActivityKind::Merge => "merge",
            ActivityKind::AdminEdit => "admin_edit",
            ActivityKind::EmailBounce => "email_bounce",
            ActivityKind::EmailDelivery => "email_delivery",
            ActivityKind::EmailComplaint => "email_complaint",
            ActivityKind::NewsletterSubscription => "newsletter_subscription",
            ActivityKind::SmsSubscription => "sms_subscription",
            ActivityKind::SegmentEntered => "segment_entered",
            ActivityKind::SegmentLeft => "segment_left",
        }
    }

    /// Returns true for the kinds that Footprint records itself (merges,
    /// admin edits, email events, subscription changes, segment
    /// membership changes), which activity
    /// rules may not produce.
    pub fn is_recorded_by_footprint(self) -> bool {
        !matches!(
            self,
            ActivityKind::PageVisit
                | ActivityKind::ProductVisit
                | ActivityKind::Search
                | ActivityKind::CartUpdate
                | ActivityKind::Purchase
                | ActivityKind::FormSubmission
                | ActivityKind::Login
                | ActivityKind::Registration
        )
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActivityKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActivityKind::ALL.into_iter().find(|kind| kind.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = ActivityKind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown activity type {s:?}; expected one of {}", names.join(", "))
        })
    }
}

/// One interaction: what happened, when, where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Time the shop responded to the request (not when it was stored).
    pub at: Millis,
    pub kind: ActivityKind,
    /// Path and query of the request, without scheme and host.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// Type-specific details: `product_id`, `term`, `order_id`, `form`,
    /// `merged_contact` and so on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// Where a contact's activities are stored.
///
/// A contact's timeline is the union of its sources. Activity recorded
/// through a browser goes to the stream of that tracker *while it is bound
/// to that contact*, so a merge only adds sources to the survivor and moves
/// no activity, and a browser that changes hands (a second person logs in)
/// starts a new stream instead of taking the first person's history along.
/// Activity without a browser (merges, admin edits) goes to the contact's
/// own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Activity of `tracker` recorded while it was bound to `contact`.
    Tracker { tracker: TrackerId, contact: ContactId },
    /// Activity recorded on the contact itself.
    Contact(ContactId),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Tracker { tracker, contact } => write!(f, "t:{tracker}:{contact}"),
            Source::Contact(contact) => write!(f, "c:{contact}"),
        }
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("invalid activity source {s:?}");
        if let Some(rest) = s.strip_prefix("c:") {
            return rest.parse().map(Source::Contact).map_err(|_| invalid());
        }
        let rest = s.strip_prefix("t:").ok_or_else(invalid)?;
        let (tracker, contact) = rest.split_once(':').ok_or_else(invalid)?;
        Ok(Source::Tracker {
            tracker: tracker.parse().map_err(|_| invalid())?,
            contact: contact.parse().map_err(|_| invalid())?,
        })
    }
}

/// A stored activity with its position in its source's stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredActivity {
    /// Position in the timeline: orders activities newest first and is the
    /// paging cursor.
    pub cursor: Cursor,
    #[serde(flatten)]
    pub activity: Activity,
}

/// A position in a contact's timeline.
///
/// Activities are ordered by the time they were stored (`stored_at`), then
/// by a per-source sequence number, then by source, so that paging through a
/// timeline assembled from several streams is stable. The text form is
/// `<stored_at>-<seq>-<source>`.
///
/// NOTE: two activities stored in the same millisecond in different streams
/// of one contact have a stable but not a chronological order, because
/// sequence numbers count per stream (as Redis stream ids do).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    pub stored_at: Millis,
    pub seq: u64,
    pub source: String,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.stored_at, self.seq, self.source)
    }
}

impl FromStr for Cursor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("invalid cursor {s:?}");
        let mut parts = s.splitn(3, '-');
        let stored_at = parts.next().and_then(|p| p.parse().ok()).ok_or_else(invalid)?;
        let seq = parts.next().and_then(|p| p.parse().ok()).ok_or_else(invalid)?;
        let source: &str = parts.next().ok_or_else(invalid)?;
        source.parse::<Source>().map_err(|_| invalid())?;
        Ok(Cursor { stored_at, seq, source: source.to_owned() })
    }
}

impl serde::Serialize for Cursor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The raw record of a contact as stored, before merge pointers are
/// followed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactRecord {
    pub id: Option<ContactId>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Profile fields by name (`email`, `first_name`, ...), values as typed.
    pub fields: BTreeMap<String, String>,
    /// Status entries by name (`newsletter`, `email_delivery`, ...), kept
    /// apart from profile fields; `crate::status` reads them.
    pub statuses: BTreeMap<String, String>,
    /// Set once this contact was merged into another: lookups follow it.
    pub merged_into: Option<ContactId>,
}

impl ContactRecord {
    /// Returns true when the contact has an identity (an email) and so is
    /// registered rather than anonymous.
    pub fn is_registered(&self) -> bool {
        self.fields.get("email").is_some_and(|email| !email.is_empty())
    }
}

/// A compare-and-update of a contact's status entries (see
/// [`crate::store::Store::update_statuses`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusUpdate {
    /// Entries that must hold these values for the update to apply; `None`
    /// means the entry must be absent.
    pub expected: BTreeMap<String, Option<String>>,
    /// Entries to write; `None` removes the entry.
    pub changes: BTreeMap<String, Option<String>>,
    /// Appended to the contact's own stream with the change.
    pub activities: Vec<Activity>,
    /// The time of the change: raises the contact's `updated_at`.
    pub at: Millis,
}

/// The unique indexes that map one normalised value to one contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKind {
    /// Email, trimmed and lowercased.
    Email,
    /// Phone in E.164.
    Phone,
    /// The shop's own customer id.
    CustomerId,
}

impl IndexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::Email => "email",
            IndexKind::Phone => "phone",
            IndexKind::CustomerId => "customer_id",
        }
    }
}

/// A page of activities, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ActivityPage {
    pub items: Vec<StoredActivity>,
    /// Pass as `before` to get the next (older) page; `None` on the last page.
    pub next: Option<Cursor>,
}

/// A merge that was started: `from` is being merged into `into`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MergeIntent {
    pub from: ContactId,
    pub into: ContactId,
}
