//! The TSA key and certificate chain: generating them at `init`, and the start-up checks that
//! any key and chain, generated or supplied by an operator, must pass.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, EncodePem};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use pkcs8::DecodePublicKey;
use pkcs8::der::pem::LineEnding;
use rand::RngCore;
use sha2::{Digest, Sha256, Sha384, Sha512};
use sigstack_keys::{KeyError, KeyPassword};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};

use crate::asn1::{
    ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ECDSA_WITH_SHA512, ID_CE_EXT_KEY_USAGE,
    ID_KP_TIME_STAMPING, SHA256_WITH_RSA, SHA384_WITH_RSA, SHA512_WITH_RSA,
};
use crate::key::TsaSigningKey;

/// Path of the TSA key that `init_material` creates, relative to the data directory.
pub const DEFAULT_KEY_PATH: &str = "keys/tsa.pem";
/// Path of the PEM chain (leaf, intermediate, root) that `init_material` creates, relative to
/// the data directory.
pub const DEFAULT_CHAIN_PATH: &str = "trust/tsa-chain.pem";

/// Validity of a generated chain. The root and intermediate keys are discarded once the chain
/// is signed, so nothing can re-issue the leaf: the chain has to outlive the deployment, and
/// rotating it means supplying new material.
const GENERATED_CHAIN_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
/// How far before `now` a generated chain starts, so that verifiers whose clocks run slightly
/// behind still accept tokens issued right after `init`.
const GENERATED_CHAIN_BACKDATE: Duration = Duration::from_secs(5 * 60);

/// basicConstraints extension (RFC 5280 §4.2.1.9).
const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

/// A failure to create or load the TSA key and chain. Every variant is the operator's to fix,
/// and each message names the file or certificate involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MaterialError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("key file {path} is unusable: {reason}")]
    KeyType { path: PathBuf, reason: String },
    #[error("failed to read TSA certificate chain {path}: {source}")]
    ChainRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to write TSA certificate chain {path}: {source}")]
    ChainWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TSA certificate chain {path} is not a PEM certificate chain: {reason}")]
    ChainFormat { path: PathBuf, reason: String },
    #[error(
        "{present} exists but {missing} does not: restore the missing file, or remove both to generate new TSA material"
    )]
    HalfPresent { present: PathBuf, missing: PathBuf },
    #[error("failed to generate the TSA certificate chain: {0}")]
    Generate(String),
    #[error("TSA certificate chain is invalid: {0}")]
    Profile(#[from] ProfileError),
}

impl MaterialError {
    /// Returns a fixed label for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Key(_) | Self::KeyType { .. } => "tsa_key",
            Self::ChainRead { .. } | Self::ChainWrite { .. } | Self::ChainFormat { .. } => {
                "tsa_chain_file"
            }
            Self::HalfPresent { .. } => "tsa_material_incomplete",
            Self::Generate(_) => "tsa_chain_generation",
            Self::Profile(error) => error.kind(),
        }
    }
}

/// A TSA key and chain that break the TSA certificate profile (RFC 3161 §2.3) or do not belong
/// together. Chain positions count from 0, the leaf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    #[error(
        "the chain has {0} certificate(s): it must list the TSA certificate first, then any intermediates, then the root"
    )]
    TooShort(usize),
    #[error(
        "the TSA certificate ({subject}) has no extended key usage extension: it needs exactly id-kp-timeStamping, marked critical"
    )]
    LeafEkuMissing { subject: String },
    #[error(
        "the TSA certificate ({subject}) has its extended key usage extension marked non-critical: RFC 3161 §2.3 requires it to be critical"
    )]
    LeafEkuNotCritical { subject: String },
    #[error(
        "the TSA certificate ({subject}) has extended key usages [{found}]: RFC 3161 §2.3 allows exactly one, id-kp-timeStamping (1.3.6.1.5.5.7.3.8)"
    )]
    LeafEkuNotTimeStampingOnly { subject: String, found: String },
    #[error(
        "the TSA certificate ({subject}) is a CA certificate (basicConstraints cA=TRUE): use an end-entity certificate"
    )]
    LeafIsCa { subject: String },
    #[error("the TSA key does not match the public key of the TSA certificate ({subject})")]
    KeyMismatch { subject: String },
    #[error(
        "certificate {position} of the chain ({subject}) is not a CA certificate, so it cannot issue certificate {previous}"
    )]
    IssuerNotCa {
        position: usize,
        previous: usize,
        subject: String,
    },
    #[error(
        "intermediate certificate {position} ({subject}) does not allow id-kp-timeStamping in its extended key usage: use an intermediate that does, or set enforce_intermediate_eku = false"
    )]
    IntermediateEkuMissing { position: usize, subject: String },
    #[error(
        "certificate {position} of the chain ({subject}) is not signed by the next one: {reason}"
    )]
    BrokenLink {
        position: usize,
        subject: String,
        reason: String,
    },
    #[error("the last certificate of the chain ({subject}) is not a self-signed root: {reason}")]
    NotARoot { subject: String, reason: String },
    #[error(
        "certificate {position} of the chain ({subject}) is not valid now: valid from {not_before} to {not_after}"
    )]
    OutsideValidity {
        position: usize,
        subject: String,
        not_before: String,
        not_after: String,
    },
    #[error("certificate {position} of the chain cannot be read: {reason}")]
    Unreadable { position: usize, reason: String },
}

