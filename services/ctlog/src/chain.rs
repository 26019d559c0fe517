//! Validating a submitted chain to one of the configured roots, as ct-go's ctfe does for
//! add-chain and add-pre-chain (`cert_checker.go`), and building the signed entry.
//!
//! As in ctfe, validity periods and unknown critical extensions are not checked, because the
//! poison is a critical extension that path validators do not recognize. The extended key
//! usage is checked on the submitted leaf only.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use ecdsa::signature::hazmat::PrehashVerifier as _;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};

use crate::error::CtError;
use crate::rfc6962::SignedEntry;

/// Maximum number of certificates in one submitted chain. Real chains have three (leaf,
/// intermediate, root), and the limit bounds the signature checks one request can cause.
pub const MAX_CHAIN_CERTIFICATES: usize = 10;

/// Precertificate poison extension (RFC 6962 §3.1).
const OID_CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// Extended key usage of a Precertificate Signing Certificate (RFC 6962 §3.1).
const OID_CT_PRECERT_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.4");
/// id-kp-codeSigning (RFC 5280 §4.2.1.12), the only usage Sigstore's CT log accepts.
const OID_CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");

/// Signature algorithms (RFC 5758 §3.2, RFC 8017 Appendix A.2.4).
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// Public key algorithms and curves (RFC 5480 §2.1.1, RFC 8017 Appendix A.1).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// DER of ASN.1 NULL, the only valid poison extension value (RFC 6962 §3.1).
const DER_NULL: [u8; 2] = [0x05, 0x00];

/// The endpoint that received the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// add-chain: the first certificate is a final certificate.
    Certificate,
    /// add-pre-chain: the first certificate is a precertificate.
    Precertificate,
}

/// The roots that accepted chains must lead to: self-signed certificates, kept with their DER.
#[derive(Debug, Clone)]
pub struct TrustedRoots {
    roots: Vec<(Certificate, Vec<u8>)>,
}

impl TrustedRoots {
    /// Accepts a non-empty list of self-signed certificates; repeats are dropped.
    pub fn new(certificates: Vec<Certificate>) -> Result<Self, String> {
        let mut roots: Vec<(Certificate, Vec<u8>)> = Vec::new();
        for certificate in certificates {
            let der = certificate
                .to_der()
                .map_err(|error| format!("failed to encode a root certificate: {error}"))?;
            if !is_self_signed(&certificate) {
                return Err(format!(
                    "root certificate {} is not self-signed",
                    certificate.tbs_certificate.subject
                ));
            }
            if !roots.iter().any(|(_, known)| *known == der) {
                roots.push((certificate, der));
            }
        }
        if roots.is_empty() {
            return Err("no root certificate is configured".to_owned());
        }
        Ok(Self { roots })
    }

    /// Returns the DER of each root, in configuration order.
    pub fn ders(&self) -> impl Iterator<Item = &[u8]> {
        self.roots.iter().map(|(_, der)| der.as_slice())
    }

    fn contains(&self, der: &[u8]) -> bool {
        self.ders().any(|root| root == der)
    }

    /// Finds the configured root that issued `certificate`.
    fn issuer_of(
        &self,
        certificate: &Certificate,
        tbs_der: &[u8],
    ) -> Option<(&Certificate, &[u8])> {
        self.roots
            .iter()
            .find(|(root, _)| {
                certificate.tbs_certificate.issuer == root.tbs_certificate.subject
                    && verify_signature(certificate, tbs_der, root).is_ok()
            })
            .map(|(root, der)| (root, der.as_slice()))
    }
}

/// Checks that `certificate` names itself as issuer and that its own key verifies its signature.
pub fn is_self_signed(certificate: &Certificate) -> bool {
    if certificate.tbs_certificate.issuer != certificate.tbs_certificate.subject {
        return false;
    }
    match certificate.tbs_certificate.to_der() {
        Ok(tbs_der) => verify_signature(certificate, &tbs_der, certificate).is_ok(),
        Err(_) => false,
    }
}

