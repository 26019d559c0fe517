//! The HTTP service: Fulcio's v2 and legacy v1 APIs, health, readiness and metrics.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};
use rand::{RngCore, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};
use sigstack_keys::KeyPassword;
use sigstack_server::{
    Clock, ErrorKind, Fault, HttpMetrics, Readiness, ReadinessReport, health_routes, log_error,
    metrics_route,
};

use crate::config::{CaConfig, ConfigError, IssuerConfig, IssuerType};
use crate::ct::{CtClient, CtError};
use crate::issue::{CaError, IssuedCertificate, KeyRequest};
use crate::material::{CaMaterial, MaterialError};
use crate::oidc::{IssuerPool, TokenError};

/// Media type of the legacy v1 responses (RFC 8555 §9.1).
pub const PEM_CERTIFICATE_CHAIN: &str = "application/pem-certificate-chain";
/// Metric and log name of this service, after Fulcio's metric names.
const SERVICE: &str = "fulcio";

/// gRPC status codes used in error bodies (grpc-go `codes`).
const GRPC_INVALID_ARGUMENT: u16 = 3;
const GRPC_RESOURCE_EXHAUSTED: u16 = 8;
const GRPC_INTERNAL: u16 = 13;
const GRPC_UNAVAILABLE: u16 = 14;
const GRPC_UNAUTHENTICATED: u16 = 16;

/// A failure to start the CA. Each message names the file or setting to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Material(#[from] MaterialError),
    #[error("{0}")]
    Oidc(String),
    #[error("CT log: {0}")]
    CtLog(String),
    #[error("failed to register CA metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// The certificate authority: its key and chain, the trusted issuers, the CT log client.
pub struct Ca {
    pub(crate) material: CaMaterial,
    pub(crate) issuers: IssuerPool,
    pub(crate) ct_log: Option<CtClient>,
    pub(crate) validity: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    /// Source of serial numbers; seeded in tests so certificates are reproducible.
    pub(crate) serial_rng: Mutex<Box<dyn RngCore + Send>>,
    pub(crate) metrics: CaMetrics,
    max_request_body_bytes: usize,
    /// The body of `/api/v2/configuration`, built once from the issuer tables.
    configuration: Value,
    registry: Registry,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Ca")
            .field("key", &self.material.key)
            .field("issuers", &self.issuers)
            .field("ct_log", &self.ct_log.as_ref().map(CtClient::url))
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Checks `config`, loads the key and chain it names (relative paths are taken from
    /// `data_dir`), and builds the service with its metrics in `registry`.
    pub fn load(
        config: &CaConfig,
        data_dir: &Path,
        password: &KeyPassword,
        clock: Arc<dyn Clock>,
        registry: &Registry,
    ) -> Result<Self, StartupError> {
        config.validate()?;
        let material = CaMaterial::load(
            &data_dir.join(&config.key_file),
            &data_dir.join(&config.chain_file),
            password,
            clock.now(),
        )?;
        if !password.is_set() {
            tracing::warn!(
                key_file = %config.key_file.display(),
                "CA key is stored without a password: set SIGSTACK_KEY_PASSWORD to encrypt new keys"
            );
        }
        let rng = rand::rngs::StdRng::from_entropy();
        Self::new(config, data_dir, material, clock, Box::new(rng), registry)
    }

    /// Builds the service from checked material, with `serial_rng` as the source of serial
    /// numbers.
    pub fn new(
        config: &CaConfig,
        data_dir: &Path,
        material: CaMaterial,
        clock: Arc<dyn Clock>,
        serial_rng: Box<dyn RngCore + Send>,
        registry: &Registry,
    ) -> Result<Self, StartupError> {
        config.validate()?;
        let issuers =
            IssuerPool::new(&config.oidc, data_dir, clock.clone()).map_err(StartupError::Oidc)?;
        let ct_log = match &config.ct_log_url {
            Some(url) => {
                let log_key = match &config.ct_log_public_key_file {
                    Some(path) => Some(read_ct_log_key(&data_dir.join(path))?),
                    None => None,
                };
                Some(CtClient::new(url, log_key).map_err(StartupError::CtLog)?)
            }
            None => {
                tracing::warn!("no CT log configured: certificates are issued without SCTs");
                None
            }
        };
        if config.oidc.issuers.is_empty() && config.oidc.meta_issuers.is_empty() {
            tracing::warn!("no OIDC issuer configured: every certificate request will be rejected");
        }
        let metrics = CaMetrics::register(registry)?;
        Ok(Self {
            material,
            issuers,
            ct_log,
            validity: Duration::from_secs(config.validity_seconds),
            clock,
            serial_rng: Mutex::new(serial_rng),
            metrics,
            max_request_body_bytes: config.max_request_body_bytes,
            configuration: configuration_body(config),
            registry: registry.clone(),
        })
    }

    /// Returns the CA chain as trimmed PEM blocks, issuing CA first and root last.
    pub fn chain_pem(&self) -> &[String] {
        &self.material.chain_pem
    }
}

fn read_ct_log_key(path: &Path) -> Result<p256::ecdsa::VerifyingKey, StartupError> {
    use p256::pkcs8::DecodePublicKey as _;
    let pem = std::fs::read_to_string(path).map_err(|error| {
        StartupError::CtLog(format!(
            "failed to read public key {}: {error}",
            path.display()
        ))
    })?;
    p256::ecdsa::VerifyingKey::from_public_key_pem(pem.trim()).map_err(|error| {
        StartupError::CtLog(format!(
            "public key {} is not an ECDSA P-256 PUBLIC KEY PEM: {error}",
            path.display()
        ))
    })
}

impl ErrorKind for CaError {
    fn kind(&self) -> &'static str {
        CaError::kind(self)
    }

