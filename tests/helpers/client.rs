//! A browser-like client of the console, and the [`Page`]s it gets back.
//!
//! It keeps its cookies, does not follow redirects and sends the session's CSRF token with its
//! forms.

use std::sync::{Arc, Mutex};

use reqwest::cookie::{CookieStore, Jar};

/// What a response gave back.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn assert_status(&self, status: u16) -> &Page {
        assert_eq!(self.status, status, "unexpected status; body:\n{}", self.body);
        self
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }

    /// The texts of every element matching `css`, whitespace collapsed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let selector = scraper::Selector::parse(css).expect("selector");
        self.html()
            .select(&selector)
            .map(|e| e.text().collect::<Vec<_>>().join(" ").split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The CSRF token the page carries, if any.
    pub fn csrf_token(&self) -> Option<String> {
        let selector = scraper::Selector::parse(r#"meta[name="csrf-token"]"#).expect("selector");
        self.html().select(&selector).next().and_then(|e| e.value().attr("content")).map(str::to_owned).filter(|s| !s.is_empty())
    }
}

/// One person's browser: a signed-in member, or a visitor before signing in.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    jar: Arc<Jar>,
    csrf: Mutex<Option<String>>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client::with_jar(base, Arc::new(Jar::default()))
    }

    fn with_jar(base: &str, jar: Arc<Jar>) -> Client {
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("steward-tests")
            .build()
            .expect("client");
        Client { http, base: base.to_string(), jar, csrf: Mutex::new(None) }
    }

    /// Another client holding a copy of this one's cookies, as someone who copied them would.
    pub fn copy_of_cookies(&self) -> Client {
        let url: reqwest::Url = self.base.parse().expect("base url");
        let jar = Jar::default();
        if let Some(cookies) = self.jar.cookies(&url) {
            for cookie in cookies.to_str().expect("cookie header").split("; ") {
                jar.add_cookie_str(cookie, &url);
            }
        }
        let copy = Client::with_jar(&self.base, Arc::new(jar));
        *copy.csrf.lock().expect("lock") = self.csrf.lock().expect("lock").clone();
        copy
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = resp.text().await.unwrap_or_default();
        Page { status, location, headers, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let page = Client::page(resp).await;
        if let Some(token) = page.csrf_token() {
            *self.csrf.lock().expect("lock") = Some(token);
        }
        page
    }

    /// This session's CSRF token (read from a page when not known yet).
    pub async fn csrf(&self) -> String {
        if let Some(t) = self.csrf.lock().expect("lock").clone() {
            return t;
        }
        let page = self.get("/login").await;
        page.csrf_token().expect("the sign-in page carries a CSRF token")
    }

    /// Posts a form with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self.http.post(format!("{}{path}", self.base)).form(fields).send().await.expect("POST");
        let page = Client::page(resp).await;
        // signing in or out starts a new session, with a new token
        if ["/login", "/login/two-factor", "/signup", "/logout"].contains(&path) || path.starts_with("/invitations/") {
            *self.csrf.lock().expect("lock") = None;
        }
        if let Some(token) = page.csrf_token() {
            *self.csrf.lock().expect("lock") = Some(token);
        }
        page
    }

    /// Posts a multipart/form-data body (a form with a file) with this session's CSRF token as
    /// its first part.
    pub async fn post_multipart(&self, path: &str, fields: &[(&str, &str)], files: &[FilePart<'_>]) -> Page {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_multipart_raw(path, &all, files).await
    }

    /// Posts exactly these text parts and files as multipart/form-data (no token added).
    pub async fn post_multipart_raw(&self, path: &str, fields: &[(&str, &str)], files: &[FilePart<'_>]) -> Page {
        let (content_type, body) = multipart_body(fields, files);
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        let page = Client::page(resp).await;
        if let Some(token) = page.csrf_token() {
            *self.csrf.lock().expect("lock") = Some(token);
        }
        page
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.post("/login", &[("email", email), ("password", password)]).await
    }

    pub async fn sign_out(&self) -> Page {
        self.post("/logout", &[]).await
    }
}

/// A file of a multipart form: its field name, its file name and its content.
pub struct FilePart<'a> {
    pub field: &'a str,
    pub file_name: &'a str,
    pub content: &'a [u8],
}

/// The content type and body of a multipart/form-data form, as a browser writes it.
pub fn multipart_body(fields: &[(&str, &str)], files: &[FilePart<'_>]) -> (String, Vec<u8>) {
    let boundary = "----steward-test-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes());
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    for file in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: text/csv\r\n\r\n",
                file.field, file.file_name
            )
            .as_bytes(),
        );
        body.extend_from_slice(file.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}
