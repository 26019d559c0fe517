//! Rendering of `trusted_root.json`, `signing_config.v0.2.json` and `trust_config.json` in the
//! protobuf JSON mapping of `sigstore/protobuf-specs` (`dev.sigstore.trustroot.v1`).

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::inputs::{DistinguishedName, LogInput, key_details, root_subject};
use crate::{TrustError, TrustInputs};

/// Media type of `trusted_root.json`. sigstore-go and sigstore-python reject every other value,
/// including the `trustedroot.v0.2+json` form that the protobuf comment calls mandatory, and the
/// v0.2 fields (`operator`) still parse under this one.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// Media type of `signing_config.v0.2.json`. sigstore-go and sigstore-python accept only v0.2.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// Media type of the ClientTrustConfig that sigstore-python reads with `--trust-config`.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// `dev.sigstore.common.v1.HashAlgorithm` of both log trees; sigstore-go accepts only this one.
const SHA2_256: &str = "SHA2_256";
/// Major API version of every service this stack runs. Clients support only version 1 of the
/// CA API even though its endpoint is `/api/v2/signingCert`, and the transparency log speaks
/// the Rekor v1 REST API.
const MAJOR_API_VERSION: u32 = 1;
/// Service selector: clients pick any one of the listed services. sigstore-js supports only
/// this selector for Rekor and the TSA.
const SELECTOR_ANY: &str = "ANY";

/// The three rendered documents, each as pretty-printed JSON with a trailing newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFiles {
    /// `trusted_root.json`.
    pub trusted_root: String,
    /// `signing_config.v0.2.json`.
    pub signing_config: String,
    /// `trust_config.json`.
    pub trust_config: String,
}

/// Checks `inputs` and renders the three trust documents.
pub fn render(inputs: &TrustInputs) -> Result<TrustFiles, TrustError> {
    inputs.validate()?;
    let trusted_root = trusted_root(inputs)?;
    let signing_config = signing_config(inputs);
    let trust_config = ClientTrustConfig {
        media_type: CLIENT_TRUST_CONFIG_MEDIA_TYPE,
        trusted_root: &trusted_root,
        signing_config: &signing_config,
    };
    Ok(TrustFiles {
        trusted_root: to_json("trusted_root.json", &trusted_root)?,
        signing_config: to_json("signing_config.v0.2.json", &signing_config)?,
        trust_config: to_json("trust_config.json", &trust_config)?,
    })
}

fn trusted_root(inputs: &TrustInputs) -> Result<TrustedRoot, TrustError> {
    let operator = inputs.operator.trim();
    let ca = &inputs.certificate_authority;
    let tsa = &inputs.timestamp_authority;
    Ok(TrustedRoot {
        media_type: TRUSTED_ROOT_MEDIA_TYPE,
        tlogs: vec![log_instance(
            "transparency log",
            &inputs.transparency_log,
            operator,
        )?],
        certificate_authorities: vec![CertificateAuthority {
            subject: root_subject(&ca.chain_der, operator, "sigstack CA").into(),
            uri: ca.url.clone(),
            cert_chain: CertificateChain::new(&ca.chain_der),
            valid_for: TimeRange::starting(ca.valid_from),
            operator: operator.to_owned(),
        }],
        // A CT log entry carries no `checkpointKeyId`: that field is for Rekor v2 only.
        ctlogs: vec![log_instance("CT log", &inputs.ct_log, operator)?],
        timestamp_authorities: vec![CertificateAuthority {
            subject: root_subject(&tsa.chain_der, operator, "sigstack TSA").into(),
            uri: tsa.url.clone(),
            cert_chain: CertificateChain::new(&tsa.chain_der),
            valid_for: TimeRange::starting(tsa.valid_from),
            operator: operator.to_owned(),
        }],
    })
}

fn log_instance(
    field: &'static str,
    log: &LogInput,
    operator: &str,
) -> Result<TransparencyLogInstance, TrustError> {
    Ok(TransparencyLogInstance {
        base_url: log.url.clone(),
        hash_algorithm: SHA2_256,
        public_key: PublicKey {
            raw_bytes: BASE64.encode(&log.spki_der),
            key_details: key_details(field, &log.spki_der)?,
            // sigstore-go requires the start of every log key's validity.
            valid_for: TimeRange::starting(log.valid_from),
        },
        // SPEC(Rekor v1, RFC 6962 §3.2): the log ID is SHA-256 of the DER SubjectPublicKeyInfo.
        log_id: LogId {
            key_id: BASE64.encode(Sha256::digest(&log.spki_der)),
        },
        operator: operator.to_owned(),
    })
}

