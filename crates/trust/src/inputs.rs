//! Inputs of the trust files, one per service, and the checks run on them before rendering.

use std::time::SystemTime;

use der::asn1::{ObjectIdentifier, PrintableStringRef, UintRef, Utf8StringRef};
use der::{Decode, DecodePem, Encode, Reader, SliceReader};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::Certificate;

use crate::TrustError;

/// Inputs of the trust files: one entry per service plus the operator name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustInputs {
    /// Organisation or domain that runs the stack, for example `example.com`. It fills the
    /// `operator` field of every log, authority and service. Clients keep at most one service
    /// per operator when they choose where to sign.
    pub operator: String,
    /// The Rekor v1 transparency log.
    pub transparency_log: LogInput,
    /// The RFC 6962 certificate-transparency log the CA submits precertificates to.
    pub ct_log: LogInput,
    /// The Fulcio-compatible certificate authority.
    pub certificate_authority: CertificateAuthorityInput,
    /// The RFC 3161 timestamp authority.
    pub timestamp_authority: TimestampAuthorityInput,
    /// The OIDC issuer that clients get identity tokens from, when the deployment names one.
    pub identity_provider: Option<IdentityProviderInput>,
}

/// A transparency or CT log: where it is and the key its signatures verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInput {
    /// Public base URL, for example `http://127.0.0.1:3000` or `http://127.0.0.1:6962/sigstack`.
    pub url: String,
    /// DER SubjectPublicKeyInfo of the log key. The log ID is its SHA-256.
    pub spki_der: Vec<u8>,
    /// Start of the key's validity. It must not be later than the first entry or SCT the key
    /// signed, because clients check signatures against this period.
    pub valid_from: SystemTime,
}

/// The certificate authority and the chain its leaf certificates verify against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateAuthorityInput {
    /// Public base URL without a path (sigstore-python drops the path), for example
    /// `http://127.0.0.1:5555`.
    pub url: String,
    /// DER certificates, issuing intermediate first and root last. No leaf.
    pub chain_der: Vec<Vec<u8>>,
    /// Start of the period in which certificates issued under this chain are trusted.
    pub valid_from: SystemTime,
}

/// The timestamp authority and its certificate chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampAuthorityInput {
    /// Full URL that clients POST timestamp requests to, for example
    /// `http://127.0.0.1:3003/api/v1/timestamp`.
    pub url: String,
    /// DER certificates, TSA signing certificate first and root last.
    pub chain_der: Vec<Vec<u8>>,
    /// Start of the period in which timestamps from this chain are trusted.
    pub valid_from: SystemTime,
}

/// The OIDC identity provider clients get tokens from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProviderInput {
    /// Issuer URL, which clients run OIDC discovery against.
    pub url: String,
    /// Start of the period in which clients may use this provider.
    pub valid_from: SystemTime,
}

/// Algorithm names from `dev.sigstore.common.v1.PublicKeyDetails`.
const ECDSA_P256: &str = "PKIX_ECDSA_P256_SHA_256";
const ECDSA_P384: &str = "PKIX_ECDSA_P384_SHA_384";
const ECDSA_P521: &str = "PKIX_ECDSA_P521_SHA_512";
const ED25519: &str = "PKIX_ED25519";

/// id-ecPublicKey (RFC 5480 §2.1.1).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1, secp384r1 and secp521r1 (RFC 5480 §2.1.1.1).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
/// id-Ed25519 (RFC 8410 §3).
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// rsaEncryption (RFC 8017 appendix C).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-at-organizationName and id-at-commonName (RFC 4519 §2).
const ORGANIZATION_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

