use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
use sha2::{Digest, Sha256};

/// An ECDSA P-256 signing key for a transparency or CT log. Clients accept only ECDSA P-256
/// with SHA-256 for Rekor v1 signed entry timestamps and for RFC 6962 SCTs.
#[derive(Clone)]
pub struct LogSigner {
    key: SigningKey,
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
    bytes.iter().take(8).map(|byte| format!("{byte:02x}")).collect()
}

impl LogSigner {
    pub fn new(key: SigningKey) -> Result<Self, String> {
        let spki_der = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|error| error.to_string())?
            .into_vec();
        let key_id = Sha256::digest(&spki_der).into();
        Ok(Self { key, spki_der, key_id })
    }

    /// Decodes a DER PKCS#8 `PrivateKeyInfo` that holds a P-256 key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        let key = SigningKey::from_pkcs8_der(der)
            .map_err(|error| format!("not an ECDSA P-256 PKCS#8 key: {error}"))?;
        Self::new(key)
    }

    /// Signs `message` with ECDSA over SHA-256 and returns the ASN.1 DER signature.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: DerSignature = self.key.sign(message);
        signature.as_bytes().to_vec()
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.verifying_key()
    }

    /// The DER SubjectPublicKeyInfo of the public key.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: the Rekor log ID and the RFC 6962 log ID.
    pub fn key_id(&self) -> [u8; 32] {
        self.key_id
    }

    /// The public key as a `PUBLIC KEY` PEM block with LF line endings.
    pub fn public_key_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap_or_default()
    }
}
