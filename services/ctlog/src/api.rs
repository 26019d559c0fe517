//! HTTP handlers of the RFC 6962 API (§4), under `/<prefix>/ct/v1/`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prometheus::Registry;
use serde::{Deserialize, Serialize};
use sigstack_logstore::{AppendOutcome, NewLeaf};
use sigstack_server::HttpMetrics;

use crate::CtLog;
use crate::chain::{Submission, validate_chain};
use crate::error::CtError;
use crate::head::{StoredTreeHead, unix_millis};
use crate::rfc6962::{self, SignedEntry};

/// Largest add-chain or add-pre-chain request body. A Fulcio chain of three certificates is
/// under 8 KiB in base64; the limit leaves room for [`crate::MAX_CHAIN_CERTIFICATES`] large
/// certificates while bounding the memory one request takes.
pub const MAX_REQUEST_BODY_BYTES: usize = 512 * 1024;

/// Most entries returned by one get-entries request, ctfe's default. A larger range is cut
/// short, and the client asks again from where the response ended (RFC 6962 §4.6 allows it).
pub const MAX_GET_ENTRIES: u64 = 1000;

type ApiResult = Result<Response, CtError>;

/// Builds the router with the RFC 6962 endpoints under the configured prefix, plus `/ping`,
/// `/healthz`, `/readyz` and `/metrics` at the root.
pub fn router(ctlog: Arc<CtLog>, registry: Registry) -> Router {
    let base = ctlog.config.api_path();
    let api = Router::new()
        .route(&format!("{base}/add-chain"), post(add_chain))
        .route(&format!("{base}/add-pre-chain"), post(add_pre_chain))
        .route(&format!("{base}/get-sth"), get(get_sth))
        .route(
            &format!("{base}/get-sth-consistency"),
            get(get_sth_consistency),
        )
        .route(&format!("{base}/get-proof-by-hash"), get(get_proof_by_hash))
        .route(&format!("{base}/get-entries"), get(get_entries))
        .route(&format!("{base}/get-roots"), get(get_roots))
        .with_state(ctlog.clone());
    let api = match HttpMetrics::register(&registry, "ctlog") {
        Ok(metrics) => api.layer(axum::middleware::from_fn_with_state(
            metrics,
            HttpMetrics::track,
        )),
        Err(error) => {
            tracing::warn!(%error, "failed to register HTTP metrics");
            api
        }
    };
    api.merge(sigstack_server::health_routes(ctlog))
        .merge(sigstack_server::metrics_route(registry))
        .fallback(|| async { CtError::NotFound("no such endpoint".to_owned()) })
}

/// `AddChainRequest` (RFC 6962 §4.1): base64 DER certificates, leaf first.
#[derive(Debug, Deserialize)]
struct AddChainRequest {
    chain: Vec<String>,
}

/// `AddChainResponse` (RFC 6962 §4.1): the SCT in JSON.
#[derive(Debug, Serialize)]
struct AddChainResponse {
    sct_version: u8,
    id: String,
    timestamp: u64,
    extensions: String,
    signature: String,
}

async fn add_chain(State(ctlog): State<Arc<CtLog>>, headers: HeaderMap, body: Body) -> ApiResult {
    add_entry(&ctlog, &headers, body, Submission::Certificate).await
}

async fn add_pre_chain(
    State(ctlog): State<Arc<CtLog>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    add_entry(&ctlog, &headers, body, Submission::Precertificate).await
}

