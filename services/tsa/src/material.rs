//! The TSA key and certificate chain: generating them at `init` and loading them at start-up.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use der::asn1::ObjectIdentifier;
use der::{Encode, EncodePem};
use pkcs8::der::pem::LineEnding;
use rand::RngCore;
use sigstack_keys::{KeyError, KeyPassword};
use x509_cert::Certificate;
use x509_cert::ext::pkix::ExtendedKeyUsage;

use crate::asn1::ID_KP_TIME_STAMPING;
use crate::key::TsaSigningKey;
pub use crate::profile::{ProfileError, check_chain};

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

/// Outcome of `init_material`: the two paths and whether they were created.
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

/// Returns a random positive 16-byte certificate serial number (RFC 5280 §4.1.2.2 allows up to
/// 20 bytes).
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
        assert!(matches!(material.key, TsaSigningKey::P256(..)));
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
