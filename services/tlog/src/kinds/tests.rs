use serde_json::json;

use super::*;

#[test]
fn unknown_kind_is_rejected_with_supported_list() {
    let error =
        canonicalize(&json!({"kind": "rpm", "apiVersion": "0.0.1", "spec": {}})).unwrap_err();
    assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST);
    assert!(
        error.to_string().contains("'rpm' is not enabled"),
        "{error}"
    );
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

mod never_panics {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::super::canonicalize;

    /// Arbitrary JSON values up to a small depth, strings biased toward base64 and hex.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[A-Za-z0-9+/=]{0,40}".prop_map(Value::String),
            "[0-9a-f]{0,130}".prop_map(Value::String),
            ".{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("spec".to_owned()),
                        Just("data".to_owned()),
                        Just("hash".to_owned()),
                        Just("signature".to_owned()),
                        Just("publicKey".to_owned()),
                        Just("content".to_owned()),
                        Just("envelope".to_owned()),
                        Just("proposedContent".to_owned()),
                        Just("verifiers".to_owned()),
                        Just("signatures".to_owned()),
                        Just("sig".to_owned()),
                        Just("payload".to_owned()),
                        Just("payloadType".to_owned()),
                        Just("algorithm".to_owned()),
                        Just("value".to_owned()),
                    ],
                    inner,
                    0..5,
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonicalize_never_panics(
            kind in prop_oneof![Just("hashedrekord"), Just("dsse"), Just("intoto"), Just("rekord")],
            version in prop_oneof![Just("0.0.1"), Just("0.0.2")],
            spec in any_json(),
        ) {
            let proposed = json!({"kind": kind, "apiVersion": version, "spec": spec});
            let _ = canonicalize(&proposed);
        }
    }
}
