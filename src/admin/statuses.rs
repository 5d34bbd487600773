//! Contact statuses in the admin API: the `statuses` block of a profile
//! and `PATCH /api/v1/contacts/{id}/statuses`.
//!
//! The rules live in [`crate::status`]; this module turns them into JSON
//! and problems.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::contacts::{parse_id, profile};
use super::{rfc3339, AdminName, AdminState, Problem, Profile};
use crate::status::{
    self, BounceKind, ChannelStatus, Consent, ConsentSource, StatusChanges, StatusError, Statuses, Subscription,
    SubscriptionRecord,
};
use crate::store::{now_millis, ContactId, ContactRecord, StoreError};

/// The `statuses` block of a profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusesView {
    pub email: EmailView,
    pub newsletter: SubscriptionView,
    pub cellphone: CellphoneView,
    pub sms: SubscriptionView,
}

/// The status of the contact's email address.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailView {
    pub status: ChannelStatus,
    /// The last bounce of the current address.
    pub last_bounce: Option<BounceView>,
    /// Soft bounces of the current address since its last delivery.
    pub temporary_bounces: u32,
}

/// A bounce reported for the current address.
#[derive(Debug, Serialize, ToSchema)]
pub struct BounceView {
    #[serde(rename = "type")]
    pub kind: BounceKind,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A newsletter or SMS subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub status: Subscription,
    /// The consent of the latest change; null when never subscribed.
    pub consent: Option<ConsentView>,
}

/// The latest subscription change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    #[schema(format = DateTime)]
    pub at: String,
    pub source: ConsentSource,
    /// The admin token's name, for source `admin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The form's route, for source `form`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
}

/// The status of the contact's cellphone.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellphoneView {
    pub status: ChannelStatus,
}

impl StatusesView {
    /// Builds the block from a contact's record; bounces count only for its
    /// current email address.
    pub fn of(record: &ContactRecord) -> Result<StatusesView, StoreError> {
        let statuses = Statuses::of(record)?;
        let address = status::current_address(record);
        let delivery = statuses.delivery_for(address.as_deref());

        Ok(StatusesView {
            email: EmailView {
                status: statuses.email_status(address.as_deref()),
                last_bounce: delivery.and_then(|delivery| delivery.last_bounce.as_ref()).map(|bounce| BounceView {
                    kind: bounce.kind,
                    reason: bounce.reason.clone(),
                    at: rfc3339(bounce.at),
                }),
                temporary_bounces: delivery.map_or(0, |delivery| delivery.temporary_bounces),
            },
            newsletter: SubscriptionView::of(statuses.newsletter.as_ref()),
            cellphone: CellphoneView { status: statuses.cellphone_hold.into() },
            sms: SubscriptionView::of(statuses.sms.as_ref()),
        })
    }
}

impl SubscriptionView {
    fn of(record: Option<&SubscriptionRecord>) -> SubscriptionView {
        SubscriptionView {
            status: status::status_of(record),
            consent: record.map(|record| ConsentView::of(&record.consent)),
        }
    }
}

impl ConsentView {
    fn of(consent: &Consent) -> ConsentView {
        ConsentView {
            at: rfc3339(consent.at),
            source: consent.source,
            by: consent.by.clone(),
            form: consent.form.clone(),
        }
    }
}

impl From<StatusError> for Problem {
    fn from(error: StatusError) -> Problem {
        match error {
            StatusError::Store(error) => Problem::from(error),
            StatusError::NotFound(contact) => Problem::not_found(format!("no contact {contact}")),
            StatusError::Invalid(invalid) => Problem::invalid(invalid.member, invalid.detail),
            StatusError::Contended { contact, attempts } => {
                tracing::warn!(contact.id = %contact, attempts, "status change gave up after concurrent changes");
                Problem {
                    kind: "/problems/conflict",
                    title: "Conflict",
                    status: StatusCode::CONFLICT,
                    detail: "the contact's statuses kept changing during the request; try again".to_owned(),
                    field: None,
                }
            }
        }
    }
}

/// Parses a request body as JSON, naming `body` when it is not.
pub(super) fn json_body(body: &Bytes) -> Result<serde_json::Value, Problem> {
    serde_json::from_slice(body).map_err(|error| Problem::invalid("body", format!("invalid JSON: {error}")))
}

#[utoipa::path(
    patch,
    path = "/contacts/{id}/statuses",
    tag = "statuses",
    summary = "Change statuses",
    description = "Changes any of the email, newsletter, cellphone and SMS statuses of the live contact the id \
        resolves to. The whole body is checked first. Consent records `admin` with the token's name.",
    params(("id" = String, Path, format = Uuid, description = "A contact id. An id merged into another contact resolves to the survivor.")),
    request_body = super::request_bodies::StatusesRequest,
    responses(
        (status = 200, description = "The contact's profile after the change.", body = Profile),
        (status = 400, description = "The id, the body or a member is invalid, and `field` names it.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The bearer token is missing or unknown.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contact has this id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The statuses kept changing during the request. Send it again.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The contact store did not respond. Retry later.", body = Problem, content_type = "application/problem+json")
    )
)]
/// `PATCH /api/v1/contacts/{id}/statuses`: changes any of the email,
/// newsletter, cellphone and SMS statuses and returns the profile.
pub async fn patch_statuses(
    State(state): State<AdminState>,
    Extension(admin): Extension<AdminName>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Profile>, Problem> {
    let requested: ContactId = parse_id("id", &id)?;
    let changes = StatusChanges::from_json(&json_body(&body)?).map_err(StatusError::from)?;

    let applied =
        status::apply_changes(state.store.as_ref(), &state.identity, requested, &changes, &admin.0, now_millis())
            .await?;
    tracing::info!(contact.id = %applied.contact, admin.name = %admin.0, "statuses edited through the admin API");
    state.segments.evaluate_logged(applied.contact).await;

    Ok(Json(profile(&state, requested).await?))
}