impl ProfileError {
    /// Returns a fixed label for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TooShort(_) => "tsa_chain_too_short",
            Self::LeafEkuMissing { .. } => "tsa_leaf_eku_missing",
            Self::LeafEkuNotCritical { .. } => "tsa_leaf_eku_not_critical",
            Self::LeafEkuNotTimeStampingOnly { .. } => "tsa_leaf_eku_not_time_stamping_only",
            Self::LeafIsCa { .. } => "tsa_leaf_is_ca",
            Self::KeyMismatch { .. } => "tsa_key_mismatch",
            Self::IssuerNotCa { .. } => "tsa_issuer_not_ca",
            Self::IntermediateEkuMissing { .. } => "tsa_intermediate_eku_missing",
            Self::BrokenLink { .. } => "tsa_chain_broken",
            Self::NotARoot { .. } => "tsa_chain_not_rooted",
            Self::OutsideValidity { .. } => "tsa_certificate_not_valid_now",
            Self::Unreadable { .. } => "tsa_certificate_unreadable",
        }
    }
}

/// What `init_material` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    pub key_path: PathBuf,
    pub chain_path: PathBuf,
    /// False when both files already existed and were left alone.
    pub created: bool,
}

/// A TSA key with its checked chain.
#[derive(Debug)]
pub struct TsaMaterial {
    pub key: TsaSigningKey,
    /// The chain, TSA certificate first and root last.
    pub chain: Vec<Certificate>,
    /// The chain as PEM, in the same order, as `/api/v1/timestamp/certchain` serves it.
    pub chain_pem: String,
}

