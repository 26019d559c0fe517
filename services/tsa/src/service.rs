//! The HTTP service: `POST /api/v1/timestamp`, `GET /api/v1/timestamp/certchain`, health,
//! readiness and metrics.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use der::asn1::ObjectIdentifier;
use prometheus::core::{Collector, Desc};
use prometheus::{Gauge, IntCounter, IntCounterVec, Opts, Registry};
use rand::{RngCore, SeedableRng};
use sigstack_keys::KeyPassword;
use sigstack_server::{
    Clock, ErrorKind, Fault, HttpMetrics, Readiness, ReadinessReport, health_routes, log_error,
    metrics_route,
};
use x509_cert::serial_number::SerialNumber;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use crate::asn1::ID_SHA256;
use crate::config::TsaConfig;
use crate::material::{MaterialError, TsaMaterial};
use crate::request::{self, JsonRequestError, MalformedRequest};
use crate::token::{self, TimestampSigner, TokenError};

/// Media type of a DER TimeStampReq (RFC 3161 §4).
pub const TIMESTAMP_QUERY: &str = "application/timestamp-query";
/// Media type of a DER TimeStampResp (RFC 3161 §4). gitsign requires exactly this value.
pub const TIMESTAMP_REPLY: &str = "application/timestamp-reply";
/// Media type of the certificate chain (RFC 8555 §9.1).
pub const PEM_CERTIFICATE_CHAIN: &str = "application/pem-certificate-chain";

/// Metric and log name of this service, as Sigstore's timestamp server names its metrics.
const SERVICE: &str = "timestamp_authority";

/// Length of a token serial number. SPEC(RFC 3161 §2.4.2): "Time-Stamping users MUST be ready
/// to accommodate integers up to 160 bits." 159 random bits make a repeat among 2^40 tokens
/// less likely than 2^-78.
const SERIAL_NUMBER_BYTES: usize = 20;

/// A failure to start the TSA. Each message names the file or setting to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    #[error(transparent)]
    Material(#[from] MaterialError),
    #[error("TSA policy OID {0:?} is not a dotted object identifier such as 1.3.6.1.4.1.57264.2")]
    PolicyOid(String),
    #[error("failed to register TSA metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("failed to prepare the TSA signer: {0}")]
    Signer(#[from] TokenError),
}

/// A timestamp request that failed with an HTTP error. Rejections are not errors here, because
/// RFC 3161 returns them inside a TimeStampResp with HTTP 200.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TsaError {
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("failed to read the request body: {0}")]
    BodyUnreadable(String),
    #[error(
        "unsupported Content-Type {0:?}: send application/timestamp-query (DER TimeStampReq) or application/json"
    )]
    UnsupportedMediaType(String),
    #[error(transparent)]
    Malformed(#[from] MalformedRequest),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("failed to encode a rejection response: {0}")]
    RejectionEncoding(der::Error),
}

impl ErrorKind for TsaError {
    fn kind(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BodyUnreadable(_) => "body_unreadable",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Malformed(error) => error.kind(),
            Self::Token(_) => "token_encoding",
            Self::RejectionEncoding(_) => "rejection_encoding",
        }
    }

    fn fault(&self) -> Fault {
        match self {
            Self::BodyTooLarge { .. }
            | Self::BodyUnreadable(_)
            | Self::UnsupportedMediaType(_)
            | Self::Malformed(_) => Fault::Client,
            Self::Token(_) | Self::RejectionEncoding(_) => Fault::Server,
        }
    }
}

impl IntoResponse for TsaError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::BodyUnreadable(_) | Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Token(_) | Self::RejectionEncoding(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // Server faults are logged with their cause; the client learns only that one happened.
        let message = match self.fault() {
            Fault::Client => self.to_string(),
            Fault::Server | Fault::Dependency => "internal error".to_owned(),
        };
        json_error(status, message)
    }
}

