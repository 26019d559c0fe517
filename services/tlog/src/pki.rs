//! Public keys and certificates as Rekor's x509 "PKI format" handles them: parsing the PEM a
//! client submits, re-encoding it canonically, verifying signatures, and deriving search keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode, Encode};
use sha2::{Digest, Sha256, Sha384, Sha512};
use spki::SubjectPublicKeyInfoRef;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::error::ApiError;

/// Most certificates accepted in one PEM chain, as upstream Rekor limits it.
const MAX_CHAIN_CERTIFICATES: usize = 10;

/// OIDs of the public key algorithms we verify (RFC 5480, RFC 8017, RFC 8410).
const OID_EC_PUBLIC_KEY: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_RSA_ENCRYPTION: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_ED25519: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_P256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// A hash algorithm named in a Rekor entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    pub fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// The kind of key, which decides how signatures are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Rsa,
    Ed25519,
}

/// A verifier as submitted: a public key or a certificate, with its canonical PEM.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// DER SubjectPublicKeyInfo of the key that signs.
    pub spki_der: Vec<u8>,
    pub key_type: KeyType,
    /// The PEM re-encoded as Go's `pem.Encode` writes it, which is what Rekor stores.
    pub canonical_pem: String,
    /// Subject alternative names of the leaf certificate (emails, URIs, DNS names, IPs).
    pub subject_alt_names: Vec<SubjectAltNameValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectAltNameValue {
    Email(String),
    Other(String),
}

impl Verifier {
    /// Parses PEM bytes holding a `PUBLIC KEY` or one `CERTIFICATE`. Leading and trailing
    /// whitespace is ignored, as upstream trims it.
    pub fn from_pem(bytes: &[u8]) -> Result<Self, ApiError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::invalid_entry("public key is not PEM text"))?
            .trim();
        let blocks = pem_blocks(text)?;
        let Some((label, first_der)) = blocks.first() else {
            return Err(ApiError::invalid_entry("public key PEM contains no block"));
        };
        match label.as_str() {
            "PUBLIC KEY" => {
                if blocks.len() != 1 {
                    return Err(ApiError::invalid_entry(
                        "public key PEM must contain exactly one PUBLIC KEY block",
                    ));
                }
                let key_type = key_type_of(first_der)?;
                Ok(Self {
                    spki_der: first_der.clone(),
                    key_type,
                    canonical_pem: encode_pem("PUBLIC KEY", first_der),
                    subject_alt_names: Vec::new(),
                })
            }
            "CERTIFICATE" => {
                if blocks.iter().any(|(label, _)| label != "CERTIFICATE") {
                    return Err(ApiError::invalid_entry(
                        "a certificate chain may contain only CERTIFICATE blocks",
                    ));
                }
                if blocks.len() > 1 {
                    // NOTE: upstream accepts chains of 2 to 10 certificates and validates them.
                    // No supported client submits one, so chains are rejected until this log
                    // validates them too.
                    let _ = MAX_CHAIN_CERTIFICATES;
                    return Err(ApiError::invalid_entry(
                        "certificate chains are not supported: submit the signing certificate alone",
                    ));
                }
                let certificate = Certificate::from_der(first_der).map_err(|e| {
                    ApiError::invalid_entry(format!("certificate is not valid DER X.509: {e}"))
                })?;
                let spki_der = certificate
                    .tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .map_err(|e| {
                        ApiError::invalid_entry(format!("certificate key is not encodable: {e}"))
                    })?;
                let key_type = key_type_of(&spki_der)?;
                Ok(Self {
                    spki_der,
                    key_type,
                    canonical_pem: encode_pem("CERTIFICATE", first_der),
                    subject_alt_names: subject_alt_names(&certificate),
                })
            }
            other => Err(ApiError::invalid_entry(format!(
                "unsupported PEM block {other:?}: expected PUBLIC KEY or CERTIFICATE"
            ))),
        }
    }

    /// Parses the base64 of PEM bytes, the form every Rekor entry uses for keys.
    pub fn from_base64_pem(encoded: &str, field: &str) -> Result<Self, ApiError> {
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| ApiError::invalid_entry(format!("{field} is not valid base64")))?;
        Self::from_pem(&bytes)
    }

    /// Base64 of the canonical PEM, as stored in canonical bodies.
    pub fn canonical_base64(&self) -> String {
        STANDARD.encode(self.canonical_pem.as_bytes())
    }

    /// Hex SHA-256 of the canonical PEM: the `publicKey` search key.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_pem.as_bytes()))
    }

    /// Search keys for the certificate's subject alternative names, lower-cased.
    pub fn san_search_keys(&self) -> impl Iterator<Item = String> + '_ {
        self.subject_alt_names.iter().map(|name| match name {
            SubjectAltNameValue::Email(value) | SubjectAltNameValue::Other(value) => {
                value.to_lowercase()
            }
        })
    }

    /// Verifies `signature` over a precomputed `digest`, the hashedrekord rule: ECDSA (ASN.1
    /// DER), RSA PKCS#1 v1.5 or PSS, and Ed25519ph (never pure Ed25519, which needs the message).
    pub fn verify_digest(
        &self,
        algorithm: HashAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureFailure> {
        match self.key_type {
            KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521 => {
                verify_ecdsa_digest(&self.spki_der, self.key_type, algorithm, digest, signature)
            }
            KeyType::Rsa => verify_rsa_prehash(&self.spki_der, algorithm, digest, signature),
            KeyType::Ed25519 => verify_ed25519ph(&self.spki_der, algorithm, digest, signature),
        }
    }

    /// Verifies `signature` over `message` as DSSE verifiers do: ECDSA and RSA PKCS#1 v1.5 over
    /// SHA-256 of the message (whatever the curve), Ed25519 over the message itself.
    pub fn verify_message(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureFailure> {
        let digest = Sha256::digest(message);
        match self.key_type {
            KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521 => verify_ecdsa_digest(
                &self.spki_der,
                self.key_type,
                HashAlgorithm::Sha256,
                &digest,
                signature,
            ),
            KeyType::Rsa => {
                verify_rsa_prehash(&self.spki_der, HashAlgorithm::Sha256, &digest, signature)
            }
            KeyType::Ed25519 => {
                use ed25519_dalek::Verifier as _;
                let key = ed25519_key(&self.spki_der)?;
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| SignatureFailure)?;
                key.verify(message, &signature)
                    .map_err(|_| SignatureFailure)
            }
        }
    }
}

