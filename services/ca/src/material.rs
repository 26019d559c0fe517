//! The issuing CA key and its chain: generating them at `init` and checking them at start-up.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, EncodePem};
use p256::ecdsa::signature::Signer as _;
use pkcs8::DecodePrivateKey;
use pkcs8::der::pem::LineEnding;
use sha2::{Digest, Sha256};
use sigstack_keys::{KeyError, KeyPassword};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};

use crate::config::{DEFAULT_CHAIN_PATH, DEFAULT_KEY_PATH};
use crate::public_key::PublicKey;

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// id-kp-codeSigning (RFC 5280 §4.2.1.12).
pub const ID_KP_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");

/// Validity of a generated chain. The root key is discarded once the intermediate is signed,
/// so the chain has to outlive the deployment; rotating it means supplying new material.
const GENERATED_CHAIN_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
/// How far before `now` a generated chain starts, so verifiers whose clocks run slightly behind
/// accept certificates issued right after `init`.
const GENERATED_CHAIN_BACKDATE: Duration = Duration::from_secs(5 * 60);

/// The issuing CA's private key. Signatures are deterministic (RFC 6979).
#[derive(Clone)]
pub enum CaSigningKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl std::fmt::Debug for CaSigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::P256(_) => "CaSigningKey::P256",
            Self::P384(_) => "CaSigningKey::P384",
        })
    }
}

impl CaSigningKey {
    /// Decodes a DER PKCS#8 `PrivateKeyInfo` holding an ECDSA P-256 or P-384 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        if let Ok(key) = p384::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(Self::P384(key));
        }
        p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(Self::P256)
            .map_err(|_| "not an ECDSA P-384 or P-256 PKCS#8 private key".to_owned())
    }

    /// Returns the DER SubjectPublicKeyInfo of the public key.
    pub fn public_key_der(&self) -> Result<Vec<u8>, String> {
        let document = match self {
            Self::P256(key) => key.verifying_key().to_public_key_der(),
            Self::P384(key) => key.verifying_key().to_public_key_der(),
        };
        document
            .map(|document| document.into_vec())
            .map_err(|error| error.to_string())
    }

    /// Returns the AlgorithmIdentifier of the signatures this key makes: ecdsa-with-SHA256 for
    /// P-256 and ecdsa-with-SHA384 for P-384, with absent parameters (RFC 5758 §3.2).
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            Self::P256(_) => ECDSA_WITH_SHA256,
            Self::P384(_) => ECDSA_WITH_SHA384,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    /// Signs `message` and returns the DER `ECDSA-Sig-Value`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(key) => {
                let signature: p256::ecdsa::DerSignature = key.sign(message);
                signature.as_bytes().to_vec()
            }
            Self::P384(key) => {
                let signature: p384::ecdsa::DerSignature = key.sign(message);
                signature.as_bytes().to_vec()
            }
        }
    }
}

/// A CA key and chain that cannot issue Sigstore certificates, or do not belong together.
/// Chain positions count from 0, the issuing CA.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    #[error("the CA chain is empty: list the issuing CA certificate first and the root last")]
    Empty,
    #[error("the CA key does not match the public key of the issuing CA certificate ({subject})")]
    KeyMismatch { subject: String },
    #[error(
        "certificate {position} of the CA chain ({subject}) is not a CA: it needs basicConstraints cA=TRUE"
    )]
    NotCa { position: usize, subject: String },
    #[error(
        "the issuing CA certificate ({subject}) lacks key usage keyCertSign, so clients reject the certificates it signs"
    )]
    NoCertSign { subject: String },
    #[error(
        "the issuing CA certificate ({subject}) does not allow id-kp-codeSigning in its extended key usage, which Fulcio requires of an intermediate"
    )]
    NoCodeSigning { subject: String },
    #[error(
        "the issuing CA certificate ({subject}) has no subject key identifier, which the authority key identifier of every issued certificate must repeat"
    )]
    NoSubjectKeyIdentifier { subject: String },
    #[error(
        "certificate {position} of the CA chain ({subject}) is not signed by the next one: {reason}"
    )]
    BrokenLink {
        position: usize,
        subject: String,
        reason: String,
    },
    #[error("the last certificate of the CA chain ({subject}) is not a self-signed root: {reason}")]
    NotARoot { subject: String, reason: String },
    #[error(
        "certificate {position} of the CA chain ({subject}) is not valid now: valid from {not_before} to {not_after}"
    )]
    OutsideValidity {
        position: usize,
        subject: String,
        not_before: String,
        not_after: String,
    },
    #[error("certificate {position} of the CA chain cannot be read: {reason}")]
    Unreadable { position: usize, reason: String },
}