impl TsaMaterial {
    /// Reads the key (PKCS#8 PEM, decrypted with `password` when encrypted) and the PEM chain,
    /// then runs [`check_chain`] at time `now`.
    pub fn load(
        key_path: &Path,
        chain_path: &Path,
        password: &KeyPassword,
        enforce_intermediate_eku: bool,
        now: SystemTime,
    ) -> Result<Self, MaterialError> {
        let document = sigstack_keys::read_pkcs8_pem(key_path, password)?;
        let key = TsaSigningKey::from_pkcs8_der(document.as_bytes()).map_err(|reason| {
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
        Self::from_parts(key, chain, enforce_intermediate_eku, now)
    }

    /// Checks `chain` against `key` and the profile, and keeps both.
    pub fn from_parts(
        key: TsaSigningKey,
        chain: Vec<Certificate>,
        enforce_intermediate_eku: bool,
        now: SystemTime,
    ) -> Result<Self, MaterialError> {
        check_chain(&key, &chain, enforce_intermediate_eku, now)?;
        let mut chain_pem = String::new();
        for (position, certificate) in chain.iter().enumerate() {
            let pem =
                certificate
                    .to_pem(LineEnding::LF)
                    .map_err(|error| ProfileError::Unreadable {
                        position,
                        reason: error.to_string(),
                    })?;
            chain_pem.push_str(&pem);
        }
        Ok(Self {
            key,
            chain,
            chain_pem,
        })
    }
}

/// Runs the start-up checks on a TSA key and chain:
///
/// - the chain lists the TSA certificate, any intermediates and a self-signed root, each
///   signed by the next, and each valid at `now`;
/// - the TSA certificate has exactly one extended key usage, id-kp-timeStamping, marked
///   critical, and is not a CA;
/// - `key` is the key of the TSA certificate;
/// - every other certificate is a CA, and with `enforce_intermediate_eku` every intermediate
///   lists id-kp-timeStamping in its extended key usage.
pub fn check_chain(
    key: &TsaSigningKey,
    chain: &[Certificate],
    enforce_intermediate_eku: bool,
    now: SystemTime,
) -> Result<(), ProfileError> {
    if chain.len() < 2 {
        return Err(ProfileError::TooShort(chain.len()));
    }
    let leaf = &chain[0];
    let leaf_subject = leaf.tbs_certificate.subject.to_string();

    // SPEC(RFC 3161 §2.3): "The corresponding certificate MUST contain only one instance of the
    // extended key usage field extension (...) with KeyPurposeID having value:
    // id-kp-timeStamping. This extension MUST be critical."
    let (critical, usages) =
        extended_key_usage(leaf, 0)?.ok_or_else(|| ProfileError::LeafEkuMissing {
            subject: leaf_subject.clone(),
        })?;
    if !critical {
        return Err(ProfileError::LeafEkuNotCritical {
            subject: leaf_subject,
        });
    }
    if usages != [ID_KP_TIME_STAMPING] {
        let found: Vec<String> = usages.iter().map(ToString::to_string).collect();
        return Err(ProfileError::LeafEkuNotTimeStampingOnly {
            subject: leaf_subject,
            found: found.join(", "),
        });
    }
    if is_ca(leaf, 0)? {
        return Err(ProfileError::LeafIsCa {
            subject: leaf_subject,
        });
    }

    let leaf_key = leaf
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|error| ProfileError::Unreadable {
            position: 0,
            reason: error.to_string(),
        })?;
    if key.public_key_der().ok() != Some(leaf_key) {
        return Err(ProfileError::KeyMismatch {
            subject: leaf_subject,
        });
    }

    let last = chain.len() - 1;
    for (position, certificate) in chain.iter().enumerate() {
        let subject = certificate.tbs_certificate.subject.to_string();
        let validity = &certificate.tbs_certificate.validity;
        if now < validity.not_before.to_system_time() || now > validity.not_after.to_system_time() {
            return Err(ProfileError::OutsideValidity {
                position,
                subject,
                not_before: validity.not_before.to_string(),
                not_after: validity.not_after.to_string(),
            });
        }
        if position == 0 {
            continue;
        }
        if !is_ca(certificate, position)? {
            return Err(ProfileError::IssuerNotCa {
                position,
                previous: position - 1,
                subject,
            });
        }
        if enforce_intermediate_eku && position != last {
            let allows_time_stamping = extended_key_usage(certificate, position)?
                .is_some_and(|(_, usages)| usages.contains(&ID_KP_TIME_STAMPING));
            if !allows_time_stamping {
                return Err(ProfileError::IntermediateEkuMissing { position, subject });
            }
        }
    }

    for position in 0..last {
        let (certificate, issuer) = (&chain[position], &chain[position + 1]);
        verify_issued_by(certificate, issuer).map_err(|reason| ProfileError::BrokenLink {
            position,
            subject: certificate.tbs_certificate.subject.to_string(),
            reason,
        })?;
    }
    let root = &chain[last];
    verify_issued_by(root, root).map_err(|reason| ProfileError::NotARoot {
        subject: root.tbs_certificate.subject.to_string(),
        reason,
    })?;
    Ok(())
}

/// Returns the criticality and key purposes of the extended key usage extension, if present.
fn extended_key_usage(
    certificate: &Certificate,
    position: usize,
) -> Result<Option<(bool, Vec<ObjectIdentifier>)>, ProfileError> {
    let Some(extension) = find_extension(certificate, ID_CE_EXT_KEY_USAGE) else {
        return Ok(None);
    };
    let usages = ExtendedKeyUsage::from_der(extension.extn_value.as_bytes()).map_err(|error| {
        ProfileError::Unreadable {
            position,
            reason: error.to_string(),
        }
    })?;
    Ok(Some((extension.critical, usages.0)))
}

fn is_ca(certificate: &Certificate, position: usize) -> Result<bool, ProfileError> {
    let Some(extension) = find_extension(certificate, ID_CE_BASIC_CONSTRAINTS) else {
        return Ok(false);
    };
    let constraints =
        BasicConstraints::from_der(extension.extn_value.as_bytes()).map_err(|error| {
            ProfileError::Unreadable {
                position,
                reason: error.to_string(),
            }
        })?;
    Ok(constraints.ca)
}

fn find_extension(
    certificate: &Certificate,
    oid: ObjectIdentifier,
) -> Option<&x509_cert::ext::Extension> {
    certificate
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|extension| extension.extn_id == oid)
}

