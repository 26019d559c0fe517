//! HTTP handlers of the Rekor v1 API.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prometheus::Registry;
use serde::Deserialize;
use serde_json::Value;
use sigstack_logstore::{AppendOutcome, NewLeaf, StoredLeaf};
use sigstack_server::HttpMetrics;

use crate::Tlog;
use crate::entry::{EntryParts, entry_id, log_entry, parse_entry_id};
use crate::error::{ApiError, CODE_INVALID_TYPE, CODE_REQUIRED, CODE_TOO_MANY_ITEMS};
use crate::kinds::canonicalize;
use crate::pki::Verifier;

/// Maximum lookups in one `entries/retrieve` request, as upstream's schema allows.
const MAX_SEARCH_ITEMS: usize = 10;

/// Path prefix of entry URLs; `Location` headers append the entry ID to it.
const ENTRIES_PATH: &str = "/api/v1/log/entries";

type ApiResult = Result<Response, ApiError>;

/// Builds the router with every Rekor v1 route (each also with a trailing slash, which upstream's
/// router accepts and sigstore-python uses), plus health and metrics routes.
pub fn router(tlog: Arc<Tlog>, registry: Registry) -> Router {
    let api = Router::new()
        .route(ENTRIES_PATH, post(create_entry).get(get_entry_by_index))
        .route(
            "/api/v1/log/entries/",
            post(create_entry).get(get_entry_by_index),
        )
        .route("/api/v1/log/entries/{uuid}", get(get_entry_by_uuid))
        .route("/api/v1/log/entries/retrieve", post(search_log_query))
        .route("/api/v1/log/entries/retrieve/", post(search_log_query))
        .route("/api/v1/index/retrieve", post(search_index))
        .route("/api/v1/index/retrieve/", post(search_index))
        .route("/api/v1/log", get(log_info))
        .route("/api/v1/log/", get(log_info))
        .route("/api/v1/log/publicKey", get(public_key))
        .route("/api/v1/log/publicKey/", get(public_key))
        .route("/api/v1/log/proof", get(log_proof))
        .route("/api/v1/log/proof/", get(log_proof))
        .with_state(tlog.clone());
    let api = match HttpMetrics::register(&registry, "rekor") {
        Ok(metrics) => api.layer(axum::middleware::from_fn_with_state(
            metrics,
            HttpMetrics::track,
        )),
        Err(error) => {
            tracing::warn!(%error, "failed to register HTTP metrics");
            api
        }
    };
    api.merge(sigstack_server::health_routes(tlog))
        .merge(sigstack_server::metrics_route(registry))
        .fallback(|| async { ApiError::NotFoundPath })
}

/// Reads a request body of at most `limit` bytes; a larger body is a 413 naming the limit.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit })
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|error| ApiError::bad_request(format!("request body is not valid JSON: {error}")))
}