fn signing_config(inputs: &TrustInputs) -> SigningConfig {
    let operator = inputs.operator.trim();
    let service = |url: &str, valid_from: SystemTime| Service {
        url: url.to_owned(),
        major_api_version: MAJOR_API_VERSION,
        valid_for: TimeRange::starting(valid_from),
        operator: operator.to_owned(),
    };
    let ca = &inputs.certificate_authority;
    let tlog = &inputs.transparency_log;
    let tsa = &inputs.timestamp_authority;
    SigningConfig {
        media_type: SIGNING_CONFIG_MEDIA_TYPE,
        ca_urls: vec![service(&ca.url, ca.valid_from)],
        oidc_urls: inputs
            .identity_provider
            .iter()
            .map(|provider| service(&provider.url, provider.valid_from))
            .collect(),
        rekor_tlog_urls: vec![service(&tlog.url, tlog.valid_from)],
        rekor_tlog_config: ServiceConfiguration {
            selector: SELECTOR_ANY,
        },
        tsa_urls: vec![service(&tsa.url, tsa.valid_from)],
        tsa_config: ServiceConfiguration {
            selector: SELECTOR_ANY,
        },
    }
}

fn to_json(name: &'static str, value: &impl Serialize) -> Result<String, TrustError> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|source| TrustError::Encode { name, source })?;
    text.push('\n');
    Ok(text)
}

/// Parses the RFC 3339 form that [`rfc3339_seconds`] writes (any offset and fraction are accepted).
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let parsed =
        OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    Some(SystemTime::from(parsed))
}

/// Formats a time as RFC 3339 in UTC with whole seconds (`2026-01-01T00:00:00Z`), rounding
/// down so that a validity period never starts after the instant it was given. TUF metadata
/// uses the same form for `expires`.
pub fn rfc3339_seconds(time: SystemTime) -> String {
    let time = OffsetDateTime::from(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// `dev.sigstore.trustroot.v1.TrustedRoot`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TrustedRoot {
    media_type: &'static str,
    tlogs: Vec<TransparencyLogInstance>,
    certificate_authorities: Vec<CertificateAuthority>,
    ctlogs: Vec<TransparencyLogInstance>,
    timestamp_authorities: Vec<CertificateAuthority>,
}

/// `dev.sigstore.trustroot.v1.TransparencyLogInstance`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TransparencyLogInstance {
    base_url: String,
    hash_algorithm: &'static str,
    public_key: PublicKey,
    log_id: LogId,
    operator: String,
}

/// `dev.sigstore.common.v1.PublicKey`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicKey {
    raw_bytes: String,
    key_details: &'static str,
    valid_for: TimeRange,
}

/// `dev.sigstore.common.v1.LogId`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LogId {
    key_id: String,
}

/// `dev.sigstore.common.v1.TimeRange`, inclusive at both ends. Every period this stack
/// publishes is open-ended.
#[derive(Debug, Serialize)]
struct TimeRange {
    start: String,
}

impl TimeRange {
    fn starting(start: SystemTime) -> Self {
        Self {
            start: rfc3339_seconds(start),
        }
    }
}

/// `dev.sigstore.trustroot.v1.CertificateAuthority`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateAuthority {
    subject: Subject,
    uri: String,
    cert_chain: CertificateChain,
    valid_for: TimeRange,
    operator: String,
}

/// `dev.sigstore.common.v1.DistinguishedName`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Subject {
    organization: String,
    common_name: String,
}

impl From<DistinguishedName> for Subject {
    fn from(name: DistinguishedName) -> Self {
        Self {
            organization: name.organization,
            common_name: name.common_name,
        }
    }
}

/// `dev.sigstore.common.v1.X509CertificateChain`.
#[derive(Debug, Serialize)]
struct CertificateChain {
    certificates: Vec<RawCertificate>,
}

impl CertificateChain {
    fn new(chain_der: &[Vec<u8>]) -> Self {
        let certificates = chain_der
            .iter()
            .map(|der| RawCertificate {
                raw_bytes: BASE64.encode(der),
            })
            .collect();
        Self { certificates }
    }
}

/// `dev.sigstore.common.v1.X509Certificate`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RawCertificate {
    raw_bytes: String,
}

/// `dev.sigstore.trustroot.v1.SigningConfig` at media type v0.2.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SigningConfig {
    media_type: &'static str,
    ca_urls: Vec<Service>,
    oidc_urls: Vec<Service>,
    rekor_tlog_urls: Vec<Service>,
    rekor_tlog_config: ServiceConfiguration,
    tsa_urls: Vec<Service>,
    tsa_config: ServiceConfiguration,
}

/// `dev.sigstore.trustroot.v1.Service`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Service {
    url: String,
    major_api_version: u32,
    valid_for: TimeRange,
    operator: String,
}

/// `dev.sigstore.trustroot.v1.ServiceConfiguration`.
#[derive(Debug, Serialize)]
struct ServiceConfiguration {
    selector: &'static str,
}

/// `dev.sigstore.trustroot.v1.ClientTrustConfig`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientTrustConfig<'a> {
    media_type: &'static str,
    trusted_root: &'a TrustedRoot,
    signing_config: &'a SigningConfig,
}