/// Checks that `issuer` names and signs `certificate`, for ECDSA (P-256, P-384) and RSA
/// PKCS #1 v1.5 signatures with SHA-256, SHA-384 or SHA-512.
fn verify_issued_by(certificate: &Certificate, issuer: &Certificate) -> Result<(), String> {
    if certificate.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(format!(
            "its issuer is {} but the next certificate's subject is {}",
            certificate.tbs_certificate.issuer, issuer.tbs_certificate.subject
        ));
    }
    let message = certificate
        .tbs_certificate
        .to_der()
        .map_err(|error| error.to_string())?;
    let signature = certificate
        .signature
        .as_bytes()
        .ok_or("the signature BIT STRING has unused bits")?;
    let issuer_key = issuer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|error| error.to_string())?;
    let algorithm = certificate.signature_algorithm.oid;
    match algorithm {
        ECDSA_WITH_SHA256 => verify_ecdsa(&issuer_key, &Sha256::digest(&message), signature),
        ECDSA_WITH_SHA384 => verify_ecdsa(&issuer_key, &Sha384::digest(&message), signature),
        ECDSA_WITH_SHA512 => verify_ecdsa(&issuer_key, &Sha512::digest(&message), signature),
        SHA256_WITH_RSA => verify_rsa::<Sha256>(&issuer_key, &message, signature),
        SHA384_WITH_RSA => verify_rsa::<Sha384>(&issuer_key, &message, signature),
        SHA512_WITH_RSA => verify_rsa::<Sha512>(&issuer_key, &message, signature),
        other => Err(format!(
            "signature algorithm {other} is not supported: use ECDSA or RSA PKCS #1 v1.5 with SHA-2"
        )),
    }
}

fn verify_ecdsa(issuer_key: &[u8], prehash: &[u8], signature: &[u8]) -> Result<(), String> {
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(issuer_key) {
        let signature = p256::ecdsa::Signature::from_der(signature).map_err(|e| e.to_string())?;
        return key
            .verify_prehash(prehash, &signature)
            .map_err(|_| "bad signature".to_owned());
    }
    if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(issuer_key) {
        let signature = p384::ecdsa::Signature::from_der(signature).map_err(|e| e.to_string())?;
        return key
            .verify_prehash(prehash, &signature)
            .map_err(|_| "bad signature".to_owned());
    }
    Err("the issuer key is not an ECDSA P-256 or P-384 key".to_owned())
}

fn verify_rsa<D>(issuer_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), String>
where
    D: Digest + der::oid::AssociatedOid,
{
    use rsa::signature::Verifier as _;
    let key = rsa::RsaPublicKey::from_public_key_der(issuer_key)
        .map_err(|_| "the issuer key is not an RSA key".to_owned())?;
    let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(|e| e.to_string())?;
    rsa::pkcs1v15::VerifyingKey::<D>::new(key)
        .verify(message, &signature)
        .map_err(|_| "bad signature".to_owned())
}