/// Writes JSON the way Go's encoder does: compact, with a trailing newline.
fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn create_entry(State(tlog): State<Arc<Tlog>>, headers: HeaderMap, body: Body) -> ApiResult {
    let bytes = read_body(&headers, body, tlog.config.max_body_bytes).await?;
    let proposed: Value = parse_json(&bytes)?;
    let kind = proposed
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let canonical = canonicalize(&proposed)?;

    let leaf_hash = sigstack_merkle::leaf_hash(&canonical.body);
    let leaf = NewLeaf {
        identity: leaf_hash.to_vec(),
        leaf_value: canonical.body,
        extra_data: None,
        search_keys: canonical.search_keys,
    };
    let tree_id = tlog.store.info().tree_id;
    let (leaf_index, leaf_hash, integrated_time_ms, proof, head, body) =
        match tlog.appender.append(leaf.clone()).await? {
            AppendOutcome::Duplicate { .. } => {
                let entry_id = entry_id(tree_id, &leaf_hash);
                let location = format!("{ENTRIES_PATH}/{entry_id}");
                return Err(ApiError::Duplicate { entry_id, location });
            }
            AppendOutcome::Integrated {
                leaf_index,
                leaf_hash,
                integrated_time_ms,
                proof,
                head,
            } => (
                leaf_index,
                leaf_hash,
                integrated_time_ms,
                proof,
                head,
                leaf.leaf_value,
            ),
        };
    tlog.new_entries.with_label_values(&[kind.as_str()]).inc();

    let checkpoint = checkpoint_text(&head.signed_head)?;
    let parts = EntryParts {
        tree_id,
        leaf_hash,
        body: &body,
        integrated_time: integrated_time_ms.div_euclid(1000),
        log_index: leaf_index,
        proof: &proof,
        tree_size: head.tree_size,
        root_hash: head.root_hash,
        checkpoint: &checkpoint,
    };
    let (id, value) = log_entry(&parts, &tlog.signer)?;
    let mut response = json_response(StatusCode::CREATED, &value);
    let location = format!("{ENTRIES_PATH}/{id}");
    if let (Ok(etag), Ok(location)) = (HeaderValue::from_str(&id), HeaderValue::from_str(&location))
    {
        // Unquoted on purpose: sigstore-go looks the entry up in the body by the raw ETag value.
        response.headers_mut().insert(header::ETAG, etag);
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

fn checkpoint_text(signed_head: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(signed_head.to_vec())
        .map_err(|_| ApiError::Internal("stored checkpoint is not UTF-8".to_owned()))
}

/// Renders a stored leaf as a `LogEntry` with a proof against the latest checkpoint.
async fn render_entry(tlog: &Tlog, leaf: &StoredLeaf) -> Result<(String, Value), ApiError> {
    let head = tlog.store.head().await?;
    let proof = tlog
        .store
        .inclusion_proof(leaf.leaf_index, head.tree_size)
        .await?;
    let checkpoint = checkpoint_text(&head.signed_head)?;
    let parts = EntryParts {
        tree_id: tlog.store.info().tree_id,
        leaf_hash: leaf.leaf_hash,
        body: &leaf.leaf_value,
        integrated_time: leaf.integrated_time_ms.div_euclid(1000),
        log_index: leaf.leaf_index,
        proof: &proof,
        tree_size: head.tree_size,
        root_hash: head.root_hash,
        checkpoint: &checkpoint,
    };
    log_entry(&parts, &tlog.signer)
}

/// Parses a non-negative integer query parameter, with go-openapi's 422 on a bad value.
fn integer_param(query: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    match query.get(name) {
        None => Ok(None),
        Some(value) => value.parse::<u64>().map(Some).map_err(|_| {
            ApiError::validation(
                CODE_INVALID_TYPE,
                format!("{name} in query must be a non-negative integer, got {value:?}"),
            )
        }),
    }
}

async fn get_entry_by_index(
    State(tlog): State<Arc<Tlog>>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let index = integer_param(&query, "logIndex")?
        .ok_or_else(|| ApiError::validation(CODE_REQUIRED, "logIndex in query is required"))?;
    let leaf = tlog
        .store
        .leaf_by_index(index)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (_, value) = render_entry(&tlog, &leaf).await?;
    Ok(json_response(StatusCode::OK, &value))
}

/// Looks up a 64-hex UUID or 80-hex entry ID. `Ok(None)` means not found.
async fn find_by_entry_id(tlog: &Tlog, value: &str) -> Result<Option<StoredLeaf>, ApiError> {
    let (tree_id, leaf_hash) = parse_entry_id(value)?;
    if tree_id.is_some_and(|tree_id| tree_id != tlog.store.info().tree_id) {
        return Ok(None);
    }
    Ok(tlog.store.leaf_by_hash(&leaf_hash).await?)
}

async fn get_entry_by_uuid(State(tlog): State<Arc<Tlog>>, Path(uuid): Path<String>) -> ApiResult {
    let leaf = find_by_entry_id(&tlog, &uuid)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (_, value) = render_entry(&tlog, &leaf).await?;
    Ok(json_response(StatusCode::OK, &value))
}

#[derive(Debug, Deserialize)]
struct SearchLogQuery {
    #[serde(rename = "entryUUIDs", default)]
    entry_uuids: Option<Vec<String>>,
    #[serde(rename = "logIndexes", default)]
    log_indexes: Option<Vec<i64>>,
    #[serde(default)]
    entries: Option<Vec<Value>>,
}

async fn search_log_query(
    State(tlog): State<Arc<Tlog>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    let bytes = read_body(&headers, body, tlog.config.max_body_bytes).await?;
    let query: SearchLogQuery = parse_json(&bytes)?;
    let uuids = query.entry_uuids.unwrap_or_default();
    let indexes = query.log_indexes.unwrap_or_default();
    let entries = query.entries.unwrap_or_default();
    if uuids.len() + indexes.len() + entries.len() > MAX_SEARCH_ITEMS {
        return Err(ApiError::validation(
            CODE_TOO_MANY_ITEMS,
            format!("more than max allowed {MAX_SEARCH_ITEMS} entries in request"),
        ));
    }

    let mut found: Vec<StoredLeaf> = Vec::new();
    for uuid in &uuids {
        let (tree_id, leaf_hash) = parse_entry_id(uuid)
            .map_err(|_| ApiError::bad_request(format!("invalid entryID {uuid}")))?;
        if tree_id.is_some_and(|tree_id| tree_id != tlog.store.info().tree_id) {
            continue;
        }
        found.extend(tlog.store.leaf_by_hash(&leaf_hash).await?);
    }
    for proposed in &entries {
        let canonical = canonicalize(proposed)?;
        let leaf_hash = sigstack_merkle::leaf_hash(&canonical.body);
        found.extend(tlog.store.leaf_by_hash(&leaf_hash).await?);
    }
    for index in &indexes {
        let index = u64::try_from(*index).map_err(|_| {
            ApiError::validation(
                CODE_INVALID_TYPE,
                format!("logIndexes must be non-negative, got {index}"),
            )
        })?;
        found.extend(tlog.store.leaf_by_index(index).await?);
    }

    let mut results = Vec::with_capacity(found.len());
    for leaf in &found {
        let (_, value) = render_entry(&tlog, leaf).await?;
        results.push(value);
    }
    Ok(json_response(StatusCode::OK, &Value::Array(results)))
}

#[derive(Debug, Deserialize)]
struct SearchIndex {
    email: Option<String>,
    subject: Option<String>,
    #[serde(rename = "publicKey")]
    public_key: Option<SearchPublicKey>,
    hash: Option<String>,
    operator: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SearchPublicKey {
    format: Option<String>,
    content: Option<String>,
    url: Option<String>,
}

/// Normalizes a searched hash to `<alg>:<hex>`, inferring the algorithm from the length when no
/// prefix is given (40 sha1, 64 sha256, 96 sha384, 128 sha512), as upstream's `PrefixSHA` does.
fn hash_search_key(value: &str) -> Result<String, ApiError> {
    let value = value.trim().to_lowercase();
    let (prefix, digest) = match value.split_once(':') {
        Some((prefix, digest)) => (Some(prefix.to_owned()), digest.to_owned()),
        None => (None, value.clone()),
    };
    if digest.is_empty() || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(format!(
            "hash {value:?} is not a hexadecimal digest"
        )));
    }
    let inferred = match digest.len() {
        40 => "sha1",
        64 => "sha256",
        96 => "sha384",
        128 => "sha512",
        other => {
            return Err(ApiError::bad_request(format!(
                "hash has {other} hex characters; expected 40, 64, 96 or 128"
            )));
        }
    };
    match prefix {
        Some(prefix) if prefix != inferred => Err(ApiError::bad_request(format!(
            "hash prefix {prefix:?} does not match a {}-character digest",
            digest.len()
        ))),
        _ => Ok(format!("{inferred}:{digest}")),
    }
}

async fn search_index(State(tlog): State<Arc<Tlog>>, headers: HeaderMap, body: Body) -> ApiResult {
    let bytes = read_body(&headers, body, tlog.config.max_body_bytes).await?;
    let query: SearchIndex = parse_json(&bytes)?;

    let mut keys: Vec<String> = Vec::new();
    if let Some(hash) = &query.hash {
        keys.push(hash_search_key(hash)?);
    }
    if let Some(public_key) = &query.public_key {
        let format = public_key.format.as_deref().unwrap_or_default();
        if format != "x509" {
            return Err(ApiError::bad_request(format!(
                "publicKey.format {format:?} is not supported by this log; use x509"
            )));
        }
        if public_key.url.is_some() {
            return Err(ApiError::bad_request(
                "publicKey.url is not supported: send the key in publicKey.content",
            ));
        }
        let content = public_key
            .content
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("publicKey.content is required"))?;
        let bytes = STANDARD
            .decode(content)
            .map_err(|_| ApiError::bad_request("publicKey.content is not valid base64"))?;
        let verifier =
            Verifier::from_pem(&bytes).map_err(|error| ApiError::bad_request(error.to_string()))?;
        keys.push(verifier.fingerprint());
    }
    if let Some(email) = &query.email {
        keys.push(email.trim().to_lowercase());
    }
    if let Some(subject) = &query.subject {
        keys.push(subject.trim().to_lowercase());
    }
    if keys.is_empty() {
        return Err(ApiError::bad_request(
            "a search needs at least one of hash, publicKey, email or subject",
        ));
    }
    let operator = query.operator.as_deref().unwrap_or("or");
    if !matches!(operator, "and" | "or") {
        return Err(ApiError::validation(
            CODE_INVALID_TYPE + 5,
            format!("operator {operator:?} must be \"and\" or \"or\""),
        ));
    }

    let mut result: Option<Vec<u64>> = None;
    for key in &keys {
        let indexes = tlog.store.search(key).await?;
        result = Some(match (result, operator) {
            (None, _) => indexes,
            (Some(previous), "and") => previous
                .into_iter()
                .filter(|index| indexes.contains(index))
                .collect(),
            (Some(mut previous), _) => {
                previous.extend(indexes);
                previous
            }
        });
    }
    let mut indexes = result.unwrap_or_default();
    indexes.sort_unstable();
    indexes.dedup();

    let mut ids = Vec::with_capacity(indexes.len());
    for index in indexes {
        if let Some(leaf) = tlog.store.leaf_by_index(index).await? {
            ids.push(Value::String(entry_id(
                tlog.store.info().tree_id,
                &leaf.leaf_hash,
            )));
        }
    }
    Ok(json_response(StatusCode::OK, &Value::Array(ids)))
}

