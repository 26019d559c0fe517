//! `intoto` 0.0.2: a DSSE envelope with its payload and signatures base64-encoded once more and
//! a public key per signature. The canonical body drops the payload and keeps the signatures as
//! sent.

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{CanonicalEntry, decode_base64, in_toto_subject_keys, pae, required, to_jcs};
use crate::error::ApiError;
use crate::pki::{HashAlgorithm, Verifier};

/// Most signatures accepted in one envelope, bounding verification work per request.
const MAX_SIGNATURES: usize = 16;

#[derive(Debug, Deserialize)]
pub(super) struct Spec {
    content: Option<Content>,
}

#[derive(Debug, Deserialize)]
struct Content {
    envelope: Option<Envelope>,
    hash: Option<HashValue>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "payloadType")]
    payload_type: Option<String>,
    payload: Option<String>,
    signatures: Option<Vec<Signature>>,
}

#[derive(Debug, Deserialize)]
struct Signature {
    keyid: Option<String>,
    sig: Option<String>,
    #[serde(rename = "publicKey")]
    public_key: Option<String>,
}

#[derive(Debug, Deserialize)]
struct HashValue {
    algorithm: Option<String>,
    value: Option<String>,
}

pub(super) fn canonicalize(spec: Spec) -> Result<CanonicalEntry, ApiError> {
    let content = required(&spec.content, "spec.content")?;
    let envelope = required(&content.envelope, "spec.content.envelope")?;
    let payload_type = required(&envelope.payload_type, "spec.content.envelope.payloadType")?;
    let payload_outer = required(&envelope.payload, "spec.content.envelope.payload")?;
    let signatures = required(&envelope.signatures, "spec.content.envelope.signatures")?;
    let hash = required(&content.hash, "spec.content.hash")?;
    let hash_algorithm = required(&hash.algorithm, "spec.content.hash.algorithm")?;
    let hash_value = required(&hash.value, "spec.content.hash.value")?;
    let hash_algorithm = HashAlgorithm::parse(hash_algorithm)
        .filter(|algorithm| *algorithm == HashAlgorithm::Sha256)
        .ok_or_else(|| ApiError::invalid_entry("spec.content.hash.algorithm must be sha256"))?;
    if hash_value.len() != 64 || hex::decode(hash_value).is_err() {
        return Err(ApiError::invalid_entry(
            "spec.content.hash.value must be 64 hexadecimal characters",
        ));
    }
    if signatures.is_empty() || signatures.len() > MAX_SIGNATURES {
        return Err(ApiError::invalid_entry(format!(
            "spec.content.envelope.signatures must hold 1 to {MAX_SIGNATURES} signatures"
        )));
    }

    // The payload and signatures are base64 of the base64 text found in the DSSE envelope.
    let payload_inner = decode_base64(payload_outer, "spec.content.envelope.payload")?;
    let payload_inner = String::from_utf8(payload_inner).map_err(|_| {
        ApiError::invalid_entry("spec.content.envelope.payload does not wrap base64 text")
    })?;
    let payload = decode_base64(&payload_inner, "the envelope payload")?;
    let message = pae(payload_type, &payload);

    let mut canonical_signatures = Vec::with_capacity(signatures.len());
    let mut search_keys = Vec::new();
    for (position, signature) in signatures.iter().enumerate() {
        let field = format!("spec.content.envelope.signatures[{position}]");
        let sig_outer = required(&signature.sig, &format!("{field}.sig"))?;
        let key_text = required(&signature.public_key, &format!("{field}.publicKey"))?;
        let sig_inner = decode_base64(sig_outer, &format!("{field}.sig"))?;
        let sig_inner = String::from_utf8(sig_inner).map_err(|_| {
            ApiError::invalid_entry(format!("{field}.sig does not wrap base64 text"))
        })?;
        let sig_bytes = decode_base64(&sig_inner, &format!("{field}.sig"))?;
        let verifier = Verifier::from_base64_pem(key_text, &format!("{field}.publicKey"))?;
        verifier.verify_message(&message, &sig_bytes).map_err(|_| {
            ApiError::invalid_entry(format!("{field} does not verify with its publicKey"))
        })?;
        search_keys.push(verifier.fingerprint());
        search_keys.extend(verifier.san_search_keys());

        // Signatures are kept exactly as sent; an empty keyid is omitted.
        let mut canonical = json!({ "sig": sig_outer, "publicKey": key_text });
        if let Some(keyid) = signature.keyid.as_deref().filter(|keyid| !keyid.is_empty()) {
            canonical["keyid"] = json!(keyid);
        }
        canonical_signatures.push(canonical);
    }

    let payload_hash = hex::encode(Sha256::digest(&payload));
    let canonical = json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {
            "content": {
                "envelope": { "payloadType": payload_type, "signatures": canonical_signatures },
                "hash": { "algorithm": hash_algorithm.name(), "value": hash_value },
                "payloadHash": { "algorithm": "sha256", "value": payload_hash },
            },
        },
    });
    search_keys.push(format!("sha256:{payload_hash}"));
    search_keys.push(format!("sha256:{}", hash_value.to_lowercase()));
    if payload_type == "application/vnd.in-toto+json" {
        search_keys.extend(in_toto_subject_keys(&payload));
    }
    search_keys.sort();
    search_keys.dedup();
    Ok(CanonicalEntry {
        body: to_jcs(&canonical)?,
        search_keys,
    })
}
