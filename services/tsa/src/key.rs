//! The TSA signing key: ECDSA on P-256 or P-384, because sigstore-js verifies only ECDSA
//! time-stamp signatures.

use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
};
use der::asn1::ObjectIdentifier;
use p256::ecdsa::signature::Signer as _;
use pkcs8::{DecodePrivateKey, EncodePublicKey};
use sha2::{Digest, Sha256, Sha384};

use crate::asn1::{ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ID_SHA256, ID_SHA384};

/// An ECDSA signing key. The curve fixes the digest: SHA-256 for P-256 and SHA-384 for P-384,
/// used both for the messageDigest attribute and for the signature (RFC 5753 §2.1.1 pairs them).
///
/// Signing runs on aws-lc-rs, several times faster than the RustCrypto curves, whose field
/// arithmetic dominated the CPU profile under load. Its signatures are randomized, so two tokens
/// over the same inputs differ only in the signature value.
#[derive(Clone)]
pub enum TsaSigningKey {
    P256(p256::ecdsa::SigningKey, FastSigner),
    P384(p384::ecdsa::SigningKey, FastSigner),
}

/// The aws-lc-rs copy of the key that signs tokens.
#[derive(Clone)]
pub struct FastSigner {
    key_pair: Arc<EcdsaKeyPair>,
    random: SystemRandom,
}

impl std::fmt::Debug for FastSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("FastSigner")
    }
}

impl FastSigner {
    fn new(
        algorithm: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
        pkcs8: &[u8],
    ) -> Result<Self, String> {
        let key_pair = EcdsaKeyPair::from_pkcs8(algorithm, pkcs8)
            .map_err(|error| format!("aws-lc-rs rejected the TSA key: {error}"))?;
        Ok(Self {
            key_pair: Arc::new(key_pair),
            random: SystemRandom::new(),
        })
    }

    fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        self.key_pair
            .sign(&self.random, message)
            .ok()
            .map(|signature| signature.as_ref().to_vec())
    }
}

impl std::fmt::Debug for TsaSigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Self::P256(..) => "TsaSigningKey::P256",
            Self::P384(..) => "TsaSigningKey::P384",
        })
    }
}

impl TsaSigningKey {
    /// Decodes a DER PKCS#8 `PrivateKeyInfo` holding an ECDSA P-256 or P-384 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
            // Re-encode, so that aws-lc-rs reads the same PKCS#8 form whatever the file held.
            let pkcs8 = pkcs8::EncodePrivateKey::to_pkcs8_der(&key).map_err(|e| e.to_string())?;
            let fast = FastSigner::new(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_bytes())?;
            return Ok(Self::P256(key, fast));
        }
        let key = p384::ecdsa::SigningKey::from_pkcs8_der(der)
            .map_err(|_| "not an ECDSA P-256 or P-384 PKCS#8 private key".to_owned())?;
        let pkcs8 = pkcs8::EncodePrivateKey::to_pkcs8_der(&key).map_err(|e| e.to_string())?;
        let fast = FastSigner::new(&ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8.as_bytes())?;
        Ok(Self::P384(key, fast))
    }

    /// Returns the DER SubjectPublicKeyInfo of the public key.
    pub fn public_key_der(&self) -> Result<Vec<u8>, String> {
        let document = match self {
            Self::P256(key, _) => key.verifying_key().to_public_key_der(),
            Self::P384(key, _) => key.verifying_key().to_public_key_der(),
        };
        document
            .map(|document| document.into_vec())
            .map_err(|error| error.to_string())
    }

    /// Returns the algorithm of SignerInfo.digestAlgorithm and of the messageDigest attribute.
    pub fn digest_algorithm(&self) -> ObjectIdentifier {
        match self {
            Self::P256(..) => ID_SHA256,
            Self::P384(..) => ID_SHA384,
        }
    }

    /// Returns the algorithm of SignerInfo.signatureAlgorithm.
    pub fn signature_algorithm(&self) -> ObjectIdentifier {
        match self {
            Self::P256(..) => ECDSA_WITH_SHA256,
            Self::P384(..) => ECDSA_WITH_SHA384,
        }
    }

    /// Hashes `data` with [`Self::digest_algorithm`].
    pub fn digest(&self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(..) => Sha256::digest(data).to_vec(),
            Self::P384(..) => Sha384::digest(data).to_vec(),
        }
    }

    /// Signs `message` and returns the DER `ECDSA-Sig-Value`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let (Self::P256(_, fast) | Self::P384(_, fast)) = self;
        if let Some(signature) = fast.sign(message) {
            return signature;
        }
        // aws-lc-rs fails only when the system random source does; sign deterministically
        // (RFC 6979) with RustCrypto instead of returning no signature.
        tracing::error!("aws-lc-rs ECDSA signing failed; signing the token with RustCrypto");
        match self {
            Self::P256(key, _) => {
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            Self::P384(key, _) => {
                let signature: p384::ecdsa::Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
        }
    }
}