impl TrustInputs {
    /// Checks every URL, key and chain, with one message per problem that names the input.
    pub fn validate(&self) -> Result<(), TrustError> {
        if self.operator.trim().is_empty() {
            return Err(TrustError::EmptyOperator);
        }
        check_url(
            "transparency log",
            &self.transparency_log.url,
            PathRule::Any,
        )?;
        key_details("transparency log", &self.transparency_log.spki_der)?;
        check_url("CT log", &self.ct_log.url, PathRule::Any)?;
        key_details("CT log", &self.ct_log.spki_der)?;
        check_url("CA", &self.certificate_authority.url, PathRule::None)?;
        check_chain("CA", &self.certificate_authority.chain_der, 1)?;
        check_url("TSA", &self.timestamp_authority.url, PathRule::Required)?;
        // The TSA signing certificate comes first and is required, so a chain has at least the
        // signing certificate and a root.
        check_chain("TSA", &self.timestamp_authority.chain_der, 2)?;
        if let Some(identity_provider) = &self.identity_provider {
            check_url("identity provider", &identity_provider.url, PathRule::Any)?;
        }
        Ok(())
    }
}

/// Decodes a `PUBLIC KEY` PEM block into DER SubjectPublicKeyInfo.
pub fn spki_from_pem(pem: &str) -> Result<Vec<u8>, TrustError> {
    let info = spki::SubjectPublicKeyInfoOwned::from_pem(pem.trim())
        .map_err(|error| TrustError::Pem(format!("not a PUBLIC KEY PEM block: {error}")))?;
    info.to_der()
        .map_err(|error| TrustError::Pem(format!("failed to re-encode the public key: {error}")))
}

/// Decodes concatenated `CERTIFICATE` PEM blocks into DER certificates, in file order.
pub fn certificate_chain_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, TrustError> {
    let certificates = Certificate::load_pem_chain(pem.trim().as_bytes())
        .map_err(|error| TrustError::Pem(format!("not a CERTIFICATE PEM chain: {error}")))?;
    certificates
        .iter()
        .map(|certificate| {
            certificate.to_der().map_err(|error| {
                TrustError::Pem(format!("failed to re-encode a certificate: {error}"))
            })
        })
        .collect()
}

/// Returns the notBefore time of a DER certificate, a natural `valid_from` for the chain it
/// starts.
pub fn not_before(certificate_der: &[u8]) -> Result<SystemTime, TrustError> {
    let certificate =
        Certificate::from_der(certificate_der).map_err(|error| TrustError::Certificate {
            field: "input",
            index: 0,
            reason: error.to_string(),
        })?;
    Ok(certificate
        .tbs_certificate
        .validity
        .not_before
        .to_system_time())
}

/// Returns the `keyDetails` name of a DER SubjectPublicKeyInfo, or an error for a key type that
/// Sigstore clients do not accept for logs.
pub(crate) fn key_details(
    field: &'static str,
    spki_der: &[u8],
) -> Result<&'static str, TrustError> {
    let unsupported = |reason: String| TrustError::UnsupportedKey { field, reason };
    let info = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|error| unsupported(format!("not a DER SubjectPublicKeyInfo: {error}")))?;
    let algorithm = info.algorithm.oid;
    if algorithm == ID_EC_PUBLIC_KEY {
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|error| unsupported(format!("EC key without a named curve: {error}")))?;
        return match curve {
            SECP256R1 => Ok(ECDSA_P256),
            SECP384R1 => Ok(ECDSA_P384),
            SECP521R1 => Ok(ECDSA_P521),
            other => Err(unsupported(format!("unsupported elliptic curve {other}"))),
        };
    }
    if algorithm == ID_ED25519 {
        return Ok(ED25519);
    }
    if algorithm == RSA_ENCRYPTION {
        let bits = rsa_modulus_bits(info.subject_public_key.raw_bytes())
            .map_err(|error| unsupported(format!("malformed RSA public key: {error}")))?;
        return match bits {
            2048 => Ok("PKIX_RSA_PKCS1V15_2048_SHA256"),
            3072 => Ok("PKIX_RSA_PKCS1V15_3072_SHA256"),
            4096 => Ok("PKIX_RSA_PKCS1V15_4096_SHA256"),
            other => Err(unsupported(format!(
                "RSA modulus of {other} bits; clients accept 2048, 3072 or 4096"
            ))),
        };
    }
    Err(unsupported(format!(
        "unsupported key algorithm {algorithm}"
    )))
}

