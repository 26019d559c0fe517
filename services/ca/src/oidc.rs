//! Verification of OIDC identity tokens: finding the issuer, discovery, cached JWKS, and the
//! signature and claim checks.
//!
//! Discovery documents are read with a small serde struct of our own instead of openidconnect's
//! `CoreProviderMetadata`, because that type requires `authorization_endpoint`, which the
//! discovery documents of GitHub Actions and Kubernetes do not have. The JWKS parsing, the
//! signature check and the `iss`, `aud` and `exp` checks are openidconnect's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, IssuerUrl, Nonce, SignatureVerificationError,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use sigstack_server::Clock;
use url::Url;

use crate::config::{IssuerConfig, OidcConfig};
use crate::pattern::MetaIssuerPattern;

/// How long discovery and JWKS requests may take (go-oidc's discovery timeout in Fulcio).
const OIDC_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest discovery document or JWKS read.
const MAX_OIDC_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Shortest time between two JWKS fetches for one issuer. A token with an unknown `kid`
/// triggers a fetch, so without this limit anyone could make the CA hammer an identity
/// provider with made-up key ids.
pub const MIN_JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// How far in the future `nbf` may be. SPEC(go-oidc, as Fulcio uses it): "now + 5 min ≥ nbf".
const NOT_BEFORE_LEEWAY: Duration = Duration::from_secs(5 * 60);
/// Redirects followed within one host during discovery.
const MAX_REDIRECTS: usize = 5;
/// Meta-issuer verifiers kept, as Fulcio's 100-entry LRU. When full, the cache is cleared.
const MAX_CACHED_META_ISSUERS: usize = 100;
/// Signature algorithms accepted when discovery lists some: go-oidc's supported set.
const SUPPORTED_ALGORITHMS: [&str; 10] = [
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA",
];
/// SPEC(go-oidc): with no `id_token_signing_alg_values_supported` in discovery, only RS256.
const DEFAULT_ALGORITHM: &str = "RS256";

/// A token that failed verification. Every variant but `Discovery` is the client's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("the identity token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("the identity token's issuer {0:?} is not a configured OIDC issuer")]
    UnknownIssuer(String),
    #[error("failed to fetch the keys of OIDC issuer {issuer}: {reason}")]
    Discovery { issuer: String, reason: String },
    #[error("the identity token's signing algorithm is not allowed: {0}")]
    DisallowedAlgorithm(String),
    #[error("the identity token's key id {0:?} is not in the issuer's JWKS")]
    UnknownKey(String),
    #[error("the identity token's signature is invalid: {0}")]
    BadSignature(String),
    #[error("the identity token has expired: {0}")]
    Expired(String),
    #[error(
        "the identity token is not valid yet: nbf {not_before} is more than 5 minutes after the current time {now}"
    )]
    NotYetValid { not_before: u64, now: u64 },
    #[error("the identity token has the wrong audience: {0}")]
    WrongAudience(String),
    #[error("the identity token's claims are invalid: {0}")]
    InvalidClaims(String),
}

impl TokenError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "token_malformed",
            Self::UnknownIssuer(_) => "token_unknown_issuer",
            Self::Discovery { .. } => "oidc_discovery",
            Self::DisallowedAlgorithm(_) => "token_disallowed_algorithm",
            Self::UnknownKey(_) => "token_unknown_key",
            Self::BadSignature(_) => "token_bad_signature",
            Self::Expired(_) => "token_expired",
            Self::NotYetValid { .. } => "token_not_yet_valid",
            Self::WrongAudience(_) => "token_wrong_audience",
            Self::InvalidClaims(_) => "token_invalid_claims",
        }
    }
}

/// A token whose signature, issuer, audience and times were verified.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// The `iss` claim.
    pub issuer: String,
    /// Configuration of the issuer, or of the meta-issuer whose pattern `iss` matched.
    pub config: Arc<IssuerConfig>,
    /// Every claim of the payload.
    pub claims: Map<String, Value>,
}

/// One issuer configuration with its HTTP client (which trusts the configured CA bundle).
#[derive(Debug)]
struct IssuerSettings {
    config: Arc<IssuerConfig>,
    http: reqwest::Client,
}

