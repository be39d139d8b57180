//! `/api/v1/audit-events`, its CSV export, and the head of the organization's hash chain.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::api::{ApiError, ApiKey, Page, Paging, time};
use crate::operations::audit::{self as audit_ops, FilterInput};
use crate::operations::audit::Event;
use crate::app::AppState;
use crate::domain::Permission;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    pub time: String,
    pub action: String,
    pub actor_email: Option<String>,
    /// account, api_key or system
    pub actor_kind: String,
    pub target: Option<String>,
    pub target_email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<Event> for AuditEvent {
    fn from(event: Event) -> AuditEvent {
        let e = event.body;
        AuditEvent {
            id: event.id,
            time: time(e.occurred_at),
            details: serde_json::from_str(&e.details).unwrap_or_else(|_| serde_json::json!({})),
            action: e.action,
            actor_email: e.actor_email,
            actor_kind: e.actor_kind,
            target: e.target,
            target_email: e.target_email,
            ip: e.ip,
            user_agent: e.user_agent,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEventList {
    pub data: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// Query filters, as on the console's page.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// An action name, such as member.role_changed (empty: any)
    // its choices come from the log's own list of actions: see `openapi::ActionNames`
    pub action: Option<String>,
    /// A person's email: the acting person's (never an API key's name) or the target's
    #[param(max_length = 254, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub email: Option<String>,
    /// From this day (YYYY-MM-DD, UTC, 1970 to 9999; empty: no start)
    #[param(pattern = "^((19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(19[7-9][0-9]|[2-9][0-9]{3})-(0[13-9]|1[0-2])-(29|30)|(19[7-9][0-9]|[2-9][0-9]{3})-(0[13578]|1[02])-31|(19(7[26]|8[048]|9[26])|[2-9][0-9]([02468][48]|[13579][26]|[2468]0)|([2468][048]|[3579][26])00)-02-29)?$")]
    pub from: Option<String>,
    /// Until the end of this day (YYYY-MM-DD, UTC, 1970 to 9999, not before `from`; empty: no end)
    #[param(pattern = "^((19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(19[7-9][0-9]|[2-9][0-9]{3})-(0[13-9]|1[0-2])-(29|30)|(19[7-9][0-9]|[2-9][0-9]{3})-(0[13578]|1[02])-31|(19(7[26]|8[048]|9[26])|[2-9][0-9]([02468][48]|[13579][26]|[2468]0)|([2468][048]|[3579][26])00)-02-29)?$")]
    pub to: Option<String>,
}

impl AuditFilter {
    fn input(&self) -> FilterInput {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        FilterInput { action: s(&self.action), email: s(&self.email), from: s(&self.from), to: s(&self.to) }
    }
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditFilter, Paging, ("cursor" = Option<String>, Query, pattern = "^(-?[0-9]{1,18})?$", description = "The next_cursor of the previous page")),
    responses((status = 200, body = AuditEventList),
        (status = 422, description = "A query parameter is outside what it takes, or `to` is before `from`", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    key: ApiKey,
    filter: web::Query<AuditFilter>,
    paging: web::Query<Paging>,
) -> Result<web::Json<Page<AuditEvent>>, ApiError> {
    key.require(Permission::AuditView)?;
    key.require_org_scope()?;
    let limit = paging.limit()?;
    let filter = filter.input().parse()?;
    let before = match paging.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| ApiError::invalid_field("cursor", "Use the next_cursor of the previous page."))?),
    };
    let org = key.org;
    let (rows, next) = state.run(move |db| audit_ops::page(db, org, &filter, before, limit)).await?;
    Ok(web::Json(Page { data: rows.into_iter().map(AuditEvent::from).collect(), next_cursor: next.map(|c| c.to_string()) }))
}

/// What the CSV export adds to the filters.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportOptions {
    /// `1` appends the hash chain's columns to every row: seq, prev_hash, hash and canonical
    /// (the exact content that was hashed), so that the file can be verified offline with
    /// `steward audit verify --csv`. Off by default.
    #[param(pattern = "^(0|1|true|false)?$")]
    pub chain: Option<String>,
}

/// The audit log as CSV, streamed, with the same filters.
#[utoipa::path(get, path = "/api/v1/audit-events.csv", tag = "audit", params(AuditFilter, ExportOptions),
    responses((status = 200, description = "time,action,actor_email,actor_kind,target,ip,user_agent,details; with chain=1 also seq,prev_hash,hash,canonical",
        content_type = "text/csv", body = String),
        (status = 422, description = "A query parameter is outside what it takes, or `to` is before `from`", body = crate::api::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn export(
    state: web::Data<AppState>,
    key: ApiKey,
    filter: web::Query<AuditFilter>,
    options: web::Query<ExportOptions>,
) -> Result<HttpResponse, ApiError> {
    key.require(Permission::AuditRead)?;
    key.require_org_scope()?;
    let filter = filter.input().parse()?;
    let chain = audit_ops::chain_columns(options.chain.as_deref())?;
    let org = key.org;
    let name = state.run(move |db| crate::operations::orgs::name(db, org)).await?.unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", crate::csv_export::filename(&name))))
        .streaming(crate::csv_export::export_stream(state.db.clone(), org, filter, chain)))
}

/// The head of the organization's audit hash chain: its newest event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChainHead {
    /// The newest event's position in the chain (1 for the first event; 0 when there is none)
    pub seq: i64,
    /// The newest event's hash (SHA-256, hex); the genesis hash (64 zeros) when there is none
    pub hash: String,
    /// How many events the organization has: `seq` unless events were deleted
    pub count: i64,
}

/// The head of the organization's audit hash chain. Save it somewhere the database's
/// administrators cannot write: an export that later reaches it with the same hash proves
/// that no event up to it was changed or removed.
#[utoipa::path(get, path = "/api/v1/audit-events/head", tag = "audit",
    responses((status = 200, body = ChainHead)),
    security(("api_key" = [])))]
pub async fn head(state: web::Data<AppState>, key: ApiKey) -> Result<web::Json<ChainHead>, ApiError> {
    key.require(Permission::AuditView)?;
    key.require_org_scope()?;
    let org = key.org;
    let (head, count) = state.run(move |db| audit_ops::head_and_count(db, org)).await?;
    let (seq, hash) = match head {
        Some(h) => (h.seq, h.hash),
        None => (0, crate::domain::audit_chain::GENESIS_HASH.to_string()),
    };
    Ok(web::Json(ChainHead { seq, hash, count }))
}
