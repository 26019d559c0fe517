use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use sha2::{Digest, Sha256};

/// An ECDSA P-256 signing key for a transparency or CT log. Clients accept only ECDSA P-256
/// with SHA-256 for Rekor v1 signed entry timestamps and for RFC 6962 SCTs.
///
/// A log signs at least once per entry, so signing runs on aws-lc-rs, several times faster than
/// the RustCrypto curve. The RustCrypto key provides the public-key encodings.
/// Signatures are randomized (not RFC 6979), so signing one message twice gives two valid,
/// different signatures.
#[derive(Clone)]
pub struct LogSigner {
    key: SigningKey,
    key_pair: std::sync::Arc<EcdsaKeyPair>,
    random: SystemRandom,
    spki_der: Vec<u8>,
    key_id: [u8; 32],
}

impl std::fmt::Debug for LogSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LogSigner")
            .field("key_id", &hex_prefix(&self.key_id))
            .finish_non_exhaustive()
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl LogSigner {
    pub fn new(key: SigningKey) -> Result<Self, String> {
        let pkcs8 = key.to_pkcs8_der().map_err(|error| error.to_string())?;
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_bytes())
            .map_err(|error| format!("aws-lc-rs rejected the P-256 key: {error}"))?;
        let spki_der = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|error| error.to_string())?
            .into_vec();
        let key_id = Sha256::digest(&spki_der).into();
        Ok(Self {
            key,
            key_pair: std::sync::Arc::new(key_pair),
            random: SystemRandom::new(),
            spki_der,
            key_id,
        })
    }

    /// Decodes a DER PKCS#8 `PrivateKeyInfo` that contains a P-256 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        let key = SigningKey::from_pkcs8_der(der)
            .map_err(|error| format!("not an ECDSA P-256 PKCS#8 key: {error}"))?;
        Self::new(key)
    }

    /// Signs `message` with ECDSA over SHA-256 and returns the ASN.1 DER signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self.key_pair.sign(&self.random, message) {
            Ok(signature) => signature.as_ref().to_vec(),
            Err(_) => {
                // aws-lc-rs fails only when the system random source fails; fall back to the
                // deterministic RustCrypto signer rather than return no signature.
                tracing::error!("aws-lc-rs ECDSA signing failed; signing with RustCrypto instead");
                let signature: p256::ecdsa::DerSignature =
                    p256::ecdsa::signature::Signer::sign(&self.key, message);
                signature.as_bytes().to_vec()
            }
        }
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.verifying_key()
    }

    /// Returns the DER SubjectPublicKeyInfo of the public key.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: the Rekor log ID and the RFC 6962 log ID.
    pub fn key_id(&self) -> [u8; 32] {
        self.key_id
    }

    /// Encodes the public key as a `PUBLIC KEY` PEM block with LF line endings.
    pub fn public_key_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::Verifier as _;

    use super::*;

    #[test]
    fn signatures_verify_with_the_public_key() {
        let signer =
            LogSigner::new(SigningKey::from_slice(&[3u8; 32]).expect("scalar")).expect("signer");
        let signature = signer.sign(b"checkpoint body");
        let signature = p256::ecdsa::DerSignature::from_bytes(&signature).expect("DER signature");
        signer
            .verifying_key()
            .verify(b"checkpoint body", &signature)
            .expect("verifies");
        assert!(
            signer
                .verifying_key()
                .verify(b"other body", &signature)
                .is_err()
        );
    }
}