/// A chain that leads to a configured root, and the entry the log signs for it.
#[derive(Debug, Clone)]
pub struct ValidatedChain {
    pub entry: SignedEntry,
    /// DER of the submitted certificate or precertificate.
    pub leaf: Vec<u8>,
    /// DER of the certificates after the leaf, ending with the configured root even when the
    /// submitter left it off.
    pub issuers: Vec<Vec<u8>>,
}

/// Decodes and validates a base64 DER chain, leaf first, for `submission`.
pub fn validate_chain(
    chain: &[String],
    submission: Submission,
    roots: &TrustedRoots,
) -> Result<ValidatedChain, CtError> {
    if chain.is_empty() {
        return Err(CtError::invalid_chain(
            "chain is empty; submit the leaf certificate and its issuers",
        ));
    }
    if chain.len() > MAX_CHAIN_CERTIFICATES {
        return Err(CtError::invalid_chain(format!(
            "chain has {} certificates, more than the maximum of {MAX_CHAIN_CERTIFICATES}",
            chain.len()
        )));
    }

    // Decode every certificate. Each must be DER, because the TBSCertificate the log signs is
    // re-encoded from the parsed structure and must equal the submitted bytes.
    let mut certificates = Vec::with_capacity(chain.len());
    let mut ders = Vec::with_capacity(chain.len());
    let mut tbs_ders = Vec::with_capacity(chain.len());
    for (index, encoded) in chain.iter().enumerate() {
        let der = STANDARD.decode(encoded).map_err(|error| {
            CtError::malformed(format!("chain[{index}] is not valid base64: {error}"))
        })?;
        let certificate = Certificate::from_der(&der).map_err(|error| {
            CtError::invalid_chain(format!(
                "chain[{index}] is not a DER X.509 certificate: {error}"
            ))
        })?;
        let reencoded = certificate.to_der().map_err(|error| {
            CtError::invalid_chain(format!("chain[{index}] cannot be re-encoded: {error}"))
        })?;
        if reencoded != der {
            return Err(CtError::invalid_chain(format!(
                "chain[{index}] is not DER-encoded (BER or trailing data)"
            )));
        }
        let tbs_der = certificate.tbs_certificate.to_der().map_err(|error| {
            CtError::invalid_chain(format!(
                "chain[{index}] TBSCertificate cannot be encoded: {error}"
            ))
        })?;
        reject_repeated_extensions(&certificate, index)?;
        certificates.push(certificate);
        ders.push(der);
        tbs_ders.push(tbs_der);
    }
    let leaf = &certificates[0];

    // RFC 6962 §3.1: "The Precertificate is constructed from the certificate to be issued by
    // adding a special critical poison extension (OID 1.3.6.1.4.1.11129.2.4.3, whose
    // extnValue OCTET STRING contains ASN.1 NULL data (0x05 0x00))". add-chain takes only
    // final certificates, add-pre-chain only precertificates.
    let poison = find_extension(leaf, OID_CT_POISON);
    match (submission, poison) {
        (Submission::Certificate, Some(_)) => {
            return Err(CtError::invalid_chain(
                "chain[0] carries the precertificate poison extension; submit precertificates to add-pre-chain",
            ));
        }
        (Submission::Precertificate, None) => {
            return Err(CtError::invalid_chain(
                "chain[0] lacks the precertificate poison extension 1.3.6.1.4.1.11129.2.4.3; submit final certificates to add-chain",
            ));
        }
        (Submission::Precertificate, Some(extension)) => {
            if !extension.critical {
                return Err(CtError::invalid_chain(
                    "chain[0] precertificate poison extension is not critical",
                ));
            }
            if extension.extn_value.as_bytes() != DER_NULL {
                return Err(CtError::invalid_chain(
                    "chain[0] precertificate poison extension value is not ASN.1 NULL",
                ));
            }
        }
        (Submission::Certificate, None) => {}
    }

    // Sigstore's CT log accepts only code-signing certificates (ctfe `ext_key_usages:
    // CodeSigning`), checked on the leaf alone as ctfe does.
    let usages = extended_key_usages(leaf, 0)?;
    if !usages.contains(&OID_CODE_SIGNING) {
        return Err(CtError::invalid_chain(
            "chain[0] lacks the codeSigning extended key usage (1.3.6.1.5.5.7.3.3)",
        ));
    }

    // Each certificate must be issued by the next: names match, the issuer is a CA, and the
    // issuer's key verifies the signature.
    for index in 0..certificates.len() - 1 {
        check_issued_by(
            &certificates[index],
            &tbs_ders[index],
            index,
            &certificates[index + 1],
            index + 1,
        )?;
    }

    // The chain must end at a configured root or at a certificate that a configured root
    // issued. In the second case the root is appended, because ctfe stores the verified path.
    let last = certificates.len() - 1;
    let mut issuers: Vec<Vec<u8>> = ders[1..].to_vec();
    let mut path: Vec<&Certificate> = certificates.iter().collect();
    if !roots.contains(&ders[last]) {
        let Some((root, root_der)) = roots.issuer_of(&certificates[last], &tbs_ders[last]) else {
            return Err(CtError::invalid_chain(format!(
                "chain does not lead to a configured root: chain[{last}] (subject {}, issuer {}) is neither a configured root nor issued by one",
                certificates[last].tbs_certificate.subject,
                certificates[last].tbs_certificate.issuer
            )));
        };
        check_is_ca(root, "configured root")?;
        issuers.push(root_der.to_vec());
        path.push(root);
    }
    check_path_lengths(&path)?;

    // Build the signed entry.
    let entry = match submission {
        Submission::Certificate => SignedEntry::X509 {
            certificate: ders[0].clone(),
        },
        Submission::Precertificate => {
            let issuer = path.get(1).ok_or_else(|| {
                CtError::invalid_chain(
                    "precertificate has no issuer: submit its issuing CA certificate after it",
                )
            })?;
            if extended_key_usages(issuer, 1)?.contains(&OID_CT_PRECERT_SIGNING) {
                return Err(CtError::invalid_chain(
                    "chain[1] is a Precertificate Signing Certificate, which this log does not support; sign precertificates with the issuing CA key",
                ));
            }
            // RFC 6962 §3.2: "issuer_key_hash is the SHA-256 hash of the certificate issuer's
            // public key, calculated over the DER encoding of the key represented as
            // SubjectPublicKeyInfo."
            let issuer_spki = issuer
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|error| {
                    CtError::invalid_chain(format!(
                        "chain[1] public key cannot be encoded: {error}"
                    ))
                })?;
            let issuer_key_hash: [u8; 32] = Sha256::digest(&issuer_spki).into();
            // RFC 6962 §3.2: "tbs_certificate is the DER-encoded TBSCertificate component of
            // the Precertificate -- that is, without the signature and the poison extension."
            let tbs_certificate = tbs_without_poison(leaf)?;
            SignedEntry::Precert {
                issuer_key_hash,
                tbs_certificate,
            }
        }
    };
    let leaf_der = ders.swap_remove(0);
    Ok(ValidatedChain {
        entry,
        leaf: leaf_der,
        issuers,
    })
}

