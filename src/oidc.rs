//! The client side of OpenID Connect: discovery, the authorization request (PKCE, state,
//! nonce), the code exchange and the ID token's checks, over an HTTP client that fetches only
//! what `domain::sso` allows (https, public addresses, no redirects, a size and time limit).
//!
//! Everything here is async and runs on the actix workers (reqwest's client does not block).
//! It knows nothing of the database: `operations::sso` decides what a verified identity may do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use crate::domain::sso::{check_fetch_url, host_allowed, is_public};

/// How long one request to a provider may take, and the most it may answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a provider could not be used or an answer was refused: each says what happened in
/// words for the person on the page (never a 500).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("{0}")]
    NotAllowed(String),
    #[error("The identity provider could not be reached: {0}")]
    Unreachable(String),
    #[error("The identity provider's discovery document is not valid: {0}")]
    DiscoveryInvalid(String),
    #[error("The identity provider publishes no signing keys.")]
    NoKeys,
    #[error("The identity provider refused the sign-in: {0}")]
    ProviderRefused(String),
    #[error("The identity provider did not return an ID token.")]
    NoIdToken,
    #[error("The ID token's signature is not one of the identity provider's keys.")]
    BadSignature,
    #[error("The ID token was issued for another application (audience).")]
    WrongAudience,
    #[error("The ID token was issued by another identity provider (issuer).")]
    WrongIssuer,
    #[error("The ID token has expired.")]
    Expired,
    #[error("The ID token does not belong to this sign-in (nonce).")]
    NonceMismatch,
    #[error("The ID token is not valid: {0}")]
    TokenInvalid(String),
    #[error("The identity provider did not say which email address you have.")]
    NoEmail,
}

/// A request the client refused to send, or failed to.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Transport(String),
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
}

/// Connections to a name resolve only to public addresses, unless the operator allows the
/// host: checked at connection time, so a name that changes its answer between the check of
/// the URL and the request (DNS rebinding) is caught too.
struct PublicOnly {
    allowed: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let allowed = host_allowed(&host, &self.allowed);
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found.into_iter().filter(|a| allowed || is_public(a.ip())).collect();
            if kept.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to no public address").into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP side of the flow, for one organization's provider.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    allowed: Arc<Vec<String>>,
}

impl Http {
    /// A client for providers, allowing the operator's private hosts (`allowed`).
    pub fn new(allowed: &[String]) -> Result<Http, OidcError> {
        let allowed = Arc::new(allowed.to_vec());
        let client = reqwest::Client::builder()
            // a redirect would lead the server where the checks above did not look
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .dns_resolver(Arc::new(PublicOnly { allowed: allowed.clone() }))
            .build()
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        Ok(Http { client, allowed })
    }

    /// One request of the flow: its URL checked, then sent, its answer read up to the limit.
    async fn send(&self, request: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, FetchError> {
        check_fetch_url(&request.uri().to_string(), &self.allowed).map_err(FetchError::Refused)?;
        let request = reqwest::Request::try_from(request).map_err(|e| FetchError::Transport(e.to_string()))?;
        let mut response = self.client.execute(request).await.map_err(|e| FetchError::Transport(describe(&e)))?;
        let mut built = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            built = built.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::Transport(describe(&e)))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        built.body(body).map_err(|e| FetchError::Transport(e.to_string()))
    }

    /// Fetches the provider's discovery document and its keys (JWKS). The issuer URL is checked
    /// first, so a refused one says why rather than that it is unreachable.
    pub async fn discover(&self, issuer: &str) -> Result<CoreProviderMetadata, OidcError> {
        check_fetch_url(issuer, &self.allowed).map_err(OidcError::NotAllowed)?;
        let issuer_url = IssuerUrl::new(issuer.to_string()).map_err(|e| OidcError::NotAllowed(format!("{issuer} is not a URL: {e}")))?;
        let send = |request| self.send(request);
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &send).await.map_err(|e| match e {
            openidconnect::DiscoveryError::Request(FetchError::Refused(why)) => OidcError::NotAllowed(why),
            openidconnect::DiscoveryError::Request(other) => OidcError::Unreachable(other.to_string()),
            openidconnect::DiscoveryError::Response(status, _, _) => {
                OidcError::DiscoveryInvalid(format!("it answered HTTP {}", status.as_u16()))
            }
            other => OidcError::DiscoveryInvalid(describe(&other)),
        })?;
        if metadata.jwks().keys().is_empty() {
            return Err(OidcError::NoKeys);
        }
        Ok(metadata)
    }
}