fn json_error(status: StatusCode, message: String) -> Response {
    let body = serde_json::json!({ "code": status.as_u16(), "message": message });
    (status, axum::Json(body)).into_response()
}

/// The timestamp authority: the signer, its chain, the policy set and the metrics.
pub struct Tsa {
    signer: TimestampSigner,
    chain_pem: String,
    /// Validity of the TSA certificate, for readiness and the expiry metric.
    not_before: SystemTime,
    not_after: SystemTime,
    default_policy: ObjectIdentifier,
    accepted_policies: Vec<ObjectIdentifier>,
    granted_status: StatusCode,
    max_request_body_bytes: usize,
    clock: Arc<dyn Clock>,
    /// Source of token serial numbers; seeded in tests so tokens are reproducible.
    serial_rng: Mutex<Box<dyn RngCore + Send>>,
    metrics: TsaMetrics,
    registry: Registry,
}

impl std::fmt::Debug for Tsa {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Tsa")
            .field("signer", &self.signer)
            .field("default_policy", &self.default_policy)
            .finish_non_exhaustive()
    }
}

impl Tsa {
    /// Loads the key and chain named by `config` (relative paths are taken from `data_dir`),
    /// runs the start-up checks, and builds the service with serial numbers from the operating
    /// system's random source.
    pub fn load(
        config: &TsaConfig,
        data_dir: &Path,
        password: &KeyPassword,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let material = TsaMaterial::load(
            &data_dir.join(&config.key_path),
            &data_dir.join(&config.chain_path),
            password,
            config.enforce_intermediate_eku,
            clock.now(),
        )?;
        if !password.is_set() {
            tracing::warn!(
                key_path = %config.key_path.display(),
                "TSA key is stored without a password: set SIGSTACK_KEY_PASSWORD to encrypt new keys"
            );
        }
        let rng = rand::rngs::StdRng::from_entropy();
        Self::new(config, material, clock, Box::new(rng))
    }

    /// Builds the service from checked material, with `serial_rng` as the source of token
    /// serial numbers.
    pub fn new(
        config: &TsaConfig,
        material: TsaMaterial,
        clock: Arc<dyn Clock>,
        serial_rng: Box<dyn RngCore + Send>,
    ) -> Result<Self, StartupError> {
        let parse_policy = |text: &String| {
            ObjectIdentifier::new(text).map_err(|_| StartupError::PolicyOid(text.clone()))
        };
        let default_policy = parse_policy(&config.policy_oid)?;
        let mut accepted_policies = vec![default_policy];
        for text in &config.extra_policy_oids {
            accepted_policies.push(parse_policy(text)?);
        }

        let TsaMaterial {
            key,
            mut chain,
            chain_pem,
        } = material;
        // `TsaMaterial` checked that the chain has at least two certificates.
        let leaf = chain.swap_remove(0);
        let validity = leaf.tbs_certificate.validity;
        let signer = TimestampSigner::new(key, leaf)?;

        let registry = Registry::new();
        let metrics = TsaMetrics::register(&registry)?;
        registry.register(Box::new(CertificateExpiry::new(
            validity.not_after.to_system_time(),
            clock.clone(),
        )?))?;

        Ok(Self {
            signer,
            chain_pem,
            not_before: validity.not_before.to_system_time(),
            not_after: validity.not_after.to_system_time(),
            default_policy,
            accepted_policies,
            granted_status: if config.use_http_201 {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            max_request_body_bytes: config.max_request_body_bytes,
            clock,
            serial_rng: Mutex::new(serial_rng),
            metrics,
            registry,
        })
    }

    /// Returns the Prometheus registry that `/metrics` serves.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Returns the certificate chain as PEM, TSA certificate first.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// Handles one timestamp request and returns a TimeStampResp, granted or rejected, or an
    /// HTTP error.
    fn timestamp(
        &self,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Response, TsaError> {
        // The body, within the configured limit.
        let body = body.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                TsaError::BodyTooLarge {
                    limit: self.max_request_body_bytes,
                }
            } else {
                TsaError::BodyUnreadable(rejection.body_text())
            }
        })?;