/// Cached keys of one issuer.
#[derive(Debug)]
struct KeySet {
    jwks: CoreJsonWebKeySet,
    algorithms: Vec<CoreJwsSigningAlgorithm>,
    fetched_at: SystemTime,
}

/// An issuer URL with its settings and cached keys.
#[derive(Debug)]
struct IssuerVerifier {
    issuer: String,
    settings: Arc<IssuerSettings>,
    keys: tokio::sync::RwLock<Option<Arc<KeySet>>>,
    /// Held while fetching, so concurrent requests share one fetch.
    refresh: tokio::sync::Mutex<()>,
}

/// The configured issuers and meta-issuers, with their verifiers.
pub struct IssuerPool {
    exact: HashMap<String, Arc<IssuerVerifier>>,
    meta: Vec<(MetaIssuerPattern, Arc<IssuerSettings>)>,
    meta_verifiers: Mutex<HashMap<String, Arc<IssuerVerifier>>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for IssuerPool {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("IssuerPool")
            .field("issuers", &self.exact.keys().collect::<Vec<_>>())
            .field("meta_issuers", &self.meta.len())
            .finish_non_exhaustive()
    }
}

impl IssuerPool {
    /// Builds the HTTP client of every issuer. CA bundle paths are taken relative to
    /// `data_dir`. Nothing is fetched yet: each issuer is discovered on its first token, so the
    /// CA can start before its identity providers.
    pub fn new(
        config: &OidcConfig,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let mut exact = HashMap::new();
        for (issuer, issuer_config) in &config.issuers {
            let settings = Arc::new(IssuerSettings::new(issuer, issuer_config, data_dir)?);
            exact.insert(
                issuer.clone(),
                Arc::new(IssuerVerifier::new(issuer, settings)),
            );
        }
        let mut meta = Vec::new();
        for (pattern, issuer_config) in &config.meta_issuers {
            let parsed = MetaIssuerPattern::new(pattern)
                .map_err(|reason| format!("meta-issuer {pattern:?}: {reason}"))?;
            meta.push((
                parsed,
                Arc::new(IssuerSettings::new(pattern, issuer_config, data_dir)?),
            ));
        }
        Ok(Self {
            exact,
            meta,
            meta_verifiers: Mutex::new(HashMap::new()),
            clock,
        })
    }

    /// Verifies `token` and returns its claims.
    ///
    /// SPEC(Fulcio, go-oidc): the issuer is found from the unverified `iss`, by exact match
    /// first and then by meta-issuer pattern. The signature must verify with a key of the
    /// issuer's JWKS, under an algorithm that discovery lists. `iss` equals the issuer, `aud`
    /// contains the client id, `exp` is not in the past, and `nbf`, when present, is at most
    /// 5 minutes ahead.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let unverified = UnverifiedToken::parse(token)?;
        let verifier = self.find(&unverified.issuer)?;
        let now = self.clock.now();

        let mut keys = verifier.keys(now, false).await?;
        if !keys.algorithms.contains(&unverified.algorithm) {
            return Err(TokenError::DisallowedAlgorithm(format!(
                "{} is not one the issuer lists",
                unverified.algorithm_name
            )));
        }
        // A key id the cached JWKS lacks may belong to a rotated key: fetch the JWKS again.
        if let Some(kid) = &unverified.key_id {
            if !keys.has_key_id(kid) {
                keys = verifier.keys(now, true).await?;
                if !keys.has_key_id(kid) {
                    return Err(TokenError::UnknownKey(kid.clone()));
                }
            }
        }

        match verifier.check(token, &keys, self.clock.clone()) {
            // Without a key id, a failed key match may also mean a rotated key.
            Err(TokenError::UnknownKey(_)) if unverified.key_id.is_none() => {
                let keys = verifier.keys(now, true).await?;
                verifier.check(token, &keys, self.clock.clone())?;
            }
            result => result?,
        }

        // openidconnect does not read nbf.
        if let Some(not_before) = unverified.claims.get("nbf") {
            let not_before = not_before
                .as_f64()
                .ok_or_else(|| TokenError::InvalidClaims("nbf is not a number".to_owned()))?;
            let now_seconds = unix_seconds(now);
            let limit = now_seconds.saturating_add(NOT_BEFORE_LEEWAY.as_secs());
            if not_before > limit as f64 {
                return Err(TokenError::NotYetValid {
                    not_before: not_before as u64,
                    now: now_seconds,
                });
            }
        }