async fn log_info(State(tlog): State<Arc<Tlog>>) -> ApiResult {
    let head = tlog.store.head().await?;
    let value = serde_json::json!({
        "inactiveShards": null,
        "rootHash": hex::encode(head.root_hash),
        "signedTreeHead": checkpoint_text(&head.signed_head)?,
        "treeID": tlog.store.info().tree_id.to_string(),
        "treeSize": head.tree_size,
    });
    Ok(json_response(StatusCode::OK, &value))
}

/// Checks an optional `treeID` query parameter against this log's tree ID.
fn check_tree_id(tlog: &Tlog, query: &HashMap<String, String>) -> Result<(), ApiError> {
    match query.get("treeID") {
        None => Ok(()),
        Some(value) if value.parse::<i64>().ok() == Some(tlog.store.info().tree_id) => Ok(()),
        Some(value) => Err(ApiError::bad_request(format!(
            "unknown treeID {value:?}: this log's tree ID is {}",
            tlog.store.info().tree_id
        ))),
    }
}

async fn public_key(
    State(tlog): State<Arc<Tlog>>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    check_tree_id(&tlog, &query)?;
    Ok((
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        tlog.public_key_pem(),
    )
        .into_response())
}

async fn log_proof(
    State(tlog): State<Arc<Tlog>>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    check_tree_id(&tlog, &query)?;
    let last = integer_param(&query, "lastSize")?
        .ok_or_else(|| ApiError::validation(CODE_REQUIRED, "lastSize in query is required"))?;
    // firstSize defaults to 1 as upstream. Size 0 is accepted: consistency with the empty tree
    // is trivial, which helps monitors that start watching an empty log.
    let first = integer_param(&query, "firstSize")?.unwrap_or(1);
    if last == 0 {
        return Err(ApiError::validation(
            CODE_INVALID_TYPE + 9,
            "lastSize in query should be greater than or equal to 1",
        ));
    }
    if first > last {
        return Err(ApiError::bad_request(format!(
            "firstSize({first}) must be less than lastSize({last})"
        )));
    }
    let head = tlog.store.head().await?;
    if last > head.tree_size {
        return Err(ApiError::bad_request(format!(
            "the tree size requested({last}) was greater than what is currently observable({})",
            head.tree_size
        )));
    }
    let proof = tlog.store.consistency_proof(first, last).await?;
    let root = if last == head.tree_size {
        head.root_hash
    } else {
        tlog.store.root_at(last).await?
    };
    let value = serde_json::json!({
        "hashes": proof.iter().map(hex::encode).collect::<Vec<_>>(),
        "rootHash": hex::encode(root),
    });
    Ok(json_response(StatusCode::OK, &value))
}