/// Encodes the TBSCertificate of `precertificate` with the poison extension removed and every
/// other extension kept in order. An extension list left empty is omitted, as Go's
/// `encoding/asn1` omits it.
fn tbs_without_poison(precertificate: &Certificate) -> Result<Vec<u8>, CtError> {
    let mut tbs = precertificate.tbs_certificate.clone();
    if let Some(extensions) = tbs.extensions.as_mut() {
        extensions.retain(|extension| extension.extn_id != OID_CT_POISON);
        if extensions.is_empty() {
            tbs.extensions = None;
        }
    }
    tbs.to_der().map_err(|error| {
        CtError::invalid_chain(format!(
            "chain[0] TBSCertificate cannot be encoded: {error}"
        ))
    })
}

fn find_extension(certificate: &Certificate, oid: ObjectIdentifier) -> Option<&Extension> {
    certificate
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|extension| extension.extn_id == oid)
}

/// RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a particular
/// extension." A repeated poison would otherwise survive its removal.
fn reject_repeated_extensions(certificate: &Certificate, index: usize) -> Result<(), CtError> {
    let Some(extensions) = certificate.tbs_certificate.extensions.as_ref() else {
        return Ok(());
    };
    for (position, extension) in extensions.iter().enumerate() {
        if extensions[..position]
            .iter()
            .any(|earlier| earlier.extn_id == extension.extn_id)
        {
            return Err(CtError::invalid_chain(format!(
                "chain[{index}] repeats extension {}",
                extension.extn_id
            )));
        }
    }
    Ok(())
}