    fn fault(&self) -> Fault {
        match self {
            Self::Token(TokenError::Discovery { .. }) | Self::CtLog(_) => Fault::Dependency,
            Self::Encoding(_) => Fault::Server,
            _ => Fault::Client,
        }
    }
}

impl CaError {
    /// Returns the gRPC code of the error body. Client errors are InvalidArgument, as in
    /// Fulcio's `grpc_server.go`, except a missing token (Unauthenticated) and an oversized
    /// body (ResourceExhausted). CA and CT log failures are Internal. An unreachable identity
    /// provider is Unavailable.
    fn grpc_code(&self) -> u16 {
        match self {
            Self::MissingToken => GRPC_UNAUTHENTICATED,
            Self::BodyTooLarge { .. } => GRPC_RESOURCE_EXHAUSTED,
            Self::Token(TokenError::Discovery { .. }) => GRPC_UNAVAILABLE,
            Self::CtLog(_) | Self::Encoding(_) => GRPC_INTERNAL,
            Self::Token(_)
            | Self::Principal(_)
            | Self::Key(_)
            | Self::WrongProofOfPossession { .. }
            | Self::InvalidRequest(_)
            | Self::Unencodable(_) => GRPC_INVALID_ARGUMENT,
        }
    }
}

impl IntoResponse for CaError {
    /// SPEC(grpc-gateway v2 default error handler): `{"code", "message", "details": []}` with the
    /// HTTP status of the gRPC code.
    fn into_response(self) -> Response {
        let code = self.grpc_code();
        let status = match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => match code {
                GRPC_INVALID_ARGUMENT => StatusCode::BAD_REQUEST,
                GRPC_UNAUTHENTICATED => StatusCode::UNAUTHORIZED,
                GRPC_UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        };
        // Internal errors name what failed but not the cause, which goes to the log.
        let message = self.to_string();
        (
            status,
            axum::Json(json!({ "code": code, "message": message, "details": [] })),
        )
            .into_response()
    }
}

/// `CreateSigningCertificateRequest` of `dev.sigstore.fulcio.v2`, read as protojson: both the
/// lowerCamelCase and the proto field names, unknown fields ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SigningCertificateRequestV2 {
    credentials: Option<Credentials>,
    #[serde(alias = "public_key_request")]
    #[serde(rename = "publicKeyRequest")]
    public_key_request: Option<PublicKeyRequestV2>,
    #[serde(
        rename = "certificateSigningRequest",
        alias = "certificate_signing_request"
    )]
    certificate_signing_request: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Credentials {
    #[serde(rename = "oidcIdentityToken", alias = "oidc_identity_token")]
    oidc_identity_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PublicKeyRequestV2 {
    #[serde(rename = "publicKey", alias = "public_key")]
    public_key: Option<PublicKeyV2>,
    #[serde(rename = "proofOfPossession", alias = "proof_of_possession")]
    proof_of_possession: Option<String>,
}

/// `algorithm` is read as any value and ignored: the key's own type decides.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PublicKeyV2 {
    #[allow(dead_code)]
    algorithm: Option<Value>,
    content: Option<String>,
}