        // The request, in the form its Content-Type names. Parameters such as charset are
        // ignored, as Sigstore's server ignores them.
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        let parsed = if media_type.eq_ignore_ascii_case(TIMESTAMP_QUERY) {
            request::parse_der_request(&body).map_err(TsaError::Malformed)
        } else if media_type.eq_ignore_ascii_case("application/json") {
            match request::parse_json_request(&body) {
                Ok(request) => Ok(request),
                Err(JsonRequestError::Malformed(error)) => Err(TsaError::Malformed(error)),
                Err(JsonRequestError::Rejected(rejection)) => return self.reject(rejection),
            }
        } else {
            Err(TsaError::UnsupportedMediaType(content_type.to_owned()))
        };
        let request = parsed?;

        // RFC 3161 §2.4.1 checks; a refusal is a TimeStampResp with status rejection.
        if let Err(rejection) = request::check_request(&request, &self.accepted_policies) {
            return self.reject(rejection);
        }

        // The token: genTime from the clock, a fresh serial number, the requested or default
        // policy.
        let policy = request.req_policy.unwrap_or(self.default_policy);
        let serial_number = self.next_serial_number()?;
        let now = self.clock.now();
        let response = self
            .signer
            .issue(&request, policy, serial_number.clone(), now)?;

        self.metrics.issued.inc();
        tracing::debug!(
            service = SERVICE,
            serial_number = %hex_string(serial_number.as_bytes()),
            %policy,
            nonce = request.nonce.is_some(),
            cert_req = request.cert_req,
            "issued timestamp"
        );
        Ok((
            self.granted_status,
            [(CONTENT_TYPE, TIMESTAMP_REPLY)],
            response,
        )
            .into_response())
    }

    fn reject(&self, rejection: request::Rejection) -> Result<Response, TsaError> {
        let response =
            token::rejection_response(&rejection).map_err(TsaError::RejectionEncoding)?;
        let failure_info = rejection.failure_info.name();
        self.metrics
            .rejected
            .with_label_values(&[failure_info])
            .inc();
        tracing::debug!(service = SERVICE, failure_info, reason = %rejection, "rejected timestamp request");
        Ok((StatusCode::OK, [(CONTENT_TYPE, TIMESTAMP_REPLY)], response).into_response())
    }

    fn next_serial_number(&self) -> Result<SerialNumber, TsaError> {
        let mut bytes = [0u8; SERIAL_NUMBER_BYTES];
        self.serial_rng
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .fill_bytes(&mut bytes);
        // A first byte in 1..=0x7f keeps the INTEGER positive and its encoding minimal.
        bytes[0] = (bytes[0] & 0x7f) | 0x01;
        SerialNumber::new(&bytes).map_err(|error| TsaError::Token(TokenError::Encoding(error)))
    }

    fn issue_probe(&self, now: SystemTime) -> Result<Vec<u8>, TokenError> {
        let probe = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: spki::AlgorithmIdentifier {
                    oid: ID_SHA256,
                    parameters: None,
                },
                hashed_message: der::asn1::OctetString::new([0u8; 32].to_vec())?,
            },
            req_policy: None,
            nonce: None,
            cert_req: false,
            extensions: None,
        };
        let serial_number = SerialNumber::new(&[1])?;
        self.signer
            .issue(&probe, self.default_policy, serial_number, now)
    }
}

impl Readiness for Tsa {
    async fn check(&self) -> ReadinessReport {
        let mut report = ReadinessReport::default();
        let now = self.clock.now();

        let validity = if now < self.not_before {
            Err("the TSA certificate is not valid yet".to_owned())
        } else if now > self.not_after {
            Err("the TSA certificate has expired".to_owned())
        } else {
            Ok(())
        };
        report.check("signing_certificate_valid", validity);

        // A probe token over a fixed imprint shows that the key signs and the token encodes.
        let signed = self
            .issue_probe(now)
            .map(|_| ())
            .map_err(|error| error.to_string());
        report.check("signer", signed);
        report
    }
}