/// A failure to create or load the CA key and chain. Every variant is the operator's to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MaterialError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("key file {path} is unusable: {reason}")]
    KeyType { path: PathBuf, reason: String },
    #[error("failed to read CA certificate chain {path}: {source}")]
    ChainRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to write CA certificate chain {path}: {source}")]
    ChainWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CA certificate chain {path} is not a PEM certificate chain: {reason}")]
    ChainFormat { path: PathBuf, reason: String },
    #[error(
        "{present} exists but {missing} does not: restore the missing file, or remove both to generate a new CA"
    )]
    HalfPresent { present: PathBuf, missing: PathBuf },
    #[error("failed to generate the CA certificate chain: {0}")]
    Generate(String),
    #[error("CA certificate chain is unusable: {0}")]
    Chain(#[from] ChainError),
}

/// Outcome of [`init_material`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    pub key_path: PathBuf,
    pub chain_path: PathBuf,
    /// False when both files already existed and were left alone.
    pub created: bool,
}

/// A CA key with its checked chain, in the forms that issuing needs.
#[derive(Debug, Clone)]
pub struct CaMaterial {
    pub key: CaSigningKey,
    /// The chain, issuing CA first and root last.
    pub chain: Vec<Certificate>,
    /// DER of each chain certificate, as the CT log receives them.
    pub chain_der: Vec<Vec<u8>>,
    /// PEM of each chain certificate, trimmed, as the Fulcio API returns them.
    pub chain_pem: Vec<String>,
    /// Subject key identifier of the issuing CA: the authority key identifier of every leaf.
    pub issuer_key_identifier: Vec<u8>,
    /// SHA-256 of the issuing CA's DER SubjectPublicKeyInfo: RFC 6962's issuer_key_hash.
    pub issuer_key_hash: [u8; 32],
}

impl CaMaterial {
    /// Reads the key (PKCS#8 PEM, decrypted with `password` when encrypted) and the PEM chain,
    /// then runs [`check_chain`] at time `now`.
    pub fn load(
        key_path: &Path,
        chain_path: &Path,
        password: &KeyPassword,
        now: SystemTime,
    ) -> Result<Self, MaterialError> {
        let document = sigstack_keys::read_pkcs8_pem(key_path, password)?;
        let key = CaSigningKey::from_pkcs8_der(document.as_bytes()).map_err(|reason| {
            MaterialError::KeyType {
                path: key_path.to_owned(),
                reason,
            }
        })?;
        let pem = std::fs::read(chain_path).map_err(|source| MaterialError::ChainRead {
            path: chain_path.to_owned(),
            source,
        })?;
        let chain =
            Certificate::load_pem_chain(&pem).map_err(|error| MaterialError::ChainFormat {
                path: chain_path.to_owned(),
                reason: error.to_string(),
            })?;
        Self::from_parts(key, chain, now)
    }

    /// Checks `chain` against `key` and keeps both.
    pub fn from_parts(
        key: CaSigningKey,
        chain: Vec<Certificate>,
        now: SystemTime,
    ) -> Result<Self, MaterialError> {
        let issuer_key_identifier = check_chain(&key, &chain, now)?;
        let unreadable = |position: usize| {
            move |error: der::Error| ChainError::Unreadable {
                position,
                reason: error.to_string(),
            }
        };
        let mut chain_der = Vec::new();
        let mut chain_pem = Vec::new();
        for (position, certificate) in chain.iter().enumerate() {
            chain_der.push(certificate.to_der().map_err(unreadable(position))?);
            let pem = certificate
                .to_pem(LineEnding::LF)
                .map_err(unreadable(position))?;
            chain_pem.push(pem.trim().to_owned());
        }
        let issuer_spki = chain[0]
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(unreadable(0))?;
        Ok(Self {
            key,
            chain,
            chain_der,
            chain_pem,
            issuer_key_identifier,
            issuer_key_hash: Sha256::digest(&issuer_spki).into(),
        })
    }
}

