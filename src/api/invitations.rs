//! `/api/v1/invitations`

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::api::roles::{RoleTag, tags_of};
use crate::api::{ApiError, ApiKey, Body, Page, Paging, time};
use crate::domain::ids::InvitationId;
use crate::domain::{InvitationState, OrgId, Permission};
use crate::operations::{self};
use crate::operations::invitations::Listed;
use crate::app::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    /// admin, editor or viewer
    pub role: String,
    /// The custom roles accepting gives, by name (a role deleted since is no longer among them).
    pub roles: Vec<RoleTag>,
    /// pending, expired, accepted, declined or cancelled
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
    /// The email of the person who invited (or who made the API key that did).
    pub invited_by: Option<String>,
    /// Where the invitation's newest email stands: queued (waiting for its first attempt),
    /// retrying (an attempt failed; it is tried again), sent, or expired (its link expired
    /// before it could be delivered; resend the invitation). An invitation mailed before the
    /// outbox kept track reads sent.
    pub delivery: Delivery,
}

/// Where an invitation's newest email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Delivery {
    Queued,
    Retrying,
    Sent,
    Expired,
}

impl Delivery {
    fn of(d: Option<&crate::domain::delivery::Delivery>) -> Delivery {
        use crate::domain::delivery::Delivery as D;
        match d {
            Some(D::Queued) => Delivery::Queued,
            Some(D::Retrying { .. }) => Delivery::Retrying,
            Some(D::Expired) => Delivery::Expired,
            Some(D::Sent) | None => Delivery::Sent,
        }
    }
}

fn state_name(s: InvitationState) -> &'static str {
    match s {
        InvitationState::Pending => "pending",
        InvitationState::Expired => "expired",
        InvitationState::Accepted => "accepted",
        InvitationState::Declined => "declined",
        InvitationState::Cancelled => "cancelled",
    }
}

