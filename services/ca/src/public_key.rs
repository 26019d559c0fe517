//! Public keys and their signatures: the key a certificate is requested for with its proof of
//! possession (a signature over the identity's name, or the self-signature of a PKCS#10 CSR),
//! and the keys of the CA chain.

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier};
use der::{Decode, Encode, Sequence};
use pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::Verifier;
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

/// RSA modulus sizes Fulcio accepts by default (`--client-signing-algorithms`).
const ALLOWED_RSA_BITS: [usize; 3] = [2048, 3072, 4096];
/// The only RSA public exponent Fulcio's `goodkey` check accepts.
const RSA_EXPONENT: u64 = 65537;

/// A rejected key or proof of possession, with Fulcio's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRejection {
    #[error("The public key supplied in the request could not be parsed: {0}")]
    Unparseable(String),
    #[error("The public key supplied in the request is insecure: {0}")]
    Insecure(String),
    #[error("The certificate signing request could not be parsed: {0}")]
    CsrUnparseable(String),
    #[error("The signature supplied in the request could not be verified")]
    BadProofOfPossession,
    #[error("signing algorithm not permitted: {0}")]
    AlgorithmNotPermitted(String),
}

impl KeyRejection {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unparseable(_) => "public_key_unparseable",
            Self::Insecure(_) => "public_key_insecure",
            Self::CsrUnparseable(_) => "csr_unparseable",
            Self::BadProofOfPossession => "bad_proof_of_possession",
            Self::AlgorithmNotPermitted(_) => "algorithm_not_permitted",
        }
    }
}

/// A public key of a type and size Fulcio accepts.
#[derive(Clone)]
enum KeyKind {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(Box<p521::ecdsa::VerifyingKey>),
    Rsa(rsa::RsaPublicKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl std::fmt::Debug for KeyKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::P256(_) => "P256",
            Self::P384(_) => "P384",
            Self::P521(_) => "P521",
            Self::Rsa(_) => "Rsa",
            Self::Ed25519(_) => "Ed25519",
        })
    }
}