/// Runs the start-up checks on a CA key and chain and returns the issuing CA's subject key
/// identifier:
///
/// - the chain lists the issuing CA first and a self-signed root last, each certificate signed
///   by the next and valid at `now`, each a CA;
/// - `key` is the key of the issuing CA;
/// - the issuing CA has key usage keyCertSign and a subject key identifier, and, when it is not
///   the root itself, an extended key usage that includes id-kp-codeSigning, as Fulcio requires.
pub fn check_chain(
    key: &CaSigningKey,
    chain: &[Certificate],
    now: SystemTime,
) -> Result<Vec<u8>, ChainError> {
    let issuing = chain.first().ok_or(ChainError::Empty)?;
    let subject = issuing.tbs_certificate.subject.to_string();
    let unreadable = |position: usize, error: der::Error| ChainError::Unreadable {
        position,
        reason: error.to_string(),
    };

    let issuing_key = issuing
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|error| unreadable(0, error))?;
    if key.public_key_der().ok() != Some(issuing_key) {
        return Err(ChainError::KeyMismatch { subject });
    }

    let key_usage: Option<KeyUsage> = decode_extension(issuing, 0, ID_CE_KEY_USAGE)?;
    if !key_usage.is_some_and(|usage| usage.0.contains(KeyUsages::KeyCertSign)) {
        return Err(ChainError::NoCertSign { subject });
    }
    if chain.len() > 1 {
        let usages: Option<ExtendedKeyUsage> = decode_extension(issuing, 0, ID_CE_EXT_KEY_USAGE)?;
        if !usages.is_some_and(|usages| usages.0.contains(&ID_KP_CODE_SIGNING)) {
            return Err(ChainError::NoCodeSigning { subject });
        }
    }
    let key_identifier: Option<SubjectKeyIdentifier> =
        decode_extension(issuing, 0, ID_CE_SUBJECT_KEY_IDENTIFIER)?;
    let key_identifier = key_identifier
        .map(|identifier| identifier.0.as_bytes().to_vec())
        .ok_or(ChainError::NoSubjectKeyIdentifier { subject })?;

    for (position, certificate) in chain.iter().enumerate() {
        let subject = certificate.tbs_certificate.subject.to_string();
        let validity = &certificate.tbs_certificate.validity;
        if now < validity.not_before.to_system_time() || now > validity.not_after.to_system_time() {
            return Err(ChainError::OutsideValidity {
                position,
                subject,
                not_before: validity.not_before.to_string(),
                not_after: validity.not_after.to_string(),
            });
        }
        let constraints: Option<BasicConstraints> =
            decode_extension(certificate, position, ID_CE_BASIC_CONSTRAINTS)?;
        if !constraints.is_some_and(|constraints| constraints.ca) {
            return Err(ChainError::NotCa { position, subject });
        }
        let (signer, is_last) = match chain.get(position + 1) {
            Some(next) => (next, false),
            None => (certificate, true),
        };
        if let Err(reason) = check_signed_by(certificate, signer) {
            return Err(if is_last {
                ChainError::NotARoot { subject, reason }
            } else {
                ChainError::BrokenLink {
                    position,
                    subject,
                    reason,
                }
            });
        }
    }
    Ok(key_identifier)
}

/// Decodes the extension `oid` of `certificate`, if present.
fn decode_extension<'a, T: Decode<'a>>(
    certificate: &'a Certificate,
    position: usize,
    oid: ObjectIdentifier,
) -> Result<Option<T>, ChainError> {
    let Some(extensions) = &certificate.tbs_certificate.extensions else {
        return Ok(None);
    };
    let Some(extension) = extensions.iter().find(|extension| extension.extn_id == oid) else {
        return Ok(None);
    };
    T::from_der(extension.extn_value.as_bytes())
        .map(Some)
        .map_err(|error| ChainError::Unreadable {
            position,
            reason: format!("extension {oid}: {error}"),
        })
}

