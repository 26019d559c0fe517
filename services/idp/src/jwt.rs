//! Signing ID tokens as JWS compact serializations with ES256 (RFC 7515, RFC 7518 §3.4).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sigstack_keys::LogSigner;

/// Claims of an issued ID token (OpenID Connect Core 1.0 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    pub email: String,
    pub email_verified: bool,
}

/// Signs ID tokens with the provider's P-256 key and publishes its JWK.
#[derive(Debug, Clone)]
pub struct TokenSigner {
    signer: LogSigner,
    key_id: String,
}

impl TokenSigner {
    pub fn new(signer: LogSigner) -> Self {
        // The key ID is derived from the public key, so it changes only if the key does.
        let key_id = URL_SAFE_NO_PAD.encode(&Sha256::digest(signer.spki_der())[..12]);
        Self { signer, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Signs `claims` and returns the compact JWS `header.payload.signature`.
    pub fn sign(&self, claims: &IdTokenClaims) -> Result<String, String> {
        let header = serde_json::json!({ "alg": "ES256", "typ": "JWT", "kid": self.key_id });
        let header =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(|e| e.to_string())?);
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(|e| e.to_string())?);
        let signing_input = format!("{header}.{payload}");
        let der = self.signer.sign(signing_input.as_bytes());
        // JWS ES256 signatures are R || S, 32 bytes each (RFC 7518 §3.4), not ASN.1 DER.
        let signature = p256::ecdsa::Signature::from_der(&der).map_err(|e| e.to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }

    /// Encodes the public key as a JWK (RFC 7517, RFC 7518 §6.2).
    pub fn jwk(&self) -> serde_json::Value {
        let point = self.signer.verifying_key().to_encoded_point(false);
        let x = point
            .x()
            .map(|x| URL_SAFE_NO_PAD.encode(x))
            .unwrap_or_default();
        let y = point
            .y()
            .map(|y| URL_SAFE_NO_PAD.encode(y))
            .unwrap_or_default();
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": x,
            "y": y,
            "kid": self.key_id,
            "alg": "ES256",
            "use": "sig",
        })
    }
}
