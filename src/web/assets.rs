//! Static assets, embedded in the binary and served under a content-hashed URL with a year of
//! cache lifetime.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::crypto::sha256_hex;
use crate::web::error::WebError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_bytes!("../../static/app.css") },
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", body: include_bytes!("../../static/app.js") },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/vendor/htmx.min.js"),
    },
];

/// A version stamp of all assets together, so one release's pages ask for its own files.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut all = Vec::new();
        for a in ASSETS {
            all.extend_from_slice(a.body);
        }
        sha256_hex(&all)[..12].to_string()
    })
}

/// The URL of an asset as templates write it.
pub fn url(name: &str) -> String {
    format!("/static/{}/{name}", version())
}

/// The URLs the layout needs.
#[derive(Debug, Clone)]
pub struct AssetUrls {
    pub css: String,
    pub app_js: String,
    pub htmx_js: String,
}

pub fn urls() -> AssetUrls {
    AssetUrls { css: url("app.css"), app_js: url("app.js"), htmx_js: url("htmx.min.js") }
}

pub async fn serve(path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (_version, name) = path.into_inner();
    let asset = ASSETS.iter().find(|a| a.name == name).ok_or(WebError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(asset.body))
}