/// Returns the modulus size of a DER RSAPublicKey (RFC 8017 appendix A.1.1).
fn rsa_modulus_bits(rsa_public_key: &[u8]) -> der::Result<usize> {
    let mut reader = SliceReader::new(rsa_public_key)?;
    let modulus = reader.sequence(|sequence| {
        let modulus = UintRef::decode(sequence)?;
        let _exponent = UintRef::decode(sequence)?;
        Ok(modulus)
    })?;
    let bytes = modulus.as_bytes();
    let leading_zeros = bytes
        .first()
        .map_or(0, |byte| byte.leading_zeros() as usize);
    Ok(bytes.len() * 8 - leading_zeros)
}

/// The `subject` of a CertificateAuthority entry: organization and common name, both required by
/// sigstore-python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DistinguishedName {
    pub(crate) organization: String,
    pub(crate) common_name: String,
}

/// Returns the organization and common name of the last (root) certificate of `chain_der`,
/// falling back to `operator` and `fallback_common_name` for missing attributes.
pub(crate) fn root_subject(
    chain_der: &[Vec<u8>],
    operator: &str,
    fallback_common_name: &str,
) -> DistinguishedName {
    let mut subject = DistinguishedName {
        organization: operator.to_owned(),
        common_name: fallback_common_name.to_owned(),
    };
    let Some(root) = chain_der
        .last()
        .and_then(|der| Certificate::from_der(der).ok())
    else {
        return subject;
    };
    for attribute in root
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
    {
        let value = Utf8StringRef::try_from(&attribute.value)
            .map(|text| text.as_str().to_owned())
            .or_else(|_| {
                PrintableStringRef::try_from(&attribute.value).map(|text| text.as_str().to_owned())
            });
        let Ok(value) = value else { continue };
        if attribute.oid == ORGANIZATION_NAME {
            subject.organization = value;
        } else if attribute.oid == COMMON_NAME {
            subject.common_name = value;
        }
    }
    subject
}

/// Rule for the path of a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathRule {
    Any,
    /// No path: sigstore-python calls the CA at `<scheme>://<host>/api/v2/...` and drops any path.
    None,
    /// A path is required: the TSA URL is the full endpoint, not a base URL.
    Required,
}

fn check_url(field: &'static str, text: &str, rule: PathRule) -> Result<(), TrustError> {
    let invalid = |reason: &str| TrustError::InvalidUrl {
        field,
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let url = url::Url::parse(text).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the URL has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("remove the query or fragment"));
    }
    if text.ends_with('/') {
        return Err(invalid(
            "remove the trailing slash, because clients append paths to it",
        ));
    }
    let has_path = !matches!(url.path(), "" | "/");
    match rule {
        PathRule::None if has_path => Err(invalid("the CA URL must have no path")),
        PathRule::Required if !has_path => Err(invalid(
            "give the full timestamp URL, such as http://host:3003/api/v1/timestamp",
        )),
        _ => Ok(()),
    }
}

fn check_chain(
    field: &'static str,
    chain_der: &[Vec<u8>],
    minimum: usize,
) -> Result<(), TrustError> {
    if chain_der.len() < minimum {
        return Err(TrustError::Chain {
            field,
            reason: format!(
                "it has {} certificates, at least {minimum} are required",
                chain_der.len()
            ),
        });
    }
    let mut certificates = Vec::with_capacity(chain_der.len());
    for (index, der) in chain_der.iter().enumerate() {
        let certificate = Certificate::from_der(der).map_err(|error| TrustError::Certificate {
            field,
            index,
            reason: error.to_string(),
        })?;
        certificates.push(certificate);
    }
    for (index, pair) in certificates.windows(2).enumerate() {
        if pair[0].tbs_certificate.issuer != pair[1].tbs_certificate.subject {
            return Err(TrustError::Chain {
                field,
                reason: format!(
                    "certificate {index} is not issued by certificate {}: order the chain from \
                     the first certificate to the root",
                    index + 1
                ),
            });
        }
    }
    if let Some(root) = certificates.last()
        && root.tbs_certificate.issuer != root.tbs_certificate.subject
    {
        return Err(TrustError::Chain {
            field,
            reason: "the last certificate is not self-issued: end the chain with the root"
                .to_owned(),
        });
    }
    Ok(())
}
