//! The provider's HTTP endpoints: discovery, JWKS and the token endpoint.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sigstack_server::{Clock, Readiness, ReadinessReport};

use crate::{IdTokenClaims, IdpConfig, TokenSigner};

/// Path of the JWKS document, under the issuer URL.
const JWKS_PATH: &str = "/keys";
/// Path of the token endpoint, under the issuer URL.
const TOKEN_PATH: &str = "/token";
/// Largest accepted token request body; a client_credentials request is a few hundred bytes.
const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;

/// The identity provider: its configuration, signing key, clock and client secrets.
#[derive(Debug)]
pub struct IdentityProvider {
    config: IdpConfig,
    signer: TokenSigner,
    clock: Arc<dyn Clock>,
    /// SHA-256 of each client's secret by client ID; comparing digests keeps the comparison
    /// time independent of where the secrets differ.
    client_secrets: HashMap<String, ([u8; 32], String)>,
}

impl IdentityProvider {
    /// Builds the provider, reading client secret files relative to `data_dir`.
    pub fn new(
        config: IdpConfig,
        signer: TokenSigner,
        clock: Arc<dyn Clock>,
        data_dir: &Path,
    ) -> Result<Self, String> {
        config.validate()?;
        let mut client_secrets = HashMap::new();
        for client in &config.clients {
            let secret = match (&client.client_secret, &client.client_secret_file) {
                (Some(secret), _) => secret.clone(),
                (None, Some(file)) => std::fs::read_to_string(data_dir.join(file))
                    .map_err(|error| {
                        format!(
                            "failed to read the secret of idp client {:?} from {}: {error}",
                            client.client_id,
                            file.display()
                        )
                    })?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
                (None, None) => {
                    return Err(format!("idp client {:?} has no secret", client.client_id));
                }
            };
            client_secrets.insert(
                client.client_id.clone(),
                (
                    Sha256::digest(secret.as_bytes()).into(),
                    client.email.clone(),
                ),
            );
        }
        Ok(Self {
            config,
            signer,
            clock,
            client_secrets,
        })
    }

    /// Mints an ID token for `email`, valid from now for the configured lifetime.
    pub fn mint(&self, email: &str) -> Result<String, String> {
        let now = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "system clock is before 1970".to_owned())?
            .as_secs();
        let claims = IdTokenClaims {
            iss: self.config.issuer(),
            sub: email.to_owned(),
            aud: "sigstore".to_owned(),
            iat: now,
            nbf: now,
            exp: now + self.config.token_lifetime_seconds,
            email: email.to_owned(),
            email_verified: true,
        };
        self.signer.sign(&claims)
    }

    fn discovery(&self) -> serde_json::Value {
        let issuer = self.config.issuer();
        serde_json::json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}{JWKS_PATH}"),
            "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "email", "email_verified"],
        })
    }

    /// Returns the email of the client whose credentials match, if any.
    fn authenticate(&self, client_id: &str, secret: &str) -> Option<&str> {
        let (expected, email) = self.client_secrets.get(client_id)?;
        let given: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let difference = expected
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (difference == 0).then_some(email.as_str())
    }
}

impl Readiness for IdentityProvider {
    async fn check(&self) -> ReadinessReport {
        let mut report = ReadinessReport::default();
        report.check("signer", self.mint("readiness@probe.invalid").map(drop));
        report
    }
}

/// Builds the router: discovery, JWKS, token endpoint, health and metrics.
pub fn router(provider: Arc<IdentityProvider>) -> Router {
    let registry = prometheus::Registry::new();
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route(JWKS_PATH, get(jwks))
        .route(TOKEN_PATH, post(token))
        .with_state(provider.clone())
        .merge(sigstack_server::health_routes(provider))
        .merge(sigstack_server::metrics_route(registry))
}

async fn discovery(State(provider): State<Arc<IdentityProvider>>) -> Response {
    axum::Json(provider.discovery()).into_response()
}

async fn jwks(State(provider): State<Arc<IdentityProvider>>) -> Response {
    axum::Json(serde_json::json!({ "keys": [provider.signer.jwk()] })).into_response()
}

/// Builds an OAuth 2.0 error response (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    tracing::debug!(error, description, "token request rejected");
    (
        status,
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Handles the `client_credentials` grant (RFC 6749 §4.4), with client authentication by HTTP Basic or
/// by `client_id` and `client_secret` form fields (RFC 6749 §2.3.1).
async fn token(
    State(provider): State<Arc<IdentityProvider>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if body.len() > MAX_TOKEN_REQUEST_BYTES {
        return oauth_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "request body is too large",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only grant_type=client_credentials is supported",
        );
    }
    let credentials = basic_credentials(&headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    let Some((client_id, secret)) = credentials else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is missing",
        );
    };
    let Some(email) = provider.authenticate(&client_id, &secret) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    };
    match provider.mint(email) {
        Ok(token) => {
            tracing::info!(client_id = %client_id, "issued token");
            let body = serde_json::json!({
                "access_token": token,
                "id_token": token,
                "token_type": "Bearer",
                "expires_in": provider.config.token_lifetime_seconds,
            });
            ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "failed to sign a token");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "failed to sign the token",
            )
        }
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    let decode = |part: &str| {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}
