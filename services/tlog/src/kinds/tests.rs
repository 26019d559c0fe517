use serde_json::json;

use super::*;

#[test]
fn unknown_kind_is_rejected_with_supported_list() {
    let error = canonicalize(&json!({"kind": "rpm", "apiVersion": "0.0.1", "spec": {}})).unwrap_err();
    assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST);
    assert!(error.to_string().contains("'rpm' is not enabled"), "{error}");
}

#[test]
fn missing_kind_is_a_validation_error() {
    let error = canonicalize(&json!({"apiVersion": "0.0.1", "spec": {}})).unwrap_err();
    assert_eq!(error.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn pae_matches_dsse_specification_example() {
    // From the DSSE protocol document: PAE("http://example.com/HelloWorld", "hello world").
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
}

#[test]
fn dsse_with_incomplete_signature_is_bad_request() {
    let envelope = json!({"payload": "e30=", "payloadType": "application/json", "signatures": [{"keyid": ""}]}).to_string();
    let error = canonicalize(&json!({
        "kind": "dsse", "apiVersion": "0.0.1",
        "spec": {"proposedContent": {"envelope": envelope, "verifiers": ["AAAA"]}}
    }))
    .unwrap_err();
    assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST);
}