fn extended_key_usages(
    certificate: &Certificate,
    index: usize,
) -> Result<Vec<ObjectIdentifier>, CtError> {
    match find_extension(certificate, OID_EXTENDED_KEY_USAGE) {
        None => Ok(Vec::new()),
        Some(extension) => ExtendedKeyUsage::from_der(extension.extn_value.as_bytes())
            .map(|usage| usage.0)
            .map_err(|error| {
                CtError::invalid_chain(format!(
                    "chain[{index}] extended key usage is malformed: {error}"
                ))
            }),
    }
}

fn basic_constraints(certificate: &Certificate) -> Result<Option<BasicConstraints>, String> {
    find_extension(certificate, OID_BASIC_CONSTRAINTS)
        .map(|extension| BasicConstraints::from_der(extension.extn_value.as_bytes()))
        .transpose()
        .map_err(|error| format!("basic constraints are malformed: {error}"))
}

fn check_is_ca(certificate: &Certificate, name: &str) -> Result<(), CtError> {
    let constraints = basic_constraints(certificate)
        .map_err(|error| CtError::invalid_chain(format!("{name}: {error}")))?;
    if constraints.is_some_and(|constraints| constraints.ca) {
        Ok(())
    } else {
        Err(CtError::invalid_chain(format!(
            "{name} (subject {}) is not a CA certificate (basic constraints cA is not set)",
            certificate.tbs_certificate.subject
        )))
    }
}

fn check_issued_by(
    child: &Certificate,
    child_tbs_der: &[u8],
    child_index: usize,
    issuer: &Certificate,
    issuer_index: usize,
) -> Result<(), CtError> {
    if child.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(CtError::invalid_chain(format!(
            "chain[{child_index}] issuer {} does not match chain[{issuer_index}] subject {}; order the chain leaf first, each certificate followed by its issuer",
            child.tbs_certificate.issuer, issuer.tbs_certificate.subject
        )));
    }
    check_is_ca(issuer, &format!("chain[{issuer_index}]"))?;
    verify_signature(child, child_tbs_der, issuer).map_err(|reason| {
        CtError::invalid_chain(format!(
            "chain[{child_index}] signature does not verify with the key of chain[{issuer_index}]: {reason}"
        ))
    })
}

/// RFC 5280 §4.2.1.9: pathLenConstraint "gives the maximum number of non-self-issued
/// intermediate certificates that may follow this certificate in a valid certification path".
/// `path` runs leaf first, root last.
fn check_path_lengths(path: &[&Certificate]) -> Result<(), CtError> {
    for (position, certificate) in path.iter().enumerate().skip(1) {
        let constraints = basic_constraints(certificate)
            .map_err(|error| CtError::invalid_chain(format!("chain[{position}]: {error}")))?;
        let Some(max_path_length) =
            constraints.and_then(|constraints| constraints.path_len_constraint)
        else {
            continue;
        };
        let intermediates_below = path[1..position]
            .iter()
            .filter(|intermediate| {
                intermediate.tbs_certificate.issuer != intermediate.tbs_certificate.subject
            })
            .count();
        if intermediates_below > usize::from(max_path_length) {
            return Err(CtError::invalid_chain(format!(
                "chain[{position}] allows {max_path_length} intermediate certificates below it, the chain has {intermediates_below}"
            )));
        }
    }
    Ok(())
}