/// A public key of a type and size Fulcio accepts, with its SubjectPublicKeyInfo.
#[derive(Debug, Clone)]
pub struct PublicKey {
    kind: KeyKind,
    pub spki: SubjectPublicKeyInfoOwned,
}

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo and applies Fulcio's key policy: ECDSA on P-256, P-384
    /// or P-521, RSA with 2048, 3072 or 4096 bits and exponent 65537, or Ed25519.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyRejection> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|error| KeyRejection::Unparseable(error.to_string()))?;
        let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(|| {
            KeyRejection::Unparseable("the key BIT STRING has unused bits".to_owned())
        })?;
        let parse_error =
            |error: &dyn std::fmt::Display| KeyRejection::Unparseable(error.to_string());

        let kind = match spki.algorithm.oid {
            ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok())
                    .ok_or_else(|| {
                        KeyRejection::Unparseable("the EC key names no curve".to_owned())
                    })?;
                match curve {
                    SECP256R1 => KeyKind::P256(
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                            .map_err(|error| parse_error(&error))?,
                    ),
                    SECP384R1 => KeyKind::P384(
                        p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                            .map_err(|error| parse_error(&error))?,
                    ),
                    SECP521R1 => KeyKind::P521(Box::new(
                        p521::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                            .map_err(|error| parse_error(&error))?,
                    )),
                    other => {
                        return Err(KeyRejection::Insecure(format!(
                            "elliptic curve {other} is not allowed: use P-256, P-384 or P-521"
                        )));
                    }
                }
            }
            RSA_ENCRYPTION => {
                let key = rsa::RsaPublicKey::from_public_key_der(der)
                    .map_err(|error| parse_error(&error))?;
                let bits = key.n().bits();
                if !ALLOWED_RSA_BITS.contains(&bits) {
                    return Err(KeyRejection::Insecure(format!(
                        "RSA modulus of {bits} bits is not allowed: use 2048, 3072 or 4096 bits"
                    )));
                }
                if key.e() != &rsa::BigUint::from(RSA_EXPONENT) {
                    return Err(KeyRejection::Insecure(format!(
                        "RSA public exponent must be {RSA_EXPONENT}"
                    )));
                }
                KeyKind::Rsa(key)
            }
            ID_ED25519 => {
                let bytes: [u8; 32] = key_bytes.try_into().map_err(|_| {
                    KeyRejection::Unparseable("an Ed25519 key is 32 bytes".to_owned())
                })?;
                KeyKind::Ed25519(
                    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                        .map_err(|error| parse_error(&error))?,
                )
            }
            other => {
                return Err(KeyRejection::Unparseable(format!(
                    "unsupported key algorithm {other}"
                )));
            }
        };
        Ok(Self { kind, spki })
    }

    /// Parses the `content` of a v2 `publicKeyRequest`: a `PUBLIC KEY` PEM block, tried first,
    /// or DER carried in the string.
    pub fn from_pem_or_der(content: &[u8]) -> Result<Self, KeyRejection> {
        if let Ok(text) = std::str::from_utf8(content) {
            if let Ok((label, der)) = der::pem::decode_vec(text.trim().as_bytes()) {
                if label != "PUBLIC KEY" {
                    return Err(KeyRejection::Unparseable(format!(
                        "PEM label {label:?} is not PUBLIC KEY"
                    )));
                }
                return Self::from_spki_der(&der);
            }
        }
        Self::from_spki_der(content)
    }

    /// Returns the algorithm name used in messages and metrics.
    pub fn algorithm_name(&self) -> &'static str {
        match self.kind {
            KeyKind::P256(_) => "ECDSA P-256",
            KeyKind::P384(_) => "ECDSA P-384",
            KeyKind::P521(_) => "ECDSA P-521",
            KeyKind::Rsa(_) => "RSA",
            KeyKind::Ed25519(_) => "Ed25519",
        }
    }

    /// Verifies a proof of possession with the key's default scheme: ECDSA with SHA-256,
    /// SHA-384 or SHA-512 for P-256, P-384 or P-521 (DER signature), RSA PKCS #1 v1.5 with
    /// SHA-256, or pure Ed25519.
    pub fn verify_default(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyRejection> {
        let bad = |_| KeyRejection::BadProofOfPossession;
        match &self.kind {
            KeyKind::P256(key) => {
                let signature = p256::ecdsa::Signature::from_der(signature).map_err(bad)?;
                key.verify(message, &signature).map_err(bad)
            }
            KeyKind::P384(key) => {
                let signature = p384::ecdsa::Signature::from_der(signature).map_err(bad)?;
                key.verify(message, &signature).map_err(bad)
            }
            KeyKind::P521(key) => {
                let signature = p521::ecdsa::Signature::from_der(signature).map_err(bad)?;
                key.verify(message, &signature).map_err(bad)
            }
            KeyKind::Rsa(key) => {
                let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.clone());
                let signature = rsa::pkcs1v15::Signature::try_from(signature).map_err(bad)?;
                verifier.verify(message, &signature).map_err(bad)
            }
            KeyKind::Ed25519(key) => {
                let signature = ed25519_dalek::Signature::from_slice(signature).map_err(bad)?;
                key.verify(message, &signature).map_err(bad)
            }
        }
    }

    /// Verifies a signature made with the X.509 signature algorithm `algorithm`: ECDSA or RSA
    /// PKCS #1 v1.5 with SHA-256, SHA-384 or SHA-512, or Ed25519.
    pub fn verify_with_algorithm(
        &self,
        algorithm: &ObjectIdentifier,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let digest = match *algorithm {
            ECDSA_WITH_SHA256 | SHA256_WITH_RSA => Sha256::digest(message).to_vec(),
            ECDSA_WITH_SHA384 | SHA384_WITH_RSA => Sha384::digest(message).to_vec(),
            ECDSA_WITH_SHA512 | SHA512_WITH_RSA => Sha512::digest(message).to_vec(),
            ID_ED25519 => Vec::new(),
            other => return Err(format!("signature algorithm {other} is not supported")),
        };
        let is_ecdsa = matches!(
            *algorithm,
            ECDSA_WITH_SHA256 | ECDSA_WITH_SHA384 | ECDSA_WITH_SHA512
        );
        let mismatch = || {
            format!(
                "signature algorithm {algorithm} does not fit a {} key",
                self.algorithm_name()
            )
        };
        let failed = |error: signature::Error| format!("invalid signature: {error}");
        match &self.kind {
            KeyKind::P256(key) if is_ecdsa => {
                let signature = p256::ecdsa::Signature::from_der(signature).map_err(failed)?;
                key.verify_prehash(&digest, &signature).map_err(failed)
            }
            KeyKind::P384(key) if is_ecdsa => {
                let signature = p384::ecdsa::Signature::from_der(signature).map_err(failed)?;
                key.verify_prehash(&digest, &signature).map_err(failed)
            }
            KeyKind::P521(key) if is_ecdsa => {
                let signature = p521::ecdsa::Signature::from_der(signature).map_err(failed)?;
                key.verify_prehash(&digest, &signature).map_err(failed)
            }
            KeyKind::Rsa(key)
                if matches!(
                    *algorithm,
                    SHA256_WITH_RSA | SHA384_WITH_RSA | SHA512_WITH_RSA
                ) =>
            {
                let scheme = match *algorithm {
                    SHA256_WITH_RSA => rsa::Pkcs1v15Sign::new::<Sha256>(),
                    SHA384_WITH_RSA => rsa::Pkcs1v15Sign::new::<Sha384>(),
                    _ => rsa::Pkcs1v15Sign::new::<Sha512>(),
                };
                key.verify(scheme, &digest, signature)
                    .map_err(|error| format!("invalid signature: {error}"))
            }
            KeyKind::Ed25519(key) if *algorithm == ID_ED25519 => {
                let signature = ed25519_dalek::Signature::from_slice(signature).map_err(failed)?;
                key.verify(message, &signature).map_err(failed)
            }
            _ => Err(mismatch()),
        }
    }

    /// Checks that `algorithm` is the signature algorithm Fulcio permits for this key, so that
    /// a CSR signed with, say, ecdsa-with-SHA384 under a P-256 key is rejected.
    fn check_signature_algorithm(&self, algorithm: &ObjectIdentifier) -> Result<(), KeyRejection> {
        let expected = match self.kind {
            KeyKind::P256(_) => ECDSA_WITH_SHA256,
            KeyKind::P384(_) => ECDSA_WITH_SHA384,
            KeyKind::P521(_) => ECDSA_WITH_SHA512,
            KeyKind::Rsa(_) => SHA256_WITH_RSA,
            KeyKind::Ed25519(_) => ID_ED25519,
        };
        if *algorithm == expected {
            Ok(())
        } else {
            Err(KeyRejection::AlgorithmNotPermitted(format!(
                "{} key with signature algorithm {algorithm}",
                self.algorithm_name()
            )))
        }
    }
}

