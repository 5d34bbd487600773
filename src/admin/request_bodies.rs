//! Schemas of the admin API's request bodies, for the OpenAPI description
//! only.
//!
//! The handlers parse their bodies from `serde_json::Value` by hand, so that
//! a 400 can name the member at fault (`fields.cellphone`, `newsletter`)
//! and reject unknown members. These types describe the same bodies to
//! clients, so they are never deserialized, and a change to a handler's
//! parsing must be repeated here.

#![allow(dead_code)]

use serde::Deserialize;
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::email_events::MAX_BATCH;
use crate::status::Subscription;

/// Body of contact create and edit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldsRequest {
    pub fields: FieldValues,
}

/// Standard fields to set. A value of `null` or `""` removes the field, and
/// an absent field is left unchanged. Values are trimmed. Custom fields are
/// set by their name too, with values of their definition's type; any other
/// name is a 400.
#[derive(Deserialize, ToSchema)]
pub struct FieldValues {
    /// Unique among contacts: matched trimmed and case-insensitively.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// A real date (`YYYY-MM-DD`) that is not in the future (UTC).
    #[schema(format = Date)]
    pub date_of_birth: Option<String>,
    /// A phone number in any formatting, stored in E.164 with the configured
    /// default country. Unique among contacts.
    pub cellphone: Option<String>,
}

/// Body of a new push subscription. Other members are ignored.
#[derive(Deserialize, ToSchema)]
pub struct PushSubscriptionRequest {
    /// The push service's endpoint id: 1 to 512 characters, no control
    /// characters.
    #[schema(min_length = 1, max_length = 512)]
    pub endpoint_id: String,
}

/// Status changes: at least one of the members.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct StatusesRequest {
    /// `active` also clears a bounce of the current address.
    pub email: Option<HoldChange>,
    /// `not_subscribed` is accepted only when the contact never subscribed.
    pub newsletter: Option<Subscription>,
    pub cellphone: Option<HoldChange>,
    /// `not_subscribed` is accepted only when the contact never subscribed.
    pub sms: Option<Subscription>,
}

/// An email or cellphone status that staff may set. `bounced` follows
/// bounce events only.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldChange {
    Active,
    Blocked,
    Paused,
}

/// One event reported by the shop's email provider.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailEventRequest {
    /// The address the event is about. It finds the contact through the
    /// email index (trimmed, case-insensitive).
    pub email: String,
    #[serde(rename = "type")]
    pub kind: EmailEventType,
    /// The provider's explanation, such as an SMTP reply.
    pub reason: Option<String>,
    /// When the event happened (RFC 3339). The default is the time of the request.
    #[schema(format = DateTime)]
    pub at: Option<String>,
}

/// The type of an email event.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailEventType {
    HardBounce,
    SoftBounce,
    Delivery,
    Complaint,
    Unsubscribe,
}

/// One event, or a batch of 1 to 1000 events.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EmailEventsRequest {
    One(EmailEventRequest),
    Batch(EmailEventBatch),
}

/// A batch of 1 to 1000 events.
#[derive(Deserialize)]
pub struct EmailEventBatch(pub Vec<EmailEventRequest>);

// Written by hand because the derive takes no item limits on a newtype.
impl PartialSchema for EmailEventBatch {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(EmailEventRequest::schema())
            .min_items(Some(1))
            .max_items(Some(MAX_BATCH))
            .description(Some("A batch of 1 to 1000 events."))
            .into()
    }
}

impl ToSchema for EmailEventBatch {}

/// Body of a new custom field definition.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionRequest {
    /// `^[a-z][a-z0-9_]{0,63}$`, not a standard field name.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub name: String,
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub label: String,
    #[serde(rename = "type")]
    pub kind: crate::store::FieldType,
    /// Required for `single_choice` and `multiple_choice`: 1 to 200 distinct
    /// non-empty strings. Not allowed for other types.
    pub options: Option<Vec<String>>,
    /// A value of the field's type, shown for contacts without a value.
    pub default: Option<serde_json::Value>,
}

/// Body of a definition change. `type` may be sent only unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionChangeRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub label: Option<String>,
    pub options: Option<Vec<String>>,
    /// A new default, or `null` to remove it.
    pub default: Option<serde_json::Value>,
    /// Renames the field; values follow, because they are stored under its id.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$")]
    pub new_name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<crate::store::FieldType>,
}

/// Body of a new segment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentRequest {
    /// 1 to 100 characters, unique among segments, without leading or
    /// trailing spaces or control characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// At most 1000 characters; empty when left out.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    pub kind: crate::segments::SegmentKind,
    /// A JSON object, required for `dynamic` and `dynamic_plus` and not
    /// allowed (or `null`) for `static`.
    pub condition: Option<serde_json::Value>,
}

/// Body of a segment change. `kind` may be sent only unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentChangeRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// A new condition (dynamic kinds only).
    pub condition: Option<serde_json::Value>,
    pub kind: Option<crate::segments::SegmentKind>,
}

/// Body of a segment preview.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A condition as segments take it; behaviour terms are allowed.
    pub condition: serde_json::Value,
}