/// `CertificateRequest` of the legacy `dev.sigstore.fulcio.v1beta` API.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SigningCertificateRequestV1 {
    #[serde(rename = "publicKey", alias = "public_key")]
    public_key: Option<PublicKeyV1>,
    #[serde(rename = "signedEmailAddress", alias = "signed_email_address")]
    signed_email_address: Option<String>,
    #[serde(
        rename = "certificateSigningRequest",
        alias = "certificate_signing_request"
    )]
    certificate_signing_request: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PublicKeyV1 {
    #[allow(dead_code)]
    algorithm: Option<Value>,
    content: Option<String>,
}

/// Decodes a protojson `bytes` field. SPEC(protojson): standard or URL-safe base64, padded or
/// not, are all accepted.
fn decode_bytes(field: &str, text: &str) -> Result<Vec<u8>, CaError> {
    let normalized: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    STANDARD_NO_PAD
        .decode(normalized)
        .map_err(|error| CaError::InvalidRequest(format!("{field} is not base64: {error}")))
}

/// Returns the token from the body, or else from `Authorization: Bearer`.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

fn parse_body<T: serde::de::DeserializeOwned>(
    ca: &Ca,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, CaError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            CaError::BodyTooLarge {
                limit: ca.max_request_body_bytes,
            }
        } else {
            CaError::InvalidRequest(rejection.body_text())
        }
    })?;
    serde_json::from_slice(&body)
        .map_err(|error| CaError::InvalidRequest(format!("the body is not valid JSON: {error}")))
}

fn v2_request(
    headers: &HeaderMap,
    request: SigningCertificateRequestV2,
) -> Result<(String, KeyRequest), CaError> {
    let token = request
        .credentials
        .and_then(|credentials| credentials.oidc_identity_token)
        .filter(|token| !token.is_empty())
        .or_else(|| bearer_token(headers))
        .ok_or(CaError::MissingToken)?;
    let csr = request
        .certificate_signing_request
        .filter(|csr| !csr.is_empty());
    let key = match (request.public_key_request, csr) {
        (Some(_), Some(_)) => {
            return Err(CaError::InvalidRequest(
                "send either publicKeyRequest or certificateSigningRequest, not both".to_owned(),
            ));
        }
        (None, None) => {
            return Err(CaError::InvalidRequest(
                "send publicKeyRequest or certificateSigningRequest".to_owned(),
            ));
        }
        (None, Some(csr)) => {
            KeyRequest::CertificateSigningRequest(decode_bytes("certificateSigningRequest", &csr)?)
        }
        (Some(public_key_request), None) => {
            let content = public_key_request
                .public_key
                .and_then(|key| key.content)
                .ok_or_else(|| {
                    CaError::InvalidRequest(
                        "publicKeyRequest.publicKey.content is missing".to_owned(),
                    )
                })?;
            let proof = public_key_request.proof_of_possession.ok_or_else(|| {
                CaError::InvalidRequest("publicKeyRequest.proofOfPossession is missing".to_owned())
            })?;
            KeyRequest::PublicKey {
                content: content.into_bytes(),
                proof_of_possession: decode_bytes("proofOfPossession", &proof)?,
            }
        }
    };
    Ok((token, key))
}

fn v1_request(
    headers: &HeaderMap,
    request: SigningCertificateRequestV1,
) -> Result<(String, KeyRequest), CaError> {
    let token = bearer_token(headers).ok_or(CaError::MissingToken)?;
    if let Some(csr) = request
        .certificate_signing_request
        .filter(|csr| !csr.is_empty())
    {
        return Ok((
            token,
            KeyRequest::CertificateSigningRequest(decode_bytes("certificateSigningRequest", &csr)?),
        ));
    }
    let content = request
        .public_key
        .and_then(|key| key.content)
        .ok_or_else(|| CaError::InvalidRequest("publicKey.content is missing".to_owned()))?;
    let proof = request
        .signed_email_address
        .ok_or_else(|| CaError::InvalidRequest("signedEmailAddress is missing".to_owned()))?;
    Ok((
        token,
        KeyRequest::PublicKey {
            content: decode_bytes("publicKey.content", &content)?,
            proof_of_possession: decode_bytes("signedEmailAddress", &proof)?,
        },
    ))
}