/// A signature that does not verify. Carries no detail on purpose: callers word the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureFailure;

/// ECDSA over a digest the client computed, on aws-lc-rs: signature checks are most of a log's
/// CPU time per entry, and aws-lc-rs verifies several times faster than the RustCrypto curves.
fn verify_ecdsa_digest(
    spki_der: &[u8],
    key_type: KeyType,
    algorithm: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), SignatureFailure> {
    use aws_lc_rs::{digest as lc_digest, signature as lc};
    let verification: &'static lc::EcdsaVerificationAlgorithm = match (key_type, algorithm) {
        (KeyType::EcdsaP256, HashAlgorithm::Sha256) => &lc::ECDSA_P256_SHA256_ASN1,
        (KeyType::EcdsaP256, HashAlgorithm::Sha384) => &lc::ECDSA_P256_SHA384_ASN1,
        (KeyType::EcdsaP256, HashAlgorithm::Sha512) => &lc::ECDSA_P256_SHA512_ASN1,
        (KeyType::EcdsaP384, HashAlgorithm::Sha256) => &lc::ECDSA_P384_SHA256_ASN1,
        (KeyType::EcdsaP384, HashAlgorithm::Sha384) => &lc::ECDSA_P384_SHA384_ASN1,
        (KeyType::EcdsaP384, HashAlgorithm::Sha512) => &lc::ECDSA_P384_SHA512_ASN1,
        (KeyType::EcdsaP521, HashAlgorithm::Sha256) => &lc::ECDSA_P521_SHA256_ASN1,
        (KeyType::EcdsaP521, HashAlgorithm::Sha384) => &lc::ECDSA_P521_SHA384_ASN1,
        (KeyType::EcdsaP521, HashAlgorithm::Sha512) => &lc::ECDSA_P521_SHA512_ASN1,
        (KeyType::Rsa | KeyType::Ed25519, _) => return Err(SignatureFailure),
    };
    let digest_algorithm = match algorithm {
        HashAlgorithm::Sha256 => &lc_digest::SHA256,
        HashAlgorithm::Sha384 => &lc_digest::SHA384,
        HashAlgorithm::Sha512 => &lc_digest::SHA512,
    };
    let digest = lc_digest::Digest::import_less_safe(digest, digest_algorithm)
        .map_err(|_| SignatureFailure)?;
    let info = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|_| SignatureFailure)?;
    let point = info.subject_public_key.as_bytes().ok_or(SignatureFailure)?;
    lc::UnparsedPublicKey::new(verification, point)
        .verify_digest(&digest, signature)
        .map_err(|_| SignatureFailure)
}

fn verify_rsa_prehash(
    spki_der: &[u8],
    algorithm: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), SignatureFailure> {
    use rsa::pkcs8::DecodePublicKey as _;
    let key = rsa::RsaPublicKey::from_public_key_der(spki_der).map_err(|_| SignatureFailure)?;
    let (pkcs1, pss) = match algorithm {
        HashAlgorithm::Sha256 => (
            rsa::Pkcs1v15Sign::new::<Sha256>(),
            rsa::Pss::new::<Sha256>(),
        ),
        HashAlgorithm::Sha384 => (
            rsa::Pkcs1v15Sign::new::<Sha384>(),
            rsa::Pss::new::<Sha384>(),
        ),
        HashAlgorithm::Sha512 => (
            rsa::Pkcs1v15Sign::new::<Sha512>(),
            rsa::Pss::new::<Sha512>(),
        ),
    };
    if key.verify(pkcs1, digest, signature).is_ok() {
        return Ok(());
    }
    key.verify(pss, digest, signature)
        .map_err(|_| SignatureFailure)
}

