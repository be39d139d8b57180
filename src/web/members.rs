//! The member list.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::store::members::{self, MemberListRow};
use crate::web::error::WebError;
use crate::web::extract::{Authorized, perm};
use crate::web::shell::{self, Shell};
use crate::web::state::AppState;

const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "members/index.html")]
struct MembersPage {
    shell: Shell,
    rows: Vec<MemberListRow>,
    total: i64,
}

pub async fn index(state: web::Data<AppState>, access: Authorized<perm::MembersRead>) -> Result<HttpResponse, WebError> {
    let org = access.org_id;
    let (rows, total) = state
        .run(move |db| -> Result<_, WebError> {
            let mut conn = db.conn()?;
            Ok((members::list(&mut conn, org, PAGE_SIZE, 0)?, members::count(&mut conn, org)?))
        })
        .await?;
    let shell = Shell::load(&state, &access, Some(&access), "members", "Members").await?;
    shell::ok(&MembersPage { shell, rows, total })
}