/// A PKCS#10 CertificationRequest (RFC 2986 §4.2) that keeps the DER of
/// certificationRequestInfo as received, because that is what the signature covers.
#[derive(Sequence)]
struct RawCertificationRequest<'a> {
    info: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitStringRef<'a>,
}

/// The part of certificationRequestInfo this CA reads: only the key. The subject, attributes
/// and requested extensions are ignored, as Fulcio ignores them.
#[derive(Sequence)]
struct RawCertificationRequestInfo<'a> {
    version: u8,
    subject: AnyRef<'a>,
    subject_pk_info: AnyRef<'a>,
    /// `[0] IMPLICIT SET OF Attribute`, read as any value.
    attributes: AnyRef<'a>,
}

/// PEM labels Fulcio's `cryptoutils.ParseCSR` accepts.
const CSR_LABELS: [&str; 2] = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];

/// Parses the PEM text of a CSR, checks its key against the key policy and its self-signature,
/// which is the proof of possession, and returns the key.
pub fn key_from_csr(pem: &[u8]) -> Result<PublicKey, KeyRejection> {
    let unparseable = |reason: String| KeyRejection::CsrUnparseable(reason);
    let text =
        std::str::from_utf8(pem).map_err(|_| unparseable("the CSR is not PEM text".to_owned()))?;
    let (label, der) = der::pem::decode_vec(text.trim().as_bytes())
        .map_err(|error| unparseable(format!("the CSR is not PEM: {error}")))?;
    if !CSR_LABELS.contains(&label) {
        return Err(unparseable(format!(
            "PEM label {label:?} is not CERTIFICATE REQUEST"
        )));
    }
    let request =
        RawCertificationRequest::from_der(&der).map_err(|error| unparseable(error.to_string()))?;
    let info_der = request
        .info
        .to_der()
        .map_err(|error| unparseable(error.to_string()))?;
    let info = RawCertificationRequestInfo::from_der(&info_der)
        .map_err(|error| unparseable(error.to_string()))?;
    if info.version != 0 {
        return Err(unparseable(format!(
            "CSR version {} is not 1",
            info.version + 1
        )));
    }
    let spki_der = info
        .subject_pk_info
        .to_der()
        .map_err(|error| unparseable(error.to_string()))?;

    let key = PublicKey::from_spki_der(&spki_der)?;
    let signature = request
        .signature
        .as_bytes()
        .ok_or(KeyRejection::BadProofOfPossession)?;
    key.check_signature_algorithm(&request.signature_algorithm.oid)?;
    key.verify_with_algorithm(&request.signature_algorithm.oid, &info_der, signature)
        .map_err(|_| KeyRejection::BadProofOfPossession)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey;
    use rand::rngs::OsRng;

    #[test]
    fn proof_of_possession_over_p256() {
        let key = p256::ecdsa::SigningKey::random(&mut OsRng);
        let pem = key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .expect("pem");
        let client = PublicKey::from_pem_or_der(pem.as_bytes()).expect("parse");
        let signature: p256::ecdsa::DerSignature = key.sign(b"alice@example.com");
        client
            .verify_default(b"alice@example.com", signature.as_bytes())
            .expect("valid proof");
        assert_eq!(
            client.verify_default(b"bob@example.com", signature.as_bytes()),
            Err(KeyRejection::BadProofOfPossession)
        );
        let der = key.verifying_key().to_public_key_der().expect("der");
        PublicKey::from_pem_or_der(der.as_bytes()).expect("der is accepted too");
    }

    #[test]
    fn small_rsa_key_is_insecure() {
        let key = rsa::RsaPrivateKey::new(&mut OsRng, 1024).expect("key");
        let der = rsa::RsaPublicKey::from(&key)
            .to_public_key_der()
            .expect("der");
        let error = PublicKey::from_spki_der(der.as_bytes()).expect_err("insecure");
        assert!(matches!(error, KeyRejection::Insecure(_)), "{error}");
    }

    #[test]
    fn garbage_is_unparseable() {
        let error = PublicKey::from_pem_or_der(b"not a key").expect_err("garbage");
        assert!(matches!(error, KeyRejection::Unparseable(_)), "{error}");
        let error = key_from_csr(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .expect_err("wrong label");
        assert!(matches!(error, KeyRejection::CsrUnparseable(_)), "{error}");
    }

    #[test]
    fn csr_from_rcgen() {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        let csr = params.serialize_request(&key_pair).expect("csr");
        let pem = csr.pem().expect("pem");
        let key = key_from_csr(pem.as_bytes()).expect("valid CSR");
        assert_eq!(
            key.spki.to_der().expect("der"),
            rcgen::PublicKeyData::subject_public_key_info(&key_pair)
        );

        // Flip a bit of the signature.
        let mut der = csr.der().to_vec();
        let last = der.len() - 1;
        der[last] ^= 1;
        let tampered =
            der::pem::encode_string("CERTIFICATE REQUEST", der::pem::LineEnding::LF, &der)
                .expect("pem");
        assert_eq!(
            key_from_csr(tampered.as_bytes())
                .expect_err("tampered")
                .kind(),
            "bad_proof_of_possession"
        );
    }
}
