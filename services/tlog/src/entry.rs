//! The `LogEntry` JSON of the Rekor v1 API, entry IDs and signed entry timestamps.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sigstack_keys::LogSigner;
use sigstack_logstore::Hash;

use crate::error::ApiError;

/// Formats an entry ID: the tree ID as 16 hex digits followed by the 64-hex leaf hash (the UUID).
pub fn entry_id(tree_id: i64, leaf_hash: &Hash) -> String {
    format!("{tree_id:016x}{}", hex::encode(leaf_hash))
}

/// Everything one `LogEntryAnon` carries.
#[derive(Debug)]
pub struct EntryParts<'a> {
    pub tree_id: i64,
    pub leaf_hash: Hash,
    pub body: &'a [u8],
    /// Unix seconds at which the entry was integrated.
    pub integrated_time: i64,
    pub log_index: u64,
    pub proof: &'a [Hash],
    pub tree_size: u64,
    pub root_hash: Hash,
    pub checkpoint: &'a str,
}

/// Builds the `{"<entryID>": LogEntryAnon}` object, signing a fresh SET over the entry.
pub fn log_entry(parts: &EntryParts<'_>, signer: &LogSigner) -> Result<(String, Value), ApiError> {
    let id = entry_id(parts.tree_id, &parts.leaf_hash);
    let body = STANDARD.encode(parts.body);
    let log_id = hex::encode(signer.key_id());
    let set = signed_entry_timestamp(
        &body,
        parts.integrated_time,
        &log_id,
        parts.log_index,
        signer,
    )?;
    let anon = json!({
        "body": body,
        "integratedTime": parts.integrated_time,
        "logID": log_id,
        "logIndex": parts.log_index,
        "verification": {
            "inclusionProof": {
                "checkpoint": parts.checkpoint,
                "hashes": parts.proof.iter().map(hex::encode).collect::<Vec<_>>(),
                "logIndex": parts.log_index,
                "rootHash": hex::encode(parts.root_hash),
                "treeSize": parts.tree_size,
            },
            "signedEntryTimestamp": set,
        },
    });
    let mut object = serde_json::Map::new();
    object.insert(id.clone(), anon);
    Ok((id, Value::Object(object)))
}

/// Signs the entry timestamp: ECDSA P-256 over SHA-256 of the RFC 8785 serialization of
/// `{"body", "integratedTime", "logID", "logIndex"}`, base64-encoded.
fn signed_entry_timestamp(
    body: &str,
    integrated_time: i64,
    log_id: &str,
    log_index: u64,
    signer: &LogSigner,
) -> Result<String, ApiError> {
    let payload = json!({
        "body": body,
        "integratedTime": integrated_time,
        "logID": log_id,
        "logIndex": log_index,
    });
    let canonical = serde_jcs::to_vec(&payload)
        .map_err(|error| ApiError::Internal(format!("JCS serialization failed: {error}")))?;
    Ok(STANDARD.encode(signer.sign(&canonical)))
}

/// Parses a 64-hex UUID or 80-hex entry ID into (optional tree ID, leaf hash).
pub fn parse_entry_id(value: &str) -> Result<(Option<i64>, Hash), ApiError> {
    if !(value.len() == 64 || value.len() == 80) || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::validation(
            crate::error::CODE_INVALID_TYPE + 4,
            format!(
                "entryUUID in path should match '^([0-9a-fA-F]{{64}}|[0-9a-fA-F]{{80}})$': {value:?}"
            ),
        ));
    }
    let (tree_part, uuid) = value.split_at(value.len() - 64);
    let tree_id = if tree_part.is_empty() {
        None
    } else {
        let tree_id = i64::from_str_radix(tree_part, 16).map_err(|_| {
            ApiError::bad_request(format!(
                "validation error: tree ID {tree_part:?} is not a valid int64"
            ))
        })?;
        // Upstream treats tree ID 0 as "no tree ID", a plain UUID.
        (tree_id != 0).then_some(tree_id)
    };
    let mut leaf_hash = [0u8; 32];
    hex::decode_to_slice(uuid, &mut leaf_hash)
        .map_err(|_| ApiError::bad_request(format!("invalid entry UUID {uuid:?}")))?;
    Ok((tree_id, leaf_hash))
}