/// Checks that `signer` names and signs `certificate`.
fn check_signed_by(certificate: &Certificate, signer: &Certificate) -> Result<(), String> {
    if certificate.tbs_certificate.issuer != signer.tbs_certificate.subject {
        return Err(format!(
            "its issuer is {}, not {}",
            certificate.tbs_certificate.issuer, signer.tbs_certificate.subject
        ));
    }
    let signer_spki = signer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|error| error.to_string())?;
    let signer_key = PublicKey::from_spki_der(&signer_spki).map_err(|error| error.to_string())?;
    let signed = certificate
        .tbs_certificate
        .to_der()
        .map_err(|error| error.to_string())?;
    let signature = certificate
        .signature
        .as_bytes()
        .ok_or("the signature BIT STRING has unused bits")?;
    signer_key.verify_with_algorithm(&certificate.signature_algorithm.oid, &signed, signature)
}

/// Creates the issuing CA key at `<data_dir>/keys/ca.pem` and the chain at
/// `<data_dir>/trust/ca-chain.pem`, unless both exist already.
///
/// The chain is an ECDSA P-384 root (pathLen 1) and an ECDSA P-384 intermediate (pathLen 0,
/// extended key usage codeSigning), written intermediate first. Only the intermediate key is
/// kept, encrypted when `password` is set. The root key is never written, so no one can sign a
/// second intermediate under this root. Validity runs from `now` minus five minutes for ten
/// years.
pub fn init_material(
    data_dir: &Path,
    password: &KeyPassword,
    now: SystemTime,
) -> Result<InitReport, MaterialError> {
    let key_path = data_dir.join(DEFAULT_KEY_PATH);
    let chain_path = data_dir.join(DEFAULT_CHAIN_PATH);
    let report = |created| InitReport {
        key_path: key_path.clone(),
        chain_path: chain_path.clone(),
        created,
    };
    match (key_path.exists(), chain_path.exists()) {
        (true, true) => return Ok(report(false)),
        (false, false) => {}
        (key_exists, _) => {
            let (present, missing) = if key_exists {
                (key_path.clone(), chain_path.clone())
            } else {
                (chain_path.clone(), key_path.clone())
            };
            return Err(MaterialError::HalfPresent { present, missing });
        }
    }

    let (intermediate_key_der, chain_pem) = generate_chain(now)?;

    // The key is written first. If the chain cannot be written, the key is removed again, so
    // a failed init leaves neither file and can be retried.
    sigstack_keys::write_pkcs8_pem(&key_path, &intermediate_key_der, password)?;
    if let Err(source) = write_new_file(&chain_path, chain_pem.as_bytes()) {
        let _ = std::fs::remove_file(&key_path);
        return Err(MaterialError::ChainWrite {
            path: chain_path,
            source,
        });
    }
    tracing::info!(
        key_path = %key_path.display(),
        chain_path = %chain_path.display(),
        encrypted = password.is_set(),
        "created CA key and certificate chain"
    );
    Ok(report(true))
}