/// The full text of an error and its causes, one after the other.
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What a test of the connection found.
#[derive(Debug, Clone)]
pub struct Tested {
    pub issuer: String,
    pub keys: usize,
}

/// The connection test of the settings page: discovery fetched and keys loaded.
pub async fn test_connection(http: &Http, issuer: &str) -> Result<Tested, OidcError> {
    let metadata = http.discover(issuer).await?;
    Ok(Tested { issuer: metadata.issuer().to_string(), keys: metadata.jwks().keys().len() })
}

/// The secrets of one authorization request, kept on the server until its callback.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Which client Steward is at the provider.
pub struct ClientSettings {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

/// Builds the authorization request: code flow, PKCE (S256), a fresh state and nonce, the
/// address typed as a hint to the provider.
pub async fn start(http: &Http, issuer: &str, settings: &ClientSettings, login_hint: Option<&str>) -> Result<Started, OidcError> {
    let metadata = http.discover(issuer).await?;
    let client = client(metadata, settings)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge);
    if let Some(hint) = login_hint {
        request = request.add_extra_param("login_hint", hint.to_string());
    }
    let (url, state, nonce) = request.url();
    Ok(Started {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

fn client(
    metadata: CoreProviderMetadata,
    settings: &ClientSettings,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    OidcError,
> {
    let redirect = RedirectUrl::new(settings.redirect_uri.clone()).map_err(|e| OidcError::NotAllowed(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        Some(ClientSecret::new(settings.client_secret.clone())),
    )
    .set_redirect_uri(redirect))
}

/// Who the provider says signed in, once the ID token passed every check.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// The callback's work: the code exchanged at the token endpoint (with the PKCE verifier), the
/// ID token checked against the provider's keys fetched now (so a key the provider rotated in
/// since the sign-in started is found), its issuer, audience, expiry and nonce.
pub async fn finish(
    http: &Http,
    issuer: &str,
    settings: &ClientSettings,
    code: &str,
    pkce_verifier: &str,
    nonce: &str,
) -> Result<Identity, OidcError> {
    let metadata = http.discover(issuer).await?;
    let client = client(metadata, settings)?;
    let send = |request| http.send(request);
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| OidcError::DiscoveryInvalid(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
        .request_async(&send)
        .await
        .map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(r) => OidcError::ProviderRefused(r.to_string()),
            openidconnect::RequestTokenError::Request(FetchError::Refused(why)) => OidcError::NotAllowed(why),
            openidconnect::RequestTokenError::Request(other) => OidcError::Unreachable(other.to_string()),
            other => OidcError::ProviderRefused(describe(&other)),
        })?;
    let _ = token.access_token();
    let id_token = token.id_token().ok_or(OidcError::NoIdToken)?;
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &Nonce::new(nonce.to_string())).map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(_) => OidcError::BadSignature,
        ClaimsVerificationError::InvalidAudience(_) => OidcError::WrongAudience,
        ClaimsVerificationError::InvalidIssuer(_) => OidcError::WrongIssuer,
        ClaimsVerificationError::Expired(_) => OidcError::Expired,
        ClaimsVerificationError::InvalidNonce(_) => OidcError::NonceMismatch,
        other => OidcError::TokenInvalid(other.to_string()),
    })?;
    let email = claims.email().map(|e| e.to_string()).ok_or(OidcError::NoEmail)?;
    let name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
    Ok(Identity {
        subject: claims.subject().to_string(),
        email,
        email_verified: claims.email_verified() == Some(true),
        name,
    })
}
