//! Rekor entry kinds: validation, signature verification and canonicalization of a proposed
//! entry into the bytes the log stores as a leaf.
//!
//! The canonical body is the RFC 8785 (JCS) serialization of `{apiVersion, kind, spec}` with only
//! the fields upstream Rekor keeps, so that clients recomputing the leaf hash from a bundle agree.

mod dsse;
mod hashedrekord;
mod intoto;

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Entry kinds and versions this log accepts for submission.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("hashedrekord", "0.0.1"),
    ("dsse", "0.0.1"),
    ("intoto", "0.0.2"),
];

/// A validated entry ready to append.
#[derive(Debug, Clone)]
pub struct CanonicalEntry {
    /// JCS bytes of the canonical entry: the leaf value and the `body` clients receive.
    pub body: Vec<u8>,
    /// Search index keys (artifact hashes, key fingerprints, certificate names), lower case.
    pub search_keys: Vec<String>,
}

/// Validates and canonicalizes a proposed entry (`{"kind", "apiVersion", "spec"}`).
pub fn canonicalize(proposed: &serde_json::Value) -> Result<CanonicalEntry, ApiError> {
    let object = proposed
        .as_object()
        .ok_or_else(|| ApiError::bad_request("proposed entry must be a JSON object"))?;
    let kind = object
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            ApiError::validation(crate::error::CODE_REQUIRED, "kind in body is required")
        })?;
    let api_version = object
        .get("apiVersion")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            ApiError::validation(
                crate::error::CODE_REQUIRED,
                "apiVersion in body is required",
            )
        })?;
    let spec = object.get("spec").ok_or_else(|| {
        ApiError::validation(crate::error::CODE_REQUIRED, "spec in body is required")
    })?;
    match (kind, api_version) {
        ("hashedrekord", "0.0.1") => hashedrekord::canonicalize(parse_spec(spec)?),
        ("dsse", "0.0.1") => dsse::canonicalize(parse_spec(spec)?),
        ("intoto", "0.0.2") => intoto::canonicalize(parse_spec(spec)?),
        (kind, version) if SUPPORTED.iter().any(|(supported, _)| *supported == kind) => {
            Err(ApiError::invalid_entry(format!(
                "{kind} entry version {version} is not supported by this server; supported: {}",
                supported_list()
            )))
        }
        (kind, _) => Err(ApiError::invalid_entry(format!(
            "entry kind '{kind}' is not enabled for submission on this server; supported: {}",
            supported_list()
        ))),
    }
}

fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|(kind, version)| format!("{kind} {version}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_spec<T: DeserializeOwned>(spec: &serde_json::Value) -> Result<T, ApiError> {
    T::deserialize(spec).map_err(|error| ApiError::invalid_entry(format!("invalid spec: {error}")))
}

/// Serializes a canonical entry with RFC 8785 (JCS).
fn to_jcs(value: &serde_json::Value) -> Result<Vec<u8>, ApiError> {
    serde_jcs::to_vec(value)
        .map_err(|error| ApiError::Internal(format!("JCS serialization failed: {error}")))
}

/// Returns the field or a 400 naming it.
fn required<'a, T>(value: &'a Option<T>, name: &str) -> Result<&'a T, ApiError> {
    value
        .as_ref()
        .ok_or_else(|| ApiError::invalid_entry(format!("missing required field {name}")))
}

/// Decodes standard base64, accepting the URL-safe alphabet too (some DSSE producers use it).
fn decode_base64(value: &str, name: &str) -> Result<Vec<u8>, ApiError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
    STANDARD
        .decode(value)
        .or_else(|_| URL_SAFE.decode(value))
        .or_else(|_| URL_SAFE_NO_PAD.decode(value))
        .map_err(|_| ApiError::invalid_entry(format!("{name} is not valid base64")))
}

/// DSSE pre-authentication encoding (DSSE protocol v1):
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in decimal ASCII.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut encoded = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    encoded.extend_from_slice(payload);
    encoded
}

/// Search keys for the digests of an in-toto statement's subjects, as `<alg>:<digest>`.
fn in_toto_subject_keys(payload: &[u8]) -> Vec<String> {
    let Ok(statement) = serde_json::from_slice::<serde_json::Value>(payload) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    let subjects = statement
        .get("subject")
        .and_then(serde_json::Value::as_array);
    for subject in subjects.into_iter().flatten() {
        let digests = subject.get("digest").and_then(serde_json::Value::as_object);
        for (algorithm, value) in digests.into_iter().flatten() {
            if let Some(value) = value.as_str() {
                keys.push(format!(
                    "{}:{}",
                    algorithm.to_lowercase(),
                    value.to_lowercase()
                ));
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests;
