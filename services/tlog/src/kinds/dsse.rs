//! `dsse` 0.0.1: a DSSE envelope whose signatures are all verified by the given verifiers. The
//! log stores hashes of the envelope and payload, not the envelope.

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{CanonicalEntry, decode_base64, in_toto_subject_keys, pae, required, to_jcs};
use crate::error::ApiError;
use crate::pki::Verifier;

/// Most verifiers and envelope signatures accepted, bounding verification work per request.
const MAX_VERIFIERS: usize = 16;
const MAX_SIGNATURES: usize = 16;

/// The request form. sigstore-python also sends the read-side fields as explicit `null`s, which
/// deserialize to `None` and are accepted; non-null read-side fields are rejected.
#[derive(Debug, Deserialize)]
pub(super) struct Spec {
    #[serde(rename = "proposedContent")]
    proposed_content: Option<ProposedContent>,
    signatures: Option<serde_json::Value>,
    #[serde(rename = "envelopeHash")]
    envelope_hash: Option<serde_json::Value>,
    #[serde(rename = "payloadHash")]
    payload_hash: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct ProposedContent {
    envelope: Option<String>,
    verifiers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    payload: Option<String>,
    #[serde(rename = "payloadType")]
    payload_type: Option<String>,
    signatures: Option<Vec<EnvelopeSignature>>,
}

#[derive(Debug, Deserialize)]
struct EnvelopeSignature {
    sig: Option<String>,
}

pub(super) fn canonicalize(spec: Spec) -> Result<CanonicalEntry, ApiError> {
    if spec.signatures.is_some() || spec.envelope_hash.is_some() || spec.payload_hash.is_some() {
        return Err(ApiError::invalid_entry(
            "spec must contain only proposedContent when submitting a dsse entry",
        ));
    }
    let proposed = required(&spec.proposed_content, "spec.proposedContent")?;
    let envelope_text = required(&proposed.envelope, "spec.proposedContent.envelope")?;
    let verifier_texts = required(&proposed.verifiers, "spec.proposedContent.verifiers")?;
    if verifier_texts.is_empty() || verifier_texts.len() > MAX_VERIFIERS {
        return Err(ApiError::invalid_entry(format!(
            "spec.proposedContent.verifiers must list 1 to {MAX_VERIFIERS} keys or certificates"
        )));
    }
    let envelope: Envelope = serde_json::from_str(envelope_text).map_err(|e| {
        ApiError::invalid_entry(format!(
            "spec.proposedContent.envelope is not a DSSE envelope: {e}"
        ))
    })?;
    let payload_b64 = required(&envelope.payload, "envelope.payload")?;
    let payload_type = required(&envelope.payload_type, "envelope.payloadType")?;
    let signatures = required(&envelope.signatures, "envelope.signatures")?;
    if signatures.is_empty() || signatures.len() > MAX_SIGNATURES {
        return Err(ApiError::invalid_entry(format!(
            "envelope.signatures must hold 1 to {MAX_SIGNATURES} signatures"
        )));
    }
    let payload = decode_base64(payload_b64, "envelope.payload")?;
    let verifiers = verifier_texts
        .iter()
        .map(|text| Verifier::from_base64_pem(text, "spec.proposedContent.verifiers[]"))
        .collect::<Result<Vec<_>, _>>()?;

    // Every envelope signature must be verified by one of the verifiers.
    let message = pae(payload_type, &payload);
    let mut verified = Vec::with_capacity(signatures.len());
    for (position, signature) in signatures.iter().enumerate() {
        let sig_text = signature
            .sig
            .as_deref()
            .filter(|sig| !sig.is_empty())
            .ok_or_else(|| {
                ApiError::invalid_entry(format!("envelope.signatures[{position}].sig is missing"))
            })?;
        let sig_bytes = decode_base64(sig_text, "envelope signature")?;
        let verifier = verifiers
            .iter()
            .find(|verifier| verifier.verify_message(&message, &sig_bytes).is_ok())
            .ok_or_else(|| {
                ApiError::invalid_entry(format!(
                    "envelope.signatures[{position}] is not verified by any of the given verifiers"
                ))
            })?;
        verified.push((sig_text.to_owned(), verifier));
    }
    verified.sort_by(|a, b| a.0.cmp(&b.0));

    let envelope_hash = hex::encode(Sha256::digest(envelope_text.as_bytes()));
    let payload_hash = hex::encode(Sha256::digest(&payload));
    let canonical = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": { "algorithm": "sha256", "value": envelope_hash },
            "payloadHash": { "algorithm": "sha256", "value": payload_hash },
            "signatures": verified.iter().map(|(signature, verifier)| json!({
                "signature": signature,
                "verifier": verifier.canonical_base64(),
            })).collect::<Vec<_>>(),
        },
    });

    // Upstream prefixes DSSE key fingerprints with "sha256:", unlike hashedrekord's.
    let mut search_keys = vec![
        format!("sha256:{payload_hash}"),
        format!("sha256:{envelope_hash}"),
    ];
    for (_, verifier) in &verified {
        search_keys.push(format!("sha256:{}", verifier.fingerprint()));
        search_keys.extend(verifier.san_search_keys());
    }
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
