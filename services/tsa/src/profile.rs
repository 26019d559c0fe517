//! The TSA certificate profile: the start-up checks that any TSA key and chain, generated or
//! supplied by an operator, must pass.

use std::time::SystemTime;

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};

use crate::asn1::{
    ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ECDSA_WITH_SHA512, ID_CE_EXT_KEY_USAGE,
    ID_KP_TIME_STAMPING, SHA256_WITH_RSA, SHA384_WITH_RSA, SHA512_WITH_RSA,
};
use crate::key::TsaSigningKey;

/// basicConstraints extension (RFC 5280 §4.2.1.9).
const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

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