/// Creates the TSA key at `<data_dir>/keys/tsa.pem` and its chain at
/// `<data_dir>/trust/tsa-chain.pem`, unless both exist already.
///
/// The chain is an ECDSA P-384 root, an ECDSA P-384 intermediate that carries
/// id-kp-timeStamping, and an ECDSA P-256 TSA certificate whose only extended key usage is
/// id-kp-timeStamping, marked critical. The root and intermediate keys are never written, so
/// no one can issue a second TSA certificate under this root. The key file is encrypted when
/// `password` is set. Validity runs from `now` minus five minutes for ten years.
pub fn init_material(
    data_dir: &Path,
    password: &KeyPassword,
    now: SystemTime,
) -> Result<InitReport, MaterialError> {
    let key_path = data_dir.join(DEFAULT_KEY_PATH);
    let chain_path = data_dir.join(DEFAULT_CHAIN_PATH);
    match (key_path.exists(), chain_path.exists()) {
        (true, true) => {
            return Ok(InitReport {
                key_path,
                chain_path,
                created: false,
            });
        }
        (true, false) => {
            return Err(MaterialError::HalfPresent {
                present: key_path,
                missing: chain_path,
            });
        }
        (false, true) => {
            return Err(MaterialError::HalfPresent {
                present: chain_path,
                missing: key_path,
            });
        }
        (false, false) => {}
    }

    let generated = generate_chain(&ChainProfile::default(), now)?;

    // The key is written first and removed again if the chain cannot be written, so a failed
    // init leaves neither file and can be retried.
    sigstack_keys::write_pkcs8_pem(&key_path, &generated.leaf_key_pkcs8, password)?;
    let write_chain = || -> std::io::Result<()> {
        if let Some(parent) = chain_path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&chain_path)?;
        file.write_all(generated.chain_pem.as_bytes())?;
        file.sync_all()
    };
    if let Err(source) = write_chain() {
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
        "created TSA key and certificate chain"
    );
    Ok(InitReport {
        key_path,
        chain_path,
        created: true,
    })
}

/// Deviations from the generated profile, so tests can build chains that must be refused.
#[derive(Debug, Clone)]
pub(crate) struct ChainProfile {
    pub leaf_eku_present: bool,
    pub leaf_eku_critical: bool,
    pub leaf_extra_eku: bool,
    pub leaf_is_ca: bool,
    pub intermediate_time_stamping: bool,
}

impl Default for ChainProfile {
    fn default() -> Self {
        Self {
            leaf_eku_present: true,
            leaf_eku_critical: true,
            leaf_extra_eku: false,
            leaf_is_ca: false,
            intermediate_time_stamping: true,
        }
    }
}

/// A freshly generated chain and the PKCS#8 DER of its TSA key.
pub(crate) struct GeneratedChain {
    pub leaf_key_pkcs8: Vec<u8>,
    pub chain_pem: String,
}

pub(crate) fn generate_chain(
    profile: &ChainProfile,
    now: SystemTime,
) -> Result<GeneratedChain, MaterialError> {
    use rcgen::{
        BasicConstraints as RcgenBasicConstraints, CertificateParams, CustomExtension, DnType,
        ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let generate_error = |error: rcgen::Error| MaterialError::Generate(error.to_string());
    let not_before = time::OffsetDateTime::from(now - GENERATED_CHAIN_BACKDATE);
    let not_after = time::OffsetDateTime::from(now + GENERATED_CHAIN_VALIDITY);
    let params = |common_name: &str| {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "sigstack");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(random_serial());
        params
    };

    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(generate_error)?;
    let mut root_params = params("sigstack TSA root");
    root_params.is_ca = IsCa::Ca(RcgenBasicConstraints::Constrained(1));
    root_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let root_cert = root_params.self_signed(&root_key).map_err(generate_error)?;
    let root = Issuer::new(root_params, root_key);

    let intermediate_key =
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(generate_error)?;
    let mut intermediate_params = params("sigstack TSA intermediate");
    intermediate_params.is_ca = IsCa::Ca(RcgenBasicConstraints::Constrained(0));
    intermediate_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    if profile.intermediate_time_stamping {
        intermediate_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::TimeStamping];
    }
    intermediate_params.use_authority_key_identifier_extension = true;
    let intermediate_cert = intermediate_params
        .signed_by(&intermediate_key, &root)
        .map_err(generate_error)?;
    let intermediate = Issuer::new(intermediate_params, intermediate_key);

    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate_error)?;
    let mut leaf_params = params("sigstack timestamp authority");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.use_authority_key_identifier_extension = true;
    if profile.leaf_is_ca {
        leaf_params.is_ca = IsCa::Ca(RcgenBasicConstraints::Unconstrained);
    }
    // rcgen marks its own extended key usage extension non-critical, so the leaf's is written
    // by hand: SEQUENCE OF KeyPurposeId.
    let mut usages = vec![ID_KP_TIME_STAMPING];
    if profile.leaf_extra_eku {
        usages.push(ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3")); // id-kp-codeSigning
    }
    let eku_value = ExtendedKeyUsage(usages)
        .to_der()
        .map_err(|error| MaterialError::Generate(error.to_string()))?;
    let mut eku = CustomExtension::from_oid_content(&[2, 5, 29, 37], eku_value);
    eku.set_criticality(profile.leaf_eku_critical);
    if profile.leaf_eku_present {
        leaf_params.custom_extensions = vec![eku];
    }
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &intermediate)
        .map_err(generate_error)?;

    Ok(GeneratedChain {
        leaf_key_pkcs8: leaf_key.serialize_der(),
        chain_pem: [leaf_cert.pem(), intermediate_cert.pem(), root_cert.pem()].concat(),
    })
}