/// Validates a chain, appends its entry and returns an SCT for it: the log's critical path.
async fn add_entry(
    ctlog: &CtLog,
    headers: &HeaderMap,
    body: Body,
    submission: Submission,
) -> ApiResult {
    // Read the request: {"chain": [base64 DER, ...]}.
    let bytes = read_body(headers, body, MAX_REQUEST_BODY_BYTES).await?;
    let request: AddChainRequest = serde_json::from_slice(&bytes).map_err(|error| {
        CtError::malformed(format!(
            "request body is not an add-chain JSON object: {error}"
        ))
    })?;

    // Validate the chain to a configured root and build the signed entry and extra_data.
    let chain = validate_chain(&request.chain, submission, &ctlog.roots)?;
    let entry_type = chain.entry.entry_type();
    let extra_data = match submission {
        Submission::Certificate => rfc6962::certificate_chain(&chain.issuers),
        Submission::Precertificate => rfc6962::precert_chain_entry(&chain.leaf, &chain.issuers),
    }
    .map_err(|error| CtError::invalid_chain(error.to_string()))?;

    // Fix the SCT timestamp before appending, because the MerkleTreeLeaf contains it.
    let timestamp_ms = unix_millis(ctlog.clock.now()).map_err(CtError::Internal)?;
    ctlog.head_signer.observe_sct_timestamp(timestamp_ms);
    let leaf = NewLeaf {
        identity: chain
            .entry
            .identity()
            .map_err(|error| CtError::invalid_chain(error.to_string()))?
            .to_vec(),
        leaf_value: rfc6962::merkle_tree_leaf(timestamp_ms, &chain.entry)
            .map_err(|error| CtError::invalid_chain(error.to_string()))?,
        extra_data: Some(extra_data),
        search_keys: Vec::new(),
    };

    // Append and wait for the commit. A resubmission gets an SCT over the stored entry's
    // timestamp, as ctfe returns, so that every SCT for one entry matches the log.
    let (timestamp_ms, outcome) = match ctlog.appender.append(leaf).await? {
        AppendOutcome::Integrated { .. } => (timestamp_ms, "new"),
        AppendOutcome::Duplicate { leaf_index } => (
            stored_timestamp(ctlog, leaf_index, &chain.entry).await?,
            "duplicate",
        ),
    };
    ctlog
        .submissions
        .with_label_values(&[entry_type.name(), outcome])
        .inc();

    // Sign the SCT (RFC 6962 §3.2). A duplicate gets the first submission's timestamp, but not
    // necessarily the same signature bytes, because the ECDSA nonce is random.
    let input = rfc6962::sct_signature_input(timestamp_ms, &chain.entry)
        .map_err(|error| CtError::invalid_chain(error.to_string()))?;
    let signature = rfc6962::digitally_signed(&ctlog.signer.sign(&input))
        .map_err(|error| CtError::Internal(error.to_string()))?;
    let response = AddChainResponse {
        sct_version: rfc6962::VERSION_V1,
        id: STANDARD.encode(ctlog.signer.key_id()),
        timestamp: timestamp_ms,
        extensions: String::new(),
        signature: STANDARD.encode(signature),
    };
    Ok(axum::Json(response).into_response())
}

/// Reads the timestamp of the stored entry at `leaf_index`, checking that it contains `entry`.
async fn stored_timestamp(
    ctlog: &CtLog,
    leaf_index: u64,
    entry: &SignedEntry,
) -> Result<u64, CtError> {
    let stored = ctlog
        .store
        .leaf_by_index(leaf_index)
        .await?
        .ok_or_else(|| CtError::Internal(format!("duplicate entry {leaf_index} is not stored")))?;
    let leaf = rfc6962::parse_merkle_tree_leaf(&stored.leaf_value).map_err(|error| {
        CtError::Internal(format!("stored leaf {leaf_index} is malformed: {error}"))
    })?;
    if leaf.entry != *entry {
        return Err(CtError::Internal(format!(
            "stored leaf {leaf_index} contains a different entry with the same identity"
        )));
    }
    Ok(leaf.timestamp_ms)
}

/// Reads a request body up to `limit` bytes, returning 413 when it is larger.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, CtError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(CtError::BodyTooLarge { limit });
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| CtError::BodyTooLarge { limit })
}

/// `get-sth` response (RFC 6962 §4.3).
#[derive(Debug, Serialize)]
struct SignedTreeHead {
    tree_size: u64,
    timestamp: u64,
    sha256_root_hash: String,
    tree_head_signature: String,
}

async fn get_sth(State(ctlog): State<Arc<CtLog>>) -> ApiResult {
    let head = ctlog.store.head().await?;
    let signed = StoredTreeHead::decode(&head.signed_head).map_err(CtError::Internal)?;
    Ok(axum::Json(SignedTreeHead {
        tree_size: head.tree_size,
        timestamp: signed.timestamp_ms,
        sha256_root_hash: STANDARD.encode(head.root_hash),
        tree_head_signature: STANDARD.encode(&signed.tree_head_signature),
    })
    .into_response())
}