/// Routes every endpoint of the TSA: the RFC 3161 API, `/ping`, `/healthz`, `/readyz` and
/// `/metrics`. Unknown paths get a JSON 404.
pub fn router(tsa: Arc<Tsa>) -> Router {
    let api = Router::new()
        .route(
            "/api/v1/timestamp",
            post(timestamp).layer(DefaultBodyLimit::max(tsa.max_request_body_bytes)),
        )
        .route("/api/v1/timestamp/certchain", get(certchain))
        .with_state(tsa.clone());
    api.merge(health_routes(tsa.clone()))
        .merge(metrics_route(tsa.registry.clone()))
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, "no such endpoint".to_owned()) })
        .layer(axum::middleware::from_fn_with_state(
            tsa.metrics.http.clone(),
            HttpMetrics::track,
        ))
}

async fn timestamp(
    State(tsa): State<Arc<Tsa>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match tsa.timestamp(&headers, body) {
        Ok(response) => response,
        Err(error) => {
            log_error(SERVICE, &error);
            tsa.metrics.errors.with_label_values(&[error.kind()]).inc();
            error.into_response()
        }
    }
}

async fn certchain(State(tsa): State<Arc<Tsa>>) -> Response {
    (
        [(CONTENT_TYPE, PEM_CERTIFICATE_CHAIN)],
        tsa.chain_pem.clone(),
    )
        .into_response()
}

/// The service's own metrics, beside the per-route HTTP metrics.
#[derive(Debug, Clone)]
struct TsaMetrics {
    http: HttpMetrics,
    issued: IntCounter,
    rejected: IntCounterVec,
    errors: IntCounterVec,
}

impl TsaMetrics {
    fn register(registry: &Registry) -> prometheus::Result<Self> {
        let http = HttpMetrics::register(registry, SERVICE)?;
        let issued = IntCounter::new(
            format!("{SERVICE}_timestamps_issued_total"),
            "Time-stamp tokens issued",
        )?;
        let rejected = IntCounterVec::new(
            Opts::new(
                format!("{SERVICE}_timestamp_rejections_total"),
                "Requests answered with a rejection TimeStampResp, by PKIFailureInfo bit",
            ),
            &["failure_info"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                format!("{SERVICE}_request_errors_total"),
                "Timestamp requests answered with an HTTP error, by error kind",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(issued.clone()))?;
        registry.register(Box::new(rejected.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        Ok(Self {
            http,
            issued,
            rejected,
            errors,
        })
    }
}

/// `timestamp_authority_signing_certificate_expiry_days`: days until the TSA certificate's
/// notAfter, computed from the clock at every scrape; negative once it has expired.
struct CertificateExpiry {
    gauge: Gauge,
    not_after: SystemTime,
    clock: Arc<dyn Clock>,
}

impl CertificateExpiry {
    fn new(not_after: SystemTime, clock: Arc<dyn Clock>) -> prometheus::Result<Self> {
        let gauge = Gauge::new(
            format!("{SERVICE}_signing_certificate_expiry_days"),
            "Days until the TSA signing certificate expires",
        )?;
        Ok(Self {
            gauge,
            not_after,
            clock,
        })
    }
}

impl Collector for CertificateExpiry {
    fn desc(&self) -> Vec<&Desc> {
        self.gauge.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        const SECONDS_PER_DAY: f64 = 86_400.0;
        let seconds = |time: SystemTime| match time.duration_since(UNIX_EPOCH) {
            Ok(since) => since.as_secs_f64(),
            Err(before) => -before.duration().as_secs_f64(),
        };
        let days = (seconds(self.not_after) - seconds(self.clock.now())) / SECONDS_PER_DAY;
        self.gauge.set(days);
        self.gauge.collect()
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