/// A random positive 16-byte certificate serial number (RFC 5280 §4.1.2.2 allows up to 20).
fn random_serial() -> rcgen::SerialNumber {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    rcgen::SerialNumber::from_slice(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    /// Generates a chain with `profile` and runs the start-up checks on it.
    fn check_generated(
        profile: ChainProfile,
        enforce_intermediate_eku: bool,
    ) -> Result<TsaMaterial, MaterialError> {
        let generated = generate_chain(&profile, now()).expect("generate chain");
        let key = TsaSigningKey::from_pkcs8_der(&generated.leaf_key_pkcs8).expect("key");
        let chain = Certificate::load_pem_chain(generated.chain_pem.as_bytes()).expect("chain");
        TsaMaterial::from_parts(key, chain, enforce_intermediate_eku, now())
    }

    fn profile_error(result: Result<TsaMaterial, MaterialError>) -> ProfileError {
        match result {
            Err(MaterialError::Profile(error)) => error,
            other => panic!("expected a profile error, got {other:?}"),
        }
    }

    #[test]
    fn generated_chain_passes_checks() {
        let material = check_generated(ChainProfile::default(), true).expect("valid chain");
        assert_eq!(material.chain.len(), 3);
        assert_eq!(
            material
                .chain_pem
                .matches("-----BEGIN CERTIFICATE-----")
                .count(),
            3
        );
        assert!(matches!(material.key, TsaSigningKey::P256(_)));
    }

    #[test]
    fn leaf_without_eku_is_refused() {
        let profile = ChainProfile {
            leaf_eku_present: false,
            ..ChainProfile::default()
        };
        let error = profile_error(check_generated(profile, true));
        assert!(
            matches!(error, ProfileError::LeafEkuMissing { .. }),
            "{error}"
        );
    }

    #[test]
    fn non_critical_leaf_eku_is_refused() {
        let profile = ChainProfile {
            leaf_eku_critical: false,
            ..ChainProfile::default()
        };
        let error = profile_error(check_generated(profile, true));
        assert!(
            matches!(error, ProfileError::LeafEkuNotCritical { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("critical"));
    }

    #[test]
    fn extra_leaf_eku_is_refused() {
        let profile = ChainProfile {
            leaf_extra_eku: true,
            ..ChainProfile::default()
        };
        let error = profile_error(check_generated(profile, true));
        assert!(
            matches!(error, ProfileError::LeafEkuNotTimeStampingOnly { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("1.3.6.1.5.5.7.3.3"), "{error}");
    }

    #[test]
    fn ca_leaf_is_refused() {
        let profile = ChainProfile {
            leaf_is_ca: true,
            ..ChainProfile::default()
        };
        let error = profile_error(check_generated(profile, true));
        assert!(matches!(error, ProfileError::LeafIsCa { .. }), "{error}");
    }

    #[test]
    fn intermediate_without_time_stamping() {
        let profile = ChainProfile {
            intermediate_time_stamping: false,
            ..ChainProfile::default()
        };
        let error = profile_error(check_generated(profile.clone(), true));
        assert!(matches!(
            error,
            ProfileError::IntermediateEkuMissing { position: 1, .. }
        ));
        assert!(
            error
                .to_string()
                .contains("enforce_intermediate_eku = false"),
            "{error}"
        );

        assert!(
            check_generated(profile, false).is_ok(),
            "the check can be turned off"
        );
    }

    #[test]
    fn key_of_another_chain_is_refused() {
        let first = generate_chain(&ChainProfile::default(), now()).expect("first chain");
        let second = generate_chain(&ChainProfile::default(), now()).expect("second chain");
        let key = TsaSigningKey::from_pkcs8_der(&second.leaf_key_pkcs8).expect("key");
        let chain = Certificate::load_pem_chain(first.chain_pem.as_bytes()).expect("chain");
        let error = profile_error(TsaMaterial::from_parts(key, chain, true, now()));
        assert!(matches!(error, ProfileError::KeyMismatch { .. }), "{error}");
    }

    #[test]
    fn chain_shape_errors() {
        let generated = generate_chain(&ChainProfile::default(), now()).expect("chain");
        let key = TsaSigningKey::from_pkcs8_der(&generated.leaf_key_pkcs8).expect("key");
        let chain = Certificate::load_pem_chain(generated.chain_pem.as_bytes()).expect("chain");

        let leaf_only =
            check_chain(&key, &chain[..1], true, now()).expect_err("the check must fail");
        assert_eq!(leaf_only, ProfileError::TooShort(1));

        let without_intermediate = [chain[0].clone(), chain[2].clone()];
        let error =
            check_chain(&key, &without_intermediate, true, now()).expect_err("the check must fail");
        assert!(
            matches!(error, ProfileError::BrokenLink { position: 0, .. }),
            "{error}"
        );

        let without_root = &chain[..2];
        let error = check_chain(&key, without_root, true, now()).expect_err("the check must fail");
        assert!(matches!(error, ProfileError::NotARoot { .. }), "{error}");
    }

    #[test]
    fn tampered_certificate_signature_is_refused() {
        let generated = generate_chain(&ChainProfile::default(), now()).expect("chain");
        let key = TsaSigningKey::from_pkcs8_der(&generated.leaf_key_pkcs8).expect("key");
        let mut chain = Certificate::load_pem_chain(generated.chain_pem.as_bytes()).expect("chain");
        let mut signature = chain[1].signature.raw_bytes().to_vec();
        let last = signature.len() - 2;
        signature[last] ^= 1;
        chain[1].signature = der::asn1::BitString::from_bytes(&signature).expect("bit string");
        let error = check_chain(&key, &chain, true, now()).expect_err("the check must fail");
        assert!(
            matches!(error, ProfileError::BrokenLink { position: 1, .. }),
            "{error}"
        );
    }

    #[test]
    fn expired_chain_is_refused() {
        let generated = generate_chain(&ChainProfile::default(), now()).expect("chain");
        let key = TsaSigningKey::from_pkcs8_der(&generated.leaf_key_pkcs8).expect("key");
        let chain = Certificate::load_pem_chain(generated.chain_pem.as_bytes()).expect("chain");
        let later = now() + GENERATED_CHAIN_VALIDITY + Duration::from_secs(1);
        let error = check_chain(&key, &chain, true, later).expect_err("the check must fail");
        assert!(
            matches!(error, ProfileError::OutsideValidity { position: 0, .. }),
            "{error}"
        );
    }

    #[test]
    fn init_creates_material_once() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let password = KeyPassword::new("tsa test password");
        let first = init_material(dir.path(), &password, now()).expect("init");
        assert!(first.created);
        assert_eq!(first.key_path, dir.path().join("keys/tsa.pem"));
        assert_eq!(first.chain_path, dir.path().join("trust/tsa-chain.pem"));
        let key_pem = std::fs::read_to_string(&first.key_path).expect("key file");
        assert!(key_pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let chain_pem = std::fs::read_to_string(&first.chain_path).expect("chain file");

        let second = init_material(dir.path(), &password, now()).expect("second init");
        assert!(!second.created);
        assert_eq!(
            std::fs::read_to_string(&first.chain_path).expect("chain"),
            chain_pem
        );

        let material =
            TsaMaterial::load(&first.key_path, &first.chain_path, &password, true, now())
                .expect("load");
        assert_eq!(material.chain.len(), 3);
        let wrong = TsaMaterial::load(
            &first.key_path,
            &first.chain_path,
            &KeyPassword::new("wrong"),
            true,
            now(),
        );
        assert!(
            matches!(wrong, Err(MaterialError::Key(KeyError::Decrypt { .. }))),
            "{wrong:?}"
        );
    }

    #[test]
    fn init_refuses_half_present_material() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let report = init_material(dir.path(), &KeyPassword::none(), now()).expect("init");
        std::fs::remove_file(&report.chain_path).expect("remove chain");
        let error = init_material(dir.path(), &KeyPassword::none(), now())
            .expect_err("the check must fail");
        assert!(
            matches!(error, MaterialError::HalfPresent { .. }),
            "{error}"
        );
        assert_eq!(error.kind(), "tsa_material_incomplete");
    }
}
