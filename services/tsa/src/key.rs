//! The TSA signing key: ECDSA on P-256 or P-384, because sigstore-js verifies only ECDSA
//! time-stamp signatures.

use der::asn1::ObjectIdentifier;
use p256::ecdsa::signature::Signer as _;
use pkcs8::{DecodePrivateKey, EncodePublicKey};
use sha2::{Digest, Sha256, Sha384};

use crate::asn1::{ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ID_SHA256, ID_SHA384};

/// An ECDSA signing key. The curve fixes the digest: SHA-256 for P-256 and SHA-384 for P-384,
/// used both for the messageDigest attribute and for the signature (RFC 5753 §2.1.1 pairs them).
/// Signatures are deterministic (RFC 6979), so a fixed clock and serial give identical tokens.
#[derive(Clone)]
pub enum TsaSigningKey {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl std::fmt::Debug for TsaSigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::P256(_) => "TsaSigningKey::P256",
            Self::P384(_) => "TsaSigningKey::P384",
        })
    }
}

impl TsaSigningKey {
    /// Decodes a DER PKCS#8 `PrivateKeyInfo` holding an ECDSA P-256 or P-384 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            return Ok(Self::P256(key));
        }
        p384::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(Self::P384)
            .map_err(|_| "not an ECDSA P-256 or P-384 PKCS#8 private key".to_owned())
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

    /// Returns the algorithm of SignerInfo.digestAlgorithm and of the messageDigest attribute.
    pub fn digest_algorithm(&self) -> ObjectIdentifier {
        match self {
            Self::P256(_) => ID_SHA256,
            Self::P384(_) => ID_SHA384,
        }
    }

    /// Returns the algorithm of SignerInfo.signatureAlgorithm.
    pub fn signature_algorithm(&self) -> ObjectIdentifier {
        match self {
            Self::P256(_) => ECDSA_WITH_SHA256,
            Self::P384(_) => ECDSA_WITH_SHA384,
        }
    }

    /// Hashes `data` with [`Self::digest_algorithm`].
    pub fn digest(&self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(_) => Sha256::digest(data).to_vec(),
            Self::P384(_) => Sha384::digest(data).to_vec(),
        }
    }

    /// Signs `message` and returns the DER `ECDSA-Sig-Value`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            Self::P384(key) => {
                let signature: p384::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
        }
    }
}