fn write_new_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Generates a root and an intermediate; returns the intermediate's PKCS#8 DER key and the
/// PEM chain, intermediate first.
pub(crate) fn generate_chain(now: SystemTime) -> Result<(Vec<u8>, String), MaterialError> {
    use rcgen::{
        BasicConstraints as Constraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
        Issuer, KeyPair, KeyUsagePurpose,
    };
    let failed = |error: rcgen::Error| MaterialError::Generate(error.to_string());
    let ca_params = |common_name: &str, path_length: u8| {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "sigstack");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.not_before = time::OffsetDateTime::from(now - GENERATED_CHAIN_BACKDATE);
        params.not_after = time::OffsetDateTime::from(now + GENERATED_CHAIN_VALIDITY);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(
            &crate::issue::random_serial(&mut rand::rngs::OsRng),
        ));
        params.is_ca = IsCa::Ca(Constraints::Constrained(path_length));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
    };

    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(failed)?;
    let root_params = ca_params("sigstack CA root", 1);
    let root_cert = root_params.self_signed(&root_key).map_err(failed)?;
    let root = Issuer::new(root_params, root_key);

    let intermediate_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(failed)?;
    let mut intermediate_params = ca_params("sigstack CA intermediate", 0);
    intermediate_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    intermediate_params.use_authority_key_identifier_extension = true;
    let intermediate_cert = intermediate_params
        .signed_by(&intermediate_key, &root)
        .map_err(failed)?;

    Ok((
        intermediate_key.serialize_der(),
        [intermediate_cert.pem(), root_cert.pem()].concat(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn generated() -> (CaSigningKey, Vec<Certificate>) {
        let (key_der, pem) = generate_chain(now()).expect("generate");
        let key = CaSigningKey::from_pkcs8_der(&key_der).expect("key");
        let chain = Certificate::load_pem_chain(pem.as_bytes()).expect("chain");
        (key, chain)
    }

    #[test]
    fn generated_chain_passes_checks() {
        let (key, chain) = generated();
        assert!(matches!(key, CaSigningKey::P384(_)));
        let material = CaMaterial::from_parts(key, chain, now()).expect("valid chain");
        assert_eq!(material.chain_pem.len(), 2);
        assert!(material.chain_pem[0].starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(material.chain_pem[0].ends_with("-----END CERTIFICATE-----"));
        assert!(!material.issuer_key_identifier.is_empty());
    }

    #[test]
    fn key_of_another_chain_is_rejected() {
        let (_, chain) = generated();
        let (other_key, _) = generated();
        let error = check_chain(&other_key, &chain, now()).expect_err("mismatch");
        assert!(matches!(error, ChainError::KeyMismatch { .. }), "{error}");
    }

    #[test]
    fn chain_without_code_signing_is_rejected() {
        // The root alone may sign leaves, but an intermediate without codeSigning may not: use
        // the root's own key over a chain whose first certificate is the intermediate.
        let (key, chain) = generated();
        let reversed = vec![chain[1].clone(), chain[0].clone()];
        let error = check_chain(&key, &reversed, now()).expect_err("wrong order");
        assert!(matches!(error, ChainError::KeyMismatch { .. }), "{error}");

        let root_only = &chain[1..];
        let error = check_chain(&key, root_only, now()).expect_err("key is not the root's");
        assert!(matches!(error, ChainError::KeyMismatch { .. }), "{error}");
    }

    #[test]
    fn expired_chain_is_rejected() {
        let (key, chain) = generated();
        let later = now() + GENERATED_CHAIN_VALIDITY + Duration::from_secs(1);
        let error = check_chain(&key, &chain, later).expect_err("expired");
        assert!(
            matches!(error, ChainError::OutsideValidity { position: 0, .. }),
            "{error}"
        );
    }

    #[test]
    fn tampered_link_is_rejected() {
        let (key, mut chain) = generated();
        let mut signature = chain[0].signature.raw_bytes().to_vec();
        let last = signature.len() - 2;
        signature[last] ^= 1;
        chain[0].signature = der::asn1::BitString::from_bytes(&signature).expect("bit string");
        let error = check_chain(&key, &chain, now()).expect_err("tampered");
        assert!(
            matches!(error, ChainError::BrokenLink { position: 0, .. }),
            "{error}"
        );
    }

    #[test]
    fn init_creates_material_once() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let password = KeyPassword::new("ca test password");
        let first = init_material(dir.path(), &password, now()).expect("init");
        assert!(first.created);
        assert_eq!(first.key_path, dir.path().join("keys/ca.pem"));
        assert_eq!(first.chain_path, dir.path().join("trust/ca-chain.pem"));
        let key_pem = std::fs::read_to_string(&first.key_path).expect("key file");
        assert!(key_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let chain_pem = std::fs::read_to_string(&first.chain_path).expect("chain file");
        assert_eq!(chain_pem.matches("BEGIN CERTIFICATE").count(), 2);

        let second = init_material(dir.path(), &password, now()).expect("second init");
        assert!(!second.created);
        assert_eq!(
            std::fs::read_to_string(&first.chain_path).expect("chain"),
            chain_pem
        );

        let material =
            CaMaterial::load(&first.key_path, &first.chain_path, &password, now()).expect("load");
        assert_eq!(material.chain.len(), 2);

        std::fs::remove_file(&first.chain_path).expect("remove chain");
        let error = init_material(dir.path(), &password, now()).expect_err("half present");
        assert!(
            matches!(error, MaterialError::HalfPresent { .. }),
            "{error}"
        );
    }
}