/// Verifies `child`'s signature over `child_tbs_der` with `issuer`'s public key. Supports
/// ECDSA P-256 and P-384 with SHA-256 or SHA-384, and RSA PKCS#1 v1.5 with SHA-256, SHA-384 or
/// SHA-512.
fn verify_signature(
    child: &Certificate,
    child_tbs_der: &[u8],
    issuer: &Certificate,
) -> Result<(), String> {
    let signature = child
        .signature
        .as_bytes()
        .ok_or_else(|| "signature BIT STRING has unused bits".to_owned())?;
    let algorithm = child.signature_algorithm.oid;
    let key_info = &issuer.tbs_certificate.subject_public_key_info;
    let key = key_info
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| "issuer public key BIT STRING has unused bits".to_owned())?;

    match algorithm {
        OID_ECDSA_SHA256 | OID_ECDSA_SHA384 => {
            if key_info.algorithm.oid != OID_EC_PUBLIC_KEY {
                return Err(format!(
                    "issuer key algorithm {} is not EC",
                    key_info.algorithm.oid
                ));
            }
            let digest = if algorithm == OID_ECDSA_SHA256 {
                Sha256::digest(child_tbs_der).to_vec()
            } else {
                Sha384::digest(child_tbs_der).to_vec()
            };
            let curve = key_info
                .algorithm
                .parameters
                .as_ref()
                .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| "issuer EC key names no named curve".to_owned())?;
            match curve {
                OID_P256 => verify_p256(key, &digest, signature),
                OID_P384 => verify_p384(key, &digest, signature),
                other => Err(format!("issuer EC curve {other} is not P-256 or P-384")),
            }
        }
        OID_RSA_SHA256 | OID_RSA_SHA384 | OID_RSA_SHA512 => {
            use rsa::pkcs1::DecodeRsaPublicKey as _;
            if key_info.algorithm.oid != OID_RSA_ENCRYPTION {
                return Err(format!(
                    "issuer key algorithm {} is not RSA",
                    key_info.algorithm.oid
                ));
            }
            let public_key = rsa::RsaPublicKey::from_pkcs1_der(key)
                .map_err(|error| format!("issuer RSA key is malformed: {error}"))?;
            let (scheme, digest) = match algorithm {
                OID_RSA_SHA256 => (
                    rsa::Pkcs1v15Sign::new::<Sha256>(),
                    Sha256::digest(child_tbs_der).to_vec(),
                ),
                OID_RSA_SHA384 => (
                    rsa::Pkcs1v15Sign::new::<Sha384>(),
                    Sha384::digest(child_tbs_der).to_vec(),
                ),
                _ => (
                    rsa::Pkcs1v15Sign::new::<Sha512>(),
                    Sha512::digest(child_tbs_der).to_vec(),
                ),
            };
            public_key
                .verify(scheme, &digest, signature)
                .map_err(|_| "RSA signature is invalid".to_owned())
        }
        other => Err(format!("signature algorithm {other} is not supported")),
    }
}

fn verify_p256(sec1_key: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), String> {
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1_key)
        .map_err(|_| "issuer P-256 public key is invalid".to_owned())?;
    let signature = p256::ecdsa::Signature::from_der(signature)
        .map_err(|_| "ECDSA signature is not DER".to_owned())?;
    key.verify_prehash(digest, &signature)
        .map_err(|_| "ECDSA signature is invalid".to_owned())
}

fn verify_p384(sec1_key: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), String> {
    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(sec1_key)
        .map_err(|_| "issuer P-384 public key is invalid".to_owned())?;
    let signature = p384::ecdsa::Signature::from_der(signature)
        .map_err(|_| "ECDSA signature is not DER".to_owned())?;
    key.verify_prehash(digest, &signature)
        .map_err(|_| "ECDSA signature is invalid".to_owned())
}