fn ed25519_key(spki_der: &[u8]) -> Result<ed25519_dalek::VerifyingKey, SignatureFailure> {
    use ed25519_dalek::pkcs8::DecodePublicKey as _;
    ed25519_dalek::VerifyingKey::from_public_key_der(spki_der).map_err(|_| SignatureFailure)
}

/// Ed25519ph (RFC 8032 §5.1) over a SHA-512 digest the client computed.
fn verify_ed25519ph(
    spki_der: &[u8],
    algorithm: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), SignatureFailure> {
    if algorithm != HashAlgorithm::Sha512 {
        return Err(SignatureFailure);
    }
    let key = ed25519_key(spki_der)?;
    let signature =
        ed25519_dalek::Signature::from_slice(signature).map_err(|_| SignatureFailure)?;
    let prehashed = crate::prehash::Sha512Digest::from_slice(digest).ok_or(SignatureFailure)?;
    key.verify_prehashed(prehashed, None, &signature)
        .map_err(|_| SignatureFailure)
}

fn key_type_of(spki_der: &[u8]) -> Result<KeyType, ApiError> {
    let info = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| {
        ApiError::invalid_entry(format!(
            "public key is not a valid SubjectPublicKeyInfo: {e}"
        ))
    })?;
    let algorithm = info.algorithm.oid;
    if algorithm == OID_RSA_ENCRYPTION {
        return Ok(KeyType::Rsa);
    }
    if algorithm == OID_ED25519 {
        return Ok(KeyType::Ed25519);
    }
    if algorithm == OID_EC_PUBLIC_KEY {
        let curve = info
            .algorithm
            .parameters_oid()
            .map_err(|_| ApiError::invalid_entry("ECDSA public key names no curve"))?;
        return match curve {
            OID_P256 => Ok(KeyType::EcdsaP256),
            OID_P384 => Ok(KeyType::EcdsaP384),
            OID_P521 => Ok(KeyType::EcdsaP521),
            other => Err(ApiError::invalid_entry(format!(
                "unsupported elliptic curve {other}: use P-256, P-384 or P-521"
            ))),
        };
    }
    Err(ApiError::invalid_entry(format!(
        "unsupported public key algorithm {algorithm}: use ECDSA, RSA or Ed25519"
    )))
}

fn subject_alt_names(certificate: &Certificate) -> Vec<SubjectAltNameValue> {
    let Some(extensions) = &certificate.tbs_certificate.extensions else {
        return Vec::new();
    };
    let Some(extension) = extensions
        .iter()
        .find(|extension| extension.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
    else {
        return Vec::new();
    };
    let Ok(names) = SubjectAltName::from_der(extension.extn_value.as_bytes()) else {
        return Vec::new();
    };
    names
        .0
        .iter()
        .filter_map(|name| match name {
            GeneralName::Rfc822Name(email) => Some(SubjectAltNameValue::Email(email.to_string())),
            GeneralName::UniformResourceIdentifier(uri) => {
                Some(SubjectAltNameValue::Other(uri.to_string()))
            }
            GeneralName::DnsName(dns) => Some(SubjectAltNameValue::Other(dns.to_string())),
            GeneralName::IpAddress(ip) => {
                ip_to_string(ip.as_bytes()).map(SubjectAltNameValue::Other)
            }
            _ => None,
        })
        .collect()
}

fn ip_to_string(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()),
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(octets).to_string())
        }
        _ => None,
    }
}

/// Splits PEM text into (label, DER) blocks. Text between blocks must be whitespace.
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while !rest.trim().is_empty() {
        let begin = rest
            .find("-----BEGIN ")
            .ok_or_else(|| ApiError::invalid_entry("public key is not PEM: no BEGIN line"))?;
        if !rest[..begin].trim().is_empty() {
            return Err(ApiError::invalid_entry(
                "public key PEM has text outside its blocks",
            ));
        }
        let after = &rest[begin..];
        let end_marker = after
            .find("-----END ")
            .ok_or_else(|| ApiError::invalid_entry("public key PEM block has no END line"))?;
        let end_line = after[end_marker..]
            .find('\n')
            .map(|offset| end_marker + offset + 1)
            .unwrap_or(after.len());
        let block = &after[..end_line];
        let (label, der) = pem_rfc7468::decode_vec(block.trim_end().as_bytes()).map_err(|e| {
            ApiError::invalid_entry(format!("public key PEM block is malformed: {e}"))
        })?;
        blocks.push((label.to_owned(), der));
        rest = &after[end_line..];
    }
    Ok(blocks)
}

/// Encodes DER as PEM exactly as Go's `pem.Encode`: 64-column base64 lines, LF endings.
pub fn encode_pem(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}
