//! `hashedrekord` 0.0.1: a signature over an artifact digest, verified with the digest alone.

use serde::Deserialize;
use serde_json::json;

use super::{CanonicalEntry, decode_base64, required, to_jcs};
use crate::error::ApiError;
use crate::pki::{HashAlgorithm, KeyType, Verifier};

#[derive(Debug, Deserialize)]
pub(super) struct Spec {
    data: Option<Data>,
    signature: Option<Signature>,
}

#[derive(Debug, Deserialize)]
struct Data {
    hash: Option<Hash>,
}

#[derive(Debug, Deserialize)]
struct Hash {
    algorithm: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Signature {
    content: Option<String>,
    #[serde(rename = "publicKey")]
    public_key: Option<PublicKey>,
}

#[derive(Debug, Deserialize)]
struct PublicKey {
    content: Option<String>,
}

pub(super) fn canonicalize(spec: Spec) -> Result<CanonicalEntry, ApiError> {
    let signature = required(&spec.signature, "spec.signature")?;
    let content = required(&signature.content, "spec.signature.content")?;
    let public_key = required(&signature.public_key, "spec.signature.publicKey")?;
    let key_content = required(&public_key.content, "spec.signature.publicKey.content")?;
    let data = required(&spec.data, "spec.data")?;
    let hash = required(&data.hash, "spec.data.hash")?;
    let algorithm_name = required(&hash.algorithm, "spec.data.hash.algorithm")?;
    let value = required(&hash.value, "spec.data.hash.value")?;

    let algorithm = HashAlgorithm::parse(algorithm_name).ok_or_else(|| {
        ApiError::invalid_entry(format!(
            "unsupported hash algorithm {algorithm_name:?}: use sha256, sha384 or sha512"
        ))
    })?;
    if value.len() != algorithm.digest_len() * 2 {
        return Err(ApiError::invalid_entry(format!(
            "spec.data.hash.value has {} hex characters, expected {} for {}",
            value.len(),
            algorithm.digest_len() * 2,
            algorithm.name()
        )));
    }
    let digest = hex::decode(value)
        .map_err(|_| ApiError::invalid_entry("spec.data.hash.value is not hexadecimal"))?;
    let signature_bytes = decode_base64(content, "spec.signature.content")?;
    if signature_bytes.is_empty() {
        return Err(ApiError::invalid_entry("spec.signature.content is empty"));
    }
    let verifier = Verifier::from_base64_pem(key_content, "spec.signature.publicKey.content")?;

    // Upstream's default client-signing-algorithms policy: each key type with its one hash.
    let allowed = match verifier.key_type {
        KeyType::EcdsaP256 | KeyType::Rsa => HashAlgorithm::Sha256,
        KeyType::EcdsaP384 => HashAlgorithm::Sha384,
        KeyType::EcdsaP521 | KeyType::Ed25519 => HashAlgorithm::Sha512,
    };
    if algorithm != allowed {
        return Err(ApiError::invalid_entry(format!(
            "entry algorithms are not allowed: a {:?} key must sign a {} digest, not {}",
            verifier.key_type,
            allowed.name(),
            algorithm.name()
        )));
    }
    verifier.verify_digest(algorithm, &digest, &signature_bytes).map_err(|_| {
        let hint = if verifier.key_type == KeyType::Ed25519 {
            "; hashedrekord carries only the digest, so Ed25519 keys must sign with Ed25519ph over the SHA-512 digest"
        } else {
            ""
        };
        ApiError::invalid_entry(format!("signature does not verify over the given digest with the given key{hint}"))
    })?;

    // The hash value is stored as sent (upstream keeps its case); search keys are lower case.
    let canonical = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": { "hash": { "algorithm": algorithm.name(), "value": value } },
            "signature": {
                "content": content,
                "publicKey": { "content": verifier.canonical_base64() },
            },
        },
    });
    let mut search_keys = vec![
        verifier.fingerprint(),
        format!("{}:{}", algorithm.name(), value.to_lowercase()),
    ];
    search_keys.extend(verifier.san_search_keys());
    Ok(CanonicalEntry {
        body: to_jcs(&canonical)?,
        search_keys,
    })
}
