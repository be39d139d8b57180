//! What every list of the API shares: the limit's range, and a cursor that walks it all once.

use serde_json::Value;
use steward::domain::Role;

use crate::helpers::TestApp;

use super::{acme_with_key, enc};

async fn a_limit_out_of_range_gets_422_and_a_forged_cursor_never_fails(app: &TestApp) {
    let (_, _, api) = acme_with_key(app, "read").await;
    for list in ["/members", "/invitations", "/audit-events", "/deployments"] {
        api.get(&format!("{list}?limit=1")).await.expect(200);
        api.get(&format!("{list}?limit=200")).await.expect(200);
        for limit in ["0", "201", "-1", "100000"] {
            let refused = api.get(&format!("{list}?limit={limit}")).await;
            refused.expect_error(422, "invalid");
            assert_eq!(refused.invalid_fields(), ["limit"], "{list}?limit={limit}");
        }
        // a forged cursor is either a position like any other or refused, never a failure
        let forged = api.get(&format!("{list}?cursor={}", enc("not-a-cursor_'\"%"))).await;
        assert!([200, 422].contains(&forged.status), "{list}: a forged cursor answered {}: {}", forged.status, forged.text);
        if forged.status == 422 {
            forged.expect_error(422, "invalid");
        }
    }
}

async fn every_list_walks_its_cursor_to_the_end(app: &TestApp) {
    let (_, org, api) = acme_with_key(app, "read_write").await;
    app.add_bulk_members(org, 7, Role::Editor).await;
    for i in 0..7 {
        api.create_deployment(&format!("svc-{i}"), "us-east-1").await;
        api.invite(&format!("person-{i}@example.com"), "viewer").await;
    }
    for list in ["/deployments", "/invitations", "/audit-events", "/members"] {
        let whole = api.get(&format!("{list}?limit=200")).await;
        whole.expect(200);
        let key = if list == "/members" { "account_id" } else { "id" };
        let expected: Vec<Value> = whole.data().iter().map(|item| item[key].clone()).collect();
        assert!(expected.len() >= 7, "{list}");
        let mut walked = Vec::new();
        let mut path = format!("{list}?limit=3");
        for _ in 0..20 {
            let page = api.get(&path).await;
            page.expect(200);
            assert!(page.data().len() <= 3);
            walked.extend(page.data().iter().map(|item| item[key].clone()));
            match page.next_cursor() {
                Some(cursor) => path = format!("{list}?limit=3&cursor={}", enc(&cursor)),
                None => break,
            }
        }
        assert_eq!(walked, expected, "{list}: the pages hold the whole list once, in its order");
    }
}

crate::on_both_backends!(
    a_limit_out_of_range_gets_422_and_a_forged_cursor_never_fails,
    every_list_walks_its_cursor_to_the_end,
);
