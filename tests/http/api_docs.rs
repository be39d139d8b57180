//! The API reference at `/api/docs`: open to anyone, read from the OpenAPI document the server
//! serves, every path with its methods, and linked from the API keys page.

use std::collections::BTreeSet;

use scraper::{ElementRef, Selector};
use serde_json::Value;

use crate::helpers::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn select<'a>(element: ElementRef<'a>, css: &str) -> Vec<ElementRef<'a>> {
    element.select(&Selector::parse(css).expect("selector")).collect()
}

fn text_of(element: ElementRef<'_>) -> String {
    element.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn the_reference_lists_every_path_of_the_openapi_document_with_its_methods(app: &TestApp) {
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base)).await.expect("GET").json().await.expect("JSON");
    let visitor = app.client();
    let page = visitor.get("/api/docs").await;
    page.assert_status(200);
    assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{:?}", page.header("content-type"));
    let html = page.html();

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            documented.insert(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    let operations = select(html.root_element(), "article.docs-op");
    let listed: BTreeSet<String> =
        operations.iter().map(|op| text_of(select(*op, "h3").into_iter().next().expect("the operation's title"))).collect();
    assert_eq!(listed, documented, "every operation of the document, once");
    assert_eq!(operations.len(), documented.len());

    // each with its parameters, request body fields, responses and the key it takes
    for op in &operations {
        let title = text_of(select(*op, "h3")[0]);
        let (method, path) = title.split_once(' ').expect("METHOD path");
        let spec = &doc["paths"][path][method.to_ascii_lowercase()];
        let body = text_of(*op);
        assert!(body.contains("Authorization: Bearer stw_"), "{title} names the key it takes");
        if let Some(summary) = spec["summary"].as_str() {
            // compared without spaces: `code` in the text becomes an element, whose text nodes
            // `text_of` joins with a space ("( delivery says" for "(`delivery` says")
            let squeezed = |text: &str| text.chars().filter(|c| !c.is_whitespace() && *c != '`').collect::<String>();
            assert!(squeezed(&body).contains(&squeezed(summary)), "{title}: {summary}");
        }
        for parameter in spec["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().expect("a name");
            let row = select(*op, "tbody tr").into_iter().find(|row| text_of(*row).starts_with(name));
            let row = row.unwrap_or_else(|| panic!("{title}: no row for the parameter {name}"));
            let required = select(row, "td:first-child .badge").into_iter().any(|badge| text_of(badge) == "required");
            let row = text_of(row);
            assert!(row.contains(parameter["in"].as_str().expect("where")), "{title}: {row}");
            assert_eq!(required, parameter["required"] == true, "{title}: {row}");
        }
        for status in spec["responses"].as_object().expect("responses").keys() {
            assert!(select(*op, "tbody tr td:first-child").into_iter().any(|cell| text_of(cell) == *status), "{title}: response {status}");
        }
    }
    let create = operations.iter().find(|op| text_of(select(**op, "h3")[0]) == "POST /api/v1/deployments").expect("POST /deployments");
    let fields: Vec<String> = select(*create, "tbody tr td:first-child").into_iter().map(text_of).collect();
    assert!(fields.contains(&"name required".to_string()) && fields.contains(&"region required".to_string()), "{fields:?}");

    // a table of contents leading to each operation
    for op in &operations {
        let id = op.value().attr("id").expect("an anchor");
        assert!(!select(html.root_element(), &format!("nav.docs-toc a[href='#{id}']")).is_empty(), "the contents link to {id}");
    }
    // the Content-Security-Policy allows no inline styles or scripts
    assert!(!page.body.contains("style="), "no inline style");
    assert!(select(html.root_element(), "script").iter().all(|s| s.value().attr("src").is_some()), "no inline script");
}

async fn the_api_keys_page_links_to_the_reference(app: &TestApp) {
    let (owner, org) = app.sign_up("ada@example.com", "Acme").await;
    let page = owner.get(&format!("/orgs/{org}/api-keys")).await;
    page.assert_status(200);
    let html = page.html();
    let links = select(html.root_element(), "a[href='/api/docs']");
    assert!(!links.is_empty(), "a link to the API reference");
    owner.get("/api/docs").await.assert_status(200);
}

crate::on_both_backends!(
    the_reference_lists_every_path_of_the_openapi_document_with_its_methods,
    the_api_keys_page_links_to_the_reference,
);