/// Reads a required non-negative integer query parameter.
fn integer_param(query: &HashMap<String, String>, name: &str) -> Result<u64, CtError> {
    let value = query
        .get(name)
        .ok_or_else(|| CtError::malformed(format!("query parameter {name} is missing")))?;
    value.parse::<u64>().map_err(|_| {
        CtError::malformed(format!(
            "query parameter {name} must be a non-negative integer, got {value:?}"
        ))
    })
}

async fn get_sth_consistency(
    State(ctlog): State<Arc<CtLog>>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let first = integer_param(&query, "first")?;
    let second = integer_param(&query, "second")?;
    if first > second {
        return Err(CtError::malformed(format!(
            "first {first} is larger than second {second}"
        )));
    }
    let tree_size = ctlog.store.head().await?.tree_size;
    if second > tree_size {
        return Err(CtError::malformed(format!(
            "second {second} is beyond the current tree size {tree_size}"
        )));
    }
    // A proof from the empty tree is empty, as ctfe returns for first = 0.
    let proof = if first == 0 {
        Vec::new()
    } else {
        ctlog.store.consistency_proof(first, second).await?
    };
    let consistency: Vec<String> = proof.iter().map(|hash| STANDARD.encode(hash)).collect();
    Ok(axum::Json(serde_json::json!({ "consistency": consistency })).into_response())
}

async fn get_proof_by_hash(
    State(ctlog): State<Arc<CtLog>>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let encoded = query
        .get("hash")
        .ok_or_else(|| CtError::malformed("query parameter hash is missing"))?;
    let leaf_hash: [u8; 32] = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| {
            CtError::malformed(format!(
                "hash {encoded:?} is not a base64 SHA-256 leaf hash"
            ))
        })?;
    let tree_size = integer_param(&query, "tree_size")?;
    if tree_size == 0 {
        return Err(CtError::malformed("tree_size must be at least 1"));
    }
    let current = ctlog.store.head().await?.tree_size;
    if tree_size > current {
        return Err(CtError::malformed(format!(
            "tree_size {tree_size} is beyond the current tree size {current}"
        )));
    }
    let leaf = ctlog
        .store
        .leaf_by_hash(&leaf_hash)
        .await?
        .filter(|leaf| leaf.leaf_index < tree_size)
        .ok_or_else(|| {
            CtError::NotFound(format!(
                "no leaf with hash {encoded} in the tree of size {tree_size}"
            ))
        })?;
    let proof = ctlog
        .store
        .inclusion_proof(leaf.leaf_index, tree_size)
        .await?;
    let audit_path: Vec<String> = proof.iter().map(|hash| STANDARD.encode(hash)).collect();
    Ok(
        axum::Json(serde_json::json!({ "leaf_index": leaf.leaf_index, "audit_path": audit_path }))
            .into_response(),
    )
}

async fn get_entries(
    State(ctlog): State<Arc<CtLog>>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let start = integer_param(&query, "start")?;
    let end = integer_param(&query, "end")?;
    if start > end {
        return Err(CtError::malformed(format!(
            "start {start} is larger than end {end}"
        )));
    }
    let tree_size = ctlog.store.head().await?.tree_size;
    if start >= tree_size {
        return Err(CtError::malformed(format!(
            "start {start} is beyond the last entry of the tree of size {tree_size}"
        )));
    }
    // `end` is inclusive; the response stops at the tree's last entry and at MAX_GET_ENTRIES.
    let end_exclusive = end
        .saturating_add(1)
        .min(tree_size)
        .min(start + MAX_GET_ENTRIES);
    let leaves = ctlog.store.leaves(start, end_exclusive).await?;
    let mut entries = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        let extra_data = leaf.extra_data.ok_or_else(|| {
            CtError::Internal(format!("stored leaf {} has no extra_data", leaf.leaf_index))
        })?;
        entries.push(serde_json::json!({
            "leaf_input": STANDARD.encode(&leaf.leaf_value),
            "extra_data": STANDARD.encode(&extra_data),
        }));
    }
    Ok(axum::Json(serde_json::json!({ "entries": entries })).into_response())
}

async fn get_roots(State(ctlog): State<Arc<CtLog>>) -> Response {
    let certificates: Vec<String> = ctlog.roots.ders().map(|der| STANDARD.encode(der)).collect();
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "certificates": certificates })),
    )
        .into_response()
}