        Ok(VerifiedToken {
            issuer: unverified.issuer,
            config: verifier.settings.config.clone(),
            claims: unverified.claims,
        })
    }

    /// Finds the verifier for `issuer`: an exact entry, or one made for a matching meta-issuer.
    fn find(&self, issuer: &str) -> Result<Arc<IssuerVerifier>, TokenError> {
        if let Some(verifier) = self.exact.get(issuer) {
            return Ok(verifier.clone());
        }
        let settings = self
            .meta
            .iter()
            .find(|(pattern, _)| pattern.matches(issuer))
            .map(|(_, settings)| settings.clone())
            .ok_or_else(|| TokenError::UnknownIssuer(issuer.to_owned()))?;
        let mut cache = self
            .meta_verifiers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(verifier) = cache.get(issuer) {
            return Ok(verifier.clone());
        }
        if cache.len() >= MAX_CACHED_META_ISSUERS {
            cache.clear();
        }
        let verifier = Arc::new(IssuerVerifier::new(issuer, settings));
        cache.insert(issuer.to_owned(), verifier.clone());
        Ok(verifier)
    }
}

impl IssuerSettings {
    fn new(issuer: &str, config: &IssuerConfig, data_dir: &Path) -> Result<Self, String> {
        // SPEC(Fulcio): cross-host redirects are refused during discovery.
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            let first_host = attempt
                .previous()
                .first()
                .and_then(|first| first.host_str());
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if first_host != attempt.url().host_str() {
                attempt.error("cross-host redirect refused")
            } else {
                attempt.follow()
            }
        });
        let mut builder = reqwest::Client::builder()
            .timeout(OIDC_HTTP_TIMEOUT)
            .redirect(redirects);
        if let Some(bundle) = &config.ca_bundle_file {
            let path = data_dir.join(bundle);
            let pem = std::fs::read(&path).map_err(|error| {
                format!(
                    "OIDC issuer {issuer:?}: failed to read CA bundle {}: {error}",
                    path.display()
                )
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
                format!(
                    "OIDC issuer {issuer:?}: CA bundle {} is not PEM: {error}",
                    path.display()
                )
            })?;
            if certificates.is_empty() {
                return Err(format!(
                    "OIDC issuer {issuer:?}: CA bundle {} holds no certificate",
                    path.display()
                ));
            }
            builder = builder.tls_certs_merge(certificates);
        }
        let http = builder.build().map_err(|error| {
            format!("OIDC issuer {issuer:?}: failed to build the HTTP client: {error}")
        })?;
        Ok(Self {
            config: Arc::new(config.clone()),
            http,
        })
    }
}

impl KeySet {
    fn has_key_id(&self, kid: &str) -> bool {
        use openidconnect::JsonWebKey as _;
        self.jwks
            .keys()
            .iter()
            .any(|key| key.key_id().is_some_and(|id| id.as_str() == kid))
    }
}