impl Ca {
    fn record_failure(&self, error: &CaError) {
        log_error(SERVICE, error);
        if let CaError::CtLog(CtError::Unreachable { source, .. }) = error {
            tracing::error!(service = SERVICE, error = %source, "CT log request failed");
        }
        self.metrics.errors.with_label_values(&[error.kind()]).inc();
    }
}

/// Reads the token and the key request out of a parsed body.
type IntoRequest<T> = fn(&HeaderMap, T) -> Result<(String, KeyRequest), CaError>;

/// Parses a request body with `into_request` and issues the certificate; a failure is logged,
/// counted and turned into Fulcio's error response.
async fn issue_from_body<T: serde::de::DeserializeOwned>(
    ca: &Ca,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    into_request: IntoRequest<T>,
) -> Result<IssuedCertificate, Response> {
    let result = async {
        let (token, key) = into_request(headers, parse_body(ca, body)?)?;
        ca.issue(&token, key).await
    }
    .await;
    result.map_err(|error| {
        ca.record_failure(&error);
        error.into_response()
    })
}

async fn signing_cert_v2(
    State(ca): State<Arc<Ca>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match issue_from_body(&ca, &headers, body, v2_request).await {
        Ok(issued) => (StatusCode::OK, axum::Json(v2_response(&issued))).into_response(),
        Err(response) => response,
    }
}

/// `SigningCertificate`: the embedded-SCT form whenever there is a CT log, otherwise Fulcio's
/// detached form with an empty SCT.
fn v2_response(issued: &IssuedCertificate) -> Value {
    let chain = json!({ "certificates": issued.chain_pem });
    match issued.sct {
        Some(_) => json!({ "signedCertificateEmbeddedSct": { "chain": chain } }),
        None => json!({
            "signedCertificateDetachedSct": { "chain": chain, "signedCertificateTimestamp": "" }
        }),
    }
}

async fn signing_cert_v1(
    State(ca): State<Arc<Ca>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match issue_from_body(&ca, &headers, body, v1_request).await {
        // SPEC(Fulcio legacy API, as gitsign's client requires): HTTP 201 exactly, the PEM
        // chain leaf first, joined with "\n". The SCT is embedded, so no SCT header is sent.
        Ok(issued) => (
            StatusCode::CREATED,
            [(
                CONTENT_TYPE,
                HeaderValue::from_static(PEM_CERTIFICATE_CHAIN),
            )],
            issued.chain_pem.join("\n"),
        )
            .into_response(),
        Err(response) => response,
    }
}

async fn trust_bundle(State(ca): State<Arc<Ca>>) -> Response {
    axum::Json(json!({ "chains": [ { "certificates": ca.material.chain_pem } ] })).into_response()
}

async fn root_cert(State(ca): State<Arc<Ca>>) -> Response {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static(PEM_CERTIFICATE_CHAIN),
        )],
        ca.material.chain_pem.join("\n"),
    )
        .into_response()
}

async fn configuration(State(ca): State<Arc<Ca>>) -> Response {
    axum::Json(ca.configuration.clone()).into_response()
}

/// Builds the `GET /api/v2/configuration` body: every issuer with all non-oneof fields, as
/// protojson with EmitUnpopulated writes them.
fn configuration_body(config: &CaConfig) -> Value {
    let describe = |url_key: &str, url: &str, issuer: &IssuerConfig| {
        let challenge_claim = issuer
            .challenge_claim
            .clone()
            .unwrap_or_else(|| issuer.issuer_type.default_challenge_claim().to_owned());
        let mut entry = json!({
            "audience": issuer.client_id,
            "challengeClaim": challenge_claim,
            "spiffeTrustDomain": issuer.spiffe_trust_domain.clone().unwrap_or_default(),
            "issuerType": issuer.issuer_type.as_str(),
            "subjectDomain": issuer.subject_domain.clone().unwrap_or_default(),
            "skipEmailVerification": issuer.issuer_type == IssuerType::Email && issuer.skip_email_verification,
        });
        entry[url_key] = Value::String(url.to_owned());
        entry
    };
    let exact = config
        .oidc
        .issuers
        .iter()
        .map(|(url, issuer)| describe("issuerUrl", url, issuer));
    let meta = config
        .oidc
        .meta_issuers
        .iter()
        .map(|(pattern, issuer)| describe("wildcardIssuerUrl", pattern, issuer));
    json!({ "issuers": exact.chain(meta).collect::<Vec<_>>() })
}

