//! The Invitations view of the member list: every invitation of the organization in every
//! state, who sent it and when it last changed, newest first, a page at a time.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;

use crate::app::AppState;
use crate::domain::ids::InvitationId;
use crate::domain::{InvitationState, OrgId, Permission};
use crate::operations::invitations::{self as inv, HistoryQuery, Listed};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, perm};
use crate::web::format;
use crate::web::members::{Choice, DeliveryBadge};
use crate::web::shell::{self, Shell};

const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, serde::Deserialize)]
pub struct HistoryParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    cursor: String,
}

/// How each state reads in the list.
fn state_label(s: InvitationState) -> &'static str {
    match s {
        InvitationState::Pending => "Pending",
        InvitationState::Expired => "Expired",
        InvitationState::Accepted => "Accepted",
        InvitationState::Declined => "Declined",
        InvitationState::Cancelled => "Cancelled",
    }
}

fn state_class(s: InvitationState) -> &'static str {
    match s {
        InvitationState::Pending => "badge-blue",
        InvitationState::Expired => "badge-amber",
        InvitationState::Accepted => "badge-green",
        InvitationState::Declined => "badge-red",
        InvitationState::Cancelled => "badge-gray",
    }
}

/// A position in the newest-first order: `created_at` in microseconds and the id. One that
/// cannot be read starts from the newest, like the audit log's.
fn decode_cursor(raw: &str) -> Option<(NaiveDateTime, InvitationId)> {
    let (micros, id) = raw.trim().split_once('_')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((at, id.parse().ok()?))
}

fn encode_cursor(l: &Listed) -> String {
    format!("{}_{}", l.invitation.created_at.and_utc().timestamp_micros(), l.invitation.id)
}

/// A row as the template shows it.
pub struct RowView {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub status_label: &'static str,
    pub status_class: &'static str,
    /// Under the status: when a pending one expires, since when an expired one has.
    pub status_note: String,
    /// Beside a pending one's status: where its email stands, until it is sent.
    pub delivery: Option<DeliveryBadge>,
    pub sent_by: String,
    pub sent: String,
    pub changed: String,
    /// What the change was: Sent, Resent, Accepted, Declined, Cancelled.
    pub changed_note: &'static str,
    pub can_resend: bool,
    pub can_cancel: bool,
}

fn row_view(l: Listed, can_manage: bool, now: NaiveDateTime) -> RowView {
    let i = l.invitation;
    let state = i.state(now);
    // when it last changed state: its answer or cancellation, or else when it was last sent
    let (changed, changed_note) = match state {
        InvitationState::Pending | InvitationState::Expired => match l.resent_at {
            Some(at) => (at, "Resent"),
            None => (i.created_at, "Sent"),
        },
        answered => (i.responded_at.unwrap_or(i.created_at), state_label(answered)),
    };
    let status_note = match state {
        InvitationState::Pending => format!("expires {} UTC", format::minutes(i.expires_at)),
        InvitationState::Expired => format!("since {} UTC", format::minutes(i.expires_at)),
        _ => String::new(),
    };
    let delivery = if state == InvitationState::Pending { DeliveryBadge::of(l.delivery) } else { None };
    RowView {
        delivery,
        id: i.id.to_string(),
        email: i.email.to_string(),
        role: i.role.label(),
        status_label: state_label(state),
        status_class: state_class(state),
        status_note,
        // an inviter whose account is gone, or an API key whose maker is
        sent_by: l.invited_by_email.unwrap_or_else(|| "—".into()),
        sent: format::minutes(i.created_at),
        changed: format::minutes(changed),
        changed_note,
        can_resend: can_manage && state.is_open(),
        can_cancel: can_manage && state == InvitationState::Pending,
    }
}

#[derive(Template)]
#[template(path = "invitations/index.html")]
struct HistoryPage {
    shell: Shell,
    org: String,
    rows: Vec<RowView>,
    q: String,
    statuses: Vec<Choice>,
    filtered: bool,
    can_manage: bool,
    first_page: bool,
    newest_href: String,
    older_href: Option<String>,
    /// This page's address, for the actions to come back to.
    here: String,
    /// `next=` this page's address, for the links of the actions.
    next_query: String,
}

/// The view's URL with these parameters (empty ones left out).
fn history_href(org: OrgId, q: &str, status: &str, cursor: Option<&str>) -> String {
    let params: Vec<(&str, &str)> =
        [("q", q), ("status", status)].into_iter().filter(|(_, v)| !v.is_empty()).chain(cursor.map(|c| ("cursor", c))).collect();
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    if query.is_empty() { format!("/orgs/{org}/invitations") } else { format!("/orgs/{org}/invitations?{query}") }
}

pub async fn index(
    state: web::Data<AppState>,
    access: Authorized<perm::MembersRead>,
    query: web::Query<HistoryParams>,
) -> Result<HttpResponse, WebError> {
    let params = query.into_inner();
    // Unknown statuses are ignored, as on the member list: a stale bookmark still opens.
    let wanted = InvitationState::parse(&params.status);
    let q: String = params.q.trim().chars().filter(|c| !c.is_control()).take(200).collect();
    let cursor = decode_cursor(&params.cursor);
    let org = access.org_id;
    let now = crate::domain::now();
    let hq = HistoryQuery { state: wanted, search: Some(q.clone()).filter(|s| !s.is_empty()), before: cursor, limit: PAGE_SIZE };
    let (rows, more) = state.run(move |db| inv::history(db, org, &hq, now)).await?;
    let status_s = wanted.map(|s| s.as_str()).unwrap_or("");
    let older_href = if more { rows.last().map(|l| history_href(org, &q, status_s, Some(&encode_cursor(l)))) } else { None };
    let here = history_href(org, &q, status_s, cursor.is_some().then_some(params.cursor.trim()));
    let can_manage = access.can(Permission::MembersInvite);
    let shell = Shell::load(&state, &access, Some(&access), "members", "Invitations").await?;
    shell::ok(&HistoryPage {
        shell,
        org: org.to_string(),
        rows: rows.into_iter().map(|l| row_view(l, can_manage, now)).collect(),
        statuses: InvitationState::ALL
            .iter()
            .map(|s| Choice::new(s.as_str(), state_label(*s), Some(*s) == wanted))
            .collect(),
        filtered: !q.is_empty() || wanted.is_some(),
        can_manage,
        first_page: cursor.is_none(),
        newest_href: history_href(org, &q, status_s, None),
        older_href,
        next_query: serde_urlencoded::to_string([("next", here.as_str())]).unwrap_or_default(),
        here,
        q,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_ignored() {
        let at = chrono::DateTime::from_timestamp_micros(1_790_000_000_123_456).map(|t| t.naive_utc()).unwrap_or_default();
        let id = InvitationId::new();
        let raw = format!("{}_{id}", at.and_utc().timestamp_micros());
        assert_eq!(decode_cursor(&raw), Some((at, id)));
        for bad in ["", "x", "12_", "_abc", "nope_00000000-0000-0000-0000-000000000000", "1_not-a-uuid"] {
            assert_eq!(decode_cursor(bad), None, "{bad:?}");
        }
    }
}