/// The fields of an OpenID Provider Metadata document (OpenID Connect Discovery 1.0 §3)
/// that token verification needs.
#[derive(Deserialize)]
struct ProviderMetadata {
    issuer: String,
    jwks_uri: Url,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

impl IssuerVerifier {
    fn new(issuer: &str, settings: Arc<IssuerSettings>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            settings,
            keys: tokio::sync::RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// Returns the cached keys, fetching them when there are none or when `refresh` is set
    /// and the last fetch is older than [`MIN_JWKS_REFRESH_INTERVAL`].
    async fn keys(&self, now: SystemTime, refresh: bool) -> Result<Arc<KeySet>, TokenError> {
        let is_fresh = |keys: &KeySet| {
            !refresh
                || now
                    .duration_since(keys.fetched_at)
                    .is_ok_and(|age| age < MIN_JWKS_REFRESH_INTERVAL)
                || now < keys.fetched_at
        };
        if let Some(keys) = self.keys.read().await.as_ref() {
            if is_fresh(keys) {
                return Ok(keys.clone());
            }
        }
        let _fetching = self.refresh.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(keys) = self.keys.read().await.as_ref() {
            if keys.fetched_at >= now || is_fresh(keys) {
                return Ok(keys.clone());
            }
        }
        let keys = Arc::new(self.fetch(now).await.map_err(|reason| {
            tracing::warn!(issuer = %self.issuer, %reason, "OIDC discovery failed");
            TokenError::Discovery {
                issuer: self.issuer.clone(),
                reason,
            }
        })?);
        *self.keys.write().await = Some(keys.clone());
        Ok(keys)
    }

    /// Fetches the discovery document and the JWKS.
    async fn fetch(&self, now: SystemTime) -> Result<KeySet, String> {
        // SPEC(OpenID Connect Discovery 1.0 §4): the document is at the issuer with
        // "/.well-known/openid-configuration" appended, after removing a trailing "/".
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let metadata: ProviderMetadata = self.get_json(&discovery_url).await?;
        // SPEC(OpenID Connect Discovery 1.0 §4.3): "The issuer value returned MUST be
        // identical to the Issuer URL that was used as the prefix".
        if metadata.issuer != self.issuer {
            return Err(format!(
                "the discovery document names issuer {:?}, not {:?}",
                metadata.issuer, self.issuer
            ));
        }
        let jwks: CoreJsonWebKeySet = self.get_json(metadata.jwks_uri.as_str()).await?;

        let listed = if metadata.id_token_signing_alg_values_supported.is_empty() {
            vec![DEFAULT_ALGORITHM.to_owned()]
        } else {
            metadata.id_token_signing_alg_values_supported
        };
        let algorithms: Vec<CoreJwsSigningAlgorithm> = listed
            .iter()
            .filter(|name| SUPPORTED_ALGORITHMS.contains(&name.as_str()))
            .filter_map(|name| serde_json::from_value(Value::String(name.clone())).ok())
            .collect();
        if algorithms.is_empty() {
            return Err(format!(
                "the issuer lists no supported signing algorithm (it lists {listed:?})"
            ));
        }
        tracing::info!(
            issuer = %self.issuer,
            keys = jwks.keys().len(),
            algorithms = ?listed,
            "fetched OIDC issuer keys"
        );
        Ok(KeySet {
            jwks,
            algorithms,
            fetched_at: now,
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let mut response = self
            .settings
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|error| format!("GET {url}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| format!("GET {url}: {error}"))?
        {
            if body.len() + chunk.len() > MAX_OIDC_DOCUMENT_BYTES {
                return Err(format!(
                    "GET {url}: larger than {MAX_OIDC_DOCUMENT_BYTES} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|error| format!("GET {url}: invalid JSON: {error}"))
    }

    /// Runs openidconnect's signature, `iss`, `aud` and `exp` checks.
    fn check(&self, token: &str, keys: &KeySet, clock: Arc<dyn Clock>) -> Result<(), TokenError> {
        let parsed: CoreIdToken = token
            .parse()
            .map_err(|error: serde_json::Error| TokenError::Malformed(error.to_string()))?;
        let issuer = IssuerUrl::new(self.issuer.clone())
            .map_err(|error| TokenError::Malformed(error.to_string()))?;
        let verifier = CoreIdTokenVerifier::new_public_client(
            ClientId::new(self.settings.config.client_id.clone()),
            issuer,
            keys.jwks.clone(),
        )
        .set_allowed_algs(keys.algorithms.iter().cloned())
        // Fulcio requires only that aud contains the client id; other audiences are allowed.
        .set_other_audience_verifier_fn(|_| true)
        .set_time_fn(move || chrono::DateTime::<chrono::Utc>::from(clock.now()));
        // Identity tokens for Sigstore are not bound to a nonce.
        let no_nonce = |_: Option<&Nonce>| Ok(());
        parsed
            .claims(&verifier, no_nonce)
            .map(|_| ())
            .map_err(|error| map_claims_error(error, self))
    }
}

fn map_claims_error(error: ClaimsVerificationError, verifier: &IssuerVerifier) -> TokenError {
    match error {
        ClaimsVerificationError::Expired(reason) => TokenError::Expired(reason),
        ClaimsVerificationError::InvalidAudience(reason) => TokenError::WrongAudience(reason),
        ClaimsVerificationError::InvalidIssuer(reason) => {
            TokenError::InvalidClaims(format!("iss: {reason}"))
        }
        ClaimsVerificationError::SignatureVerification(signature) => match signature {
            SignatureVerificationError::NoMatchingKey => {
                TokenError::UnknownKey(format!("no key of {} fits the token", verifier.issuer))
            }
            SignatureVerificationError::DisallowedAlg(reason)
            | SignatureVerificationError::UnsupportedAlg(reason) => {
                TokenError::DisallowedAlgorithm(reason)
            }
            SignatureVerificationError::NoSignature => {
                TokenError::DisallowedAlgorithm("the token is unsigned".to_owned())
            }
            other => TokenError::BadSignature(other.to_string()),
        },
        other => TokenError::InvalidClaims(other.to_string()),
    }
}

/// The parts of a JWT read before its signature is checked: enough to find the issuer and key.
struct UnverifiedToken {
    issuer: String,
    algorithm: CoreJwsSigningAlgorithm,
    algorithm_name: String,
    key_id: Option<String>,
    claims: Map<String, Value>,
}

impl UnverifiedToken {
    /// SPEC(RFC 7515 §7.1): the compact serialization is three base64url parts separated by
    /// dots.
    fn parse(token: &str) -> Result<Self, TokenError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, _signature] = parts.as_slice() else {
            return Err(TokenError::Malformed(format!(
                "it has {} dot-separated parts, not 3",
                parts.len()
            )));
        };
        let decode = |part: &str, name: &str| -> Result<Map<String, Value>, TokenError> {
            let bytes = URL_SAFE_NO_PAD
                .decode(part.trim_end_matches('='))
                .map_err(|error| {
                    TokenError::Malformed(format!("{name} is not base64url: {error}"))
                })?;
            serde_json::from_slice(&bytes).map_err(|error| {
                TokenError::Malformed(format!("{name} is not a JSON object: {error}"))
            })
        };
        let header = decode(header, "header")?;
        let claims = decode(payload, "payload")?;

        let algorithm_name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::Malformed("the header has no alg".to_owned()))?
            .to_owned();
        // SPEC(RFC 8725 §3.1): "none" and MAC algorithms are never accepted for tokens signed
        // by a third party; only the asymmetric algorithms in SUPPORTED_ALGORITHMS are.
        if !SUPPORTED_ALGORITHMS.contains(&algorithm_name.as_str()) {
            return Err(TokenError::DisallowedAlgorithm(format!(
                "{algorithm_name:?} is not an asymmetric signature algorithm"
            )));
        }
        let algorithm = serde_json::from_value(Value::String(algorithm_name.clone()))
            .map_err(|error| TokenError::DisallowedAlgorithm(error.to_string()))?;
        let key_id = match header.get("kid") {
            None | Some(Value::Null) => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(TokenError::Malformed("kid is not a string".to_owned())),
        };
        let issuer = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::Malformed("the payload has no iss claim".to_owned()))?
            .to_owned();
        Ok(Self {
            issuer,
            algorithm,
            algorithm_name,
            key_id,
            claims,
        })
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn unverified_parts() {
        let token = format!(
            "{}.{}.sig",
            encode(serde_json::json!({"alg": "ES256", "kid": "k1"})),
            encode(serde_json::json!({"iss": "https://idp", "sub": "s"}))
        );
        let parsed = UnverifiedToken::parse(&token).expect("parse");
        assert_eq!(parsed.issuer, "https://idp");
        assert_eq!(parsed.key_id.as_deref(), Some("k1"));
        assert_eq!(parsed.algorithm, CoreJwsSigningAlgorithm::EcdsaP256Sha256);
    }

    #[test]
    fn unsigned_and_mac_tokens_are_rejected_before_lookup() {
        for alg in ["none", "HS256", "HS512"] {
            let token = format!(
                "{}.{}.",
                encode(serde_json::json!({"alg": alg})),
                encode(serde_json::json!({"iss": "https://idp"}))
            );
            let error = UnverifiedToken::parse(&token).err().expect("rejected");
            assert!(
                matches!(error, TokenError::DisallowedAlgorithm(_)),
                "{alg}: {error}"
            );
        }
        let error = UnverifiedToken::parse("a.b").err().expect("two parts");
        assert!(matches!(error, TokenError::Malformed(_)), "{error}");
    }
}