impl Readiness for Ca {
    async fn check(&self) -> ReadinessReport {
        let mut report = ReadinessReport::default();
        let now = self.clock.now();
        let validity = &self.material.chain[0].tbs_certificate.validity;
        let valid = if now < validity.not_before.to_system_time() {
            Err("the issuing CA certificate is not valid yet".to_owned())
        } else if now + self.validity > validity.not_after.to_system_time() {
            Err("the issuing CA certificate expires before a new certificate would".to_owned())
        } else {
            Ok(())
        };
        report.check("ca_certificate_valid", valid);
        report.check("signer", self.probe_signer());
        report
    }
}

impl Ca {
    /// Signs a fixed message and verifies the signature with the issuing CA's public key.
    fn probe_signer(&self) -> Result<(), String> {
        let message = b"sigstack CA readiness probe";
        let signature = self.material.key.sign(message);
        let spki = der::Encode::to_der(
            &self.material.chain[0]
                .tbs_certificate
                .subject_public_key_info,
        )
        .map_err(|error| error.to_string())?;
        let key = crate::public_key::PublicKey::from_spki_der(&spki)
            .map_err(|error| error.to_string())?;
        key.verify_with_algorithm(
            &self.material.key.signature_algorithm().oid,
            message,
            &signature,
        )
    }
}

/// Routes every endpoint of the CA: the Fulcio v2 and v1 APIs, `/ping`, `/healthz`, `/readyz`
/// and `/metrics`. Unknown paths get a JSON 404.
pub fn router(ca: Arc<Ca>) -> Router {
    let limit = DefaultBodyLimit::max(ca.max_request_body_bytes);
    // Fulcio allows any origin (rs/cors defaults), so browser-based clients can call it.
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([CONTENT_TYPE, AUTHORIZATION]);
    let api = Router::new()
        .route(
            "/api/v2/signingCert",
            post(signing_cert_v2).layer(limit.clone()),
        )
        .route("/api/v1/signingCert", post(signing_cert_v1).layer(limit))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v2/configuration", get(configuration))
        .route("/api/v1/rootCert", get(root_cert))
        .layer(cors)
        .with_state(ca.clone());
    api.merge(health_routes(ca.clone()))
        .merge(metrics_route(ca.registry.clone()))
        .fallback(|| async {
            let body = json!({ "code": 5, "message": "no such endpoint", "details": [] });
            (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
        })
        .layer(axum::middleware::from_fn_with_state(
            ca.metrics.http.clone(),
            HttpMetrics::track,
        ))
}

/// The service's own metrics, beside the per-route HTTP metrics.
#[derive(Debug, Clone)]
pub(crate) struct CaMetrics {
    http: HttpMetrics,
    pub(crate) issued: IntCounter,
    errors: IntCounterVec,
    pub(crate) ct_latency: Histogram,
}

impl CaMetrics {
    fn register(registry: &Registry) -> prometheus::Result<Self> {
        let http = HttpMetrics::register(registry, SERVICE)?;
        // Fulcio's own name for the issuance counter.
        let issued = IntCounter::new(
            "fulcio_new_certs",
            "The total number of certificates generated",
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "fulcio_certificate_request_errors_total",
                "Certificate requests that failed, by error kind",
            ),
            &["kind"],
        )?;
        let ct_latency = Histogram::with_opts(
            HistogramOpts::new(
                "fulcio_ct_log_latency_seconds",
                "Latency of add-pre-chain calls to the CT log",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )?;
        registry.register(Box::new(issued.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(ct_latency.clone()))?;
        Ok(Self {
            http,
            issued,
            errors,
            ct_latency,
        })
    }
}