impl Invitation {
    fn of(l: Listed, roles: Vec<RoleTag>, now: NaiveDateTime) -> Invitation {
        let i = l.invitation;
        Invitation {
            id: i.id.to_string(),
            email: i.email.to_string(),
            role: i.role.as_str().into(),
            roles,
            status: state_name(i.state(now)).into(),
            created_at: time(i.created_at),
            expires_at: time(i.expires_at),
            invited_by: l.invited_by_email,
            delivery: Delivery::of(l.delivery.as_ref()),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationList {
    pub data: Vec<Invitation>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationFilter {
    /// pending, expired, accepted, declined or cancelled (empty: any)
    #[param(pattern = "^(pending|expired|accepted|declined|cancelled)?$")]
    pub status: Option<String>,
}

fn invitation_id(raw: &str) -> Result<InvitationId, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// A cursor is `created_at` in microseconds and the id: a position in the newest-first order.
fn decode_cursor(raw: &str) -> Result<(NaiveDateTime, InvitationId), ApiError> {
    let bad = || ApiError::invalid_field("cursor", "Use the next_cursor of the previous page.");
    let (micros, id) = raw.split_once('_').ok_or_else(bad)?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?.naive_utc();
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// The organization's invitations, newest first.
#[utoipa::path(get, path = "/api/v1/invitations", tag = "invitations", params(InvitationFilter, Paging,
        ("cursor" = Option<String>, Query, pattern = "^[0-9]{1,16}_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "The next_cursor of the previous page")),
    responses((status = 200, body = InvitationList)),
    security(("api_key" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    key: ApiKey,
    filter: web::Query<InvitationFilter>,
    paging: web::Query<Paging>,
) -> Result<web::Json<Page<Invitation>>, ApiError> {
    key.require(Permission::MembersRead)?;
    key.require_org_scope()?;
    let limit = paging.limit()?;
    let before = paging.cursor.as_deref().map(decode_cursor).transpose()?;
    let wanted = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("pending") => Some(InvitationState::Pending),
        Some("expired") => Some(InvitationState::Expired),
        Some("accepted") => Some(InvitationState::Accepted),
        Some("declined") => Some(InvitationState::Declined),
        Some("cancelled") => Some(InvitationState::Cancelled),
        Some(_) => return Err(ApiError::invalid_field("status", "Use pending, expired, accepted, declined or cancelled.")),
    };
    let (org, now) = (key.org, crate::domain::now());
    let (mut rows, tags) = state
        .run(move |db| {
            let rows = operations::invitations::page(db, org, wanted, now, before, limit + 1)?;
            // the custom roles of the page, in one query
            let ids: Vec<InvitationId> = rows.iter().take(limit as usize).map(|l| l.invitation.id).collect();
            let tags = operations::invitations::roles_of_invitations(db, &ids)?;
            Ok::<_, operations::OpError>((rows, tags))
        })
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|l| format!("{}_{}", l.invitation.created_at.and_utc().timestamp_micros(), l.invitation.id))
    } else {
        None
    };
    let data: Vec<Invitation> = rows
        .into_iter()
        .map(|l| {
            let roles = tags_of(&l.invitation.id, &tags);
            Invitation::of(l, roles, now)
        })
        .collect();
    Ok(web::Json(Page { data, next_cursor }))
}

async fn load(state: &AppState, org: OrgId, id: InvitationId) -> Result<Invitation, ApiError> {
    let (listed, tags) = state
        .run(move |db| {
            let listed = operations::invitations::listed(db, org, id)?;
            Ok::<_, operations::OpError>((listed, operations::invitations::roles_of_invitations(db, &[id])?))
        })
        .await?;
    listed.map(|l| Invitation::of(l, tags_of(&id, &tags), crate::domain::now())).ok_or_else(ApiError::not_found)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct NewInvitation {
    #[schema(required = true, format = Email, max_length = 254)]
    pub email: String,
    /// admin, editor or viewer
    #[schema(required = true, pattern = "^(admin|editor|viewer)$")]
    pub role: String,
    /// Ids of custom roles that accepting also gives (none when left out).
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub roles: Vec<String>,
}

/// Invite someone: the invitation is saved and its email queued (`delivery` says when it has
/// gone out). Nobody invites into a role, built-in or custom, holding a permission they (or the
/// key) do not hold.
#[utoipa::path(post, path = "/api/v1/invitations", tag = "invitations", request_body = NewInvitation,
    responses((status = 201, body = Invitation),
        (status = 422, description = "The body does not match its schema, or a rule refuses it: the person is already a member or already invited, or a custom role is not one of the organization's", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(state: web::Data<AppState>, key: ApiKey, body: Body<NewInvitation>) -> Result<HttpResponse, ApiError> {
    key.require(Permission::MembersInvite)?;
    key.require_org_scope()?;
    let body = body.0;
    crate::api::roles::require_role_ids(&body.roles)?;
    let (ctx, org, settings, st) = (key.ctx.clone(), key.org, state.invitation_settings(), state.get_ref().clone());
    let id = state
        .run(move |db| {
            st.limits.invitation(db, org)?;
            operations::invitations::invite(db, &st.mail, &settings, &ctx, org, &body.email, &body.role, &body.roles)
        })
        .await?;
    Ok(HttpResponse::Created().json(load(&state, org, id).await?))
}

/// Send the invitation again, with a new link; the old one stops working.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/resend", tag = "invitations", params(("id" = uuid::Uuid, Path, description = "Invitation id")),
    responses((status = 200, body = Invitation),
        (status = 409, description = "The invitation was accepted, declined or cancelled: it cannot be resent", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn resend(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<web::Json<Invitation>, ApiError> {
    key.require(Permission::MembersInvite)?;
    key.require_org_scope()?;
    let id = invitation_id(&path)?;
    let (ctx, org, settings, st) = (key.ctx.clone(), key.org, state.invitation_settings(), state.get_ref().clone());
    state
        .run(move |db| {
            st.limits.invitation(db, org)?;
            operations::invitations::resend(db, &st.mail, &settings, &ctx, org, id)
        })
        .await?;
    Ok(web::Json(load(&state, org, id).await?))
}

/// Cancel a pending invitation.
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "invitations", params(("id" = uuid::Uuid, Path, description = "Invitation id")),
    responses((status = 204, description = "Cancelled"),
        (status = 409, description = "The invitation was already accepted, declined or cancelled", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn cancel(state: web::Data<AppState>, key: ApiKey, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    key.require(Permission::MembersInvite)?;
    key.require_org_scope()?;
    let id = invitation_id(&path)?;
    let (ctx, org) = (key.ctx.clone(), key.org);
    state.run(move |db| operations::invitations::cancel(db, &ctx, org, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
