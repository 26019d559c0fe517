//! Time-stamp requests: decoding the two wire forms and checking them against RFC 3161 §2.4.1.
//!
//! Everything here is a pure function over bytes, so a fuzzer can call [`parse_der_request`],
//! [`parse_json_request`] and [`check_request`] directly.
//!
//! The outcome has three levels. A body that does not decode is a [`MalformedRequest`] (HTTP 400
//! with JSON). A request that decodes but that this TSA will not serve is a [`Rejection`], which
//! RFC 3161 §2.4.2 requires to be returned as a `TimeStampResp` with status `rejection` and a
//! PKIFailureInfo bit. Anything else is granted.

use base64::Engine as _;
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Any, Decode, Encode};
use serde::Deserialize;
use spki::AlgorithmIdentifier;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use crate::asn1::{FailureInfo, ID_SHA1, ID_SHA256, ID_SHA384, ID_SHA512};

/// A request body that is neither a DER `TimeStampReq` nor the JSON request form.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedRequest {
    #[error("request body is not a DER TimeStampReq (RFC 3161 §2.4.1): {0}")]
    NotTimeStampReq(der::Error),
    #[error("request body is not a valid JSON timestamp request: {0}")]
    InvalidJson(serde_json::Error),
    #[error("artifactHash is not valid standard base64: {0}")]
    InvalidArtifactHash(base64::DecodeError),
    #[error("tsaPolicyOID {0:?} is not a dotted object identifier such as 1.3.6.1.4.1.57264.2")]
    InvalidPolicyOid(String),
    #[error("nonce {0} is not an integer between 0 and 2^64-1")]
    InvalidNonce(serde_json::Number),
}

impl MalformedRequest {
    /// Returns a fixed label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotTimeStampReq(_) => "malformed_der_request",
            Self::InvalidJson(_) => "malformed_json_request",
            Self::InvalidArtifactHash(_) => "invalid_artifact_hash",
            Self::InvalidPolicyOid(_) => "invalid_policy_oid",
            Self::InvalidNonce(_) => "invalid_nonce",
        }
    }
}

/// A well-formed request that this TSA refuses, with the PKIFailureInfo bit and the text for
/// the `statusString` of the rejection response.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("{status_string}")]
pub struct Rejection {
    pub failure_info: FailureInfo,
    pub status_string: String,
}

impl Rejection {
    fn new(failure_info: FailureInfo, status_string: impl Into<String>) -> Self {
        Self {
            failure_info,
            status_string: status_string.into(),
        }
    }
}

/// Why a JSON request could not become a `TimeStampReq`: it is malformed, or it names a hash
/// algorithm that has no object identifier here and so can only be rejected.
#[derive(Debug)]
pub enum JsonRequestError {
    Malformed(MalformedRequest),
    Rejected(Rejection),
}

/// Decodes a DER `TimeStampReq`. Trailing bytes after the structure are an error.
pub fn parse_der_request(body: &[u8]) -> Result<TimeStampReq, MalformedRequest> {
    TimeStampReq::from_der(body).map_err(MalformedRequest::NotTimeStampReq)
}

/// The JSON request that sigstore-js and Sigstore's timestamp server use.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest {
    /// Standard base64 of the message imprint's hashedMessage.
    artifact_hash: String,
    /// `sha256`, `sha384` or `sha512`.
    hash_algorithm: String,
    #[serde(default)]
    nonce: Option<serde_json::Number>,
    /// certReq.
    #[serde(default)]
    certificates: bool,
    /// reqPolicy as a dotted OID; an empty string means none, as in Sigstore's server.
    #[serde(default, rename = "tsaPolicyOID")]
    tsa_policy_oid: Option<String>,
}

/// Decodes the JSON request form into the `TimeStampReq` it stands for.
pub fn parse_json_request(body: &[u8]) -> Result<TimeStampReq, JsonRequestError> {
    let malformed = JsonRequestError::Malformed;
    let request: JsonRequest =
        serde_json::from_slice(body).map_err(|e| malformed(MalformedRequest::InvalidJson(e)))?;

    let hash_oid = match request.hash_algorithm.to_ascii_lowercase().as_str() {
        "sha256" => ID_SHA256,
        "sha384" => ID_SHA384,
        "sha512" => ID_SHA512,
        "sha1" => ID_SHA1,
        _ => {
            return Err(JsonRequestError::Rejected(Rejection::new(
                FailureInfo::BadAlg,
                format!(
                    "unsupported hash algorithm {:?}: use sha256, sha384 or sha512",
                    request.hash_algorithm
                ),
            )));
        }
    };
    let hashed_message = base64::engine::general_purpose::STANDARD
        .decode(request.artifact_hash.as_bytes())
        .map_err(|e| malformed(MalformedRequest::InvalidArtifactHash(e)))?;
    let req_policy = match request.tsa_policy_oid.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            ObjectIdentifier::new(text)
                .map_err(|_| malformed(MalformedRequest::InvalidPolicyOid(text.to_owned())))?,
        ),
    };
    // NOTE: a JSON nonce above 2^64-1 gets HTTP 400, because serde_json without
    // `arbitrary_precision` reads no larger integer. sigstore-js sends no nonce at all.
    let nonce = match request.nonce {
        None => None,
        Some(number) => {
            let value = number
                .as_u64()
                .ok_or_else(|| malformed(MalformedRequest::InvalidNonce(number.clone())))?;
            Some(int_from_u64(value).map_err(|e| malformed(MalformedRequest::NotTimeStampReq(e)))?)
        }
    };

    let hashed_message = OctetString::new(hashed_message)
        .map_err(|e| malformed(MalformedRequest::NotTimeStampReq(e)))?;
    Ok(TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            // Sigstore's server writes the NULL parameters explicitly; so does this one.
            hash_algorithm: AlgorithmIdentifier {
                oid: hash_oid,
                parameters: Some(Any::null()),
            },
            hashed_message,
        },
        req_policy,
        nonce,
        cert_req: request.certificates,
        extensions: None,
    })
}

/// Checks a decoded request against what this TSA serves. `accepted_policies` lists the
/// policies a request may name in reqPolicy.
pub fn check_request(
    request: &TimeStampReq,
    accepted_policies: &[ObjectIdentifier],
) -> Result<(), Rejection> {
    let imprint = &request.message_imprint;
    let algorithm = &imprint.hash_algorithm;

    // SPEC(RFC 3161 §2.4.1): "If the TSA does not recognize the hash algorithm or knows that
    // the hash algorithm is weak (...), then the TSA SHOULD refuse to provide the time-stamp
    // token by returning a pkiStatusInfo of 'bad_alg'."
    let expected_length = match algorithm.oid {
        ID_SHA256 => 32,
        ID_SHA384 => 48,
        ID_SHA512 => 64,
        ID_SHA1 => {
            return Err(Rejection::new(
                FailureInfo::BadAlg,
                "SHA-1 is too weak for a message imprint: use SHA-256, SHA-384 or SHA-512",
            ));
        }
        other => {
            return Err(Rejection::new(
                FailureInfo::BadAlg,
                format!("unsupported hash algorithm {other}: use SHA-256, SHA-384 or SHA-512"),
            ));
        }
    };
    // RFC 5754 §2: the SHA-2 AlgorithmIdentifier parameters are absent or NULL.
    if let Some(parameters) = &algorithm.parameters
        && !parameters.is_null()
    {
        return Err(Rejection::new(
            FailureInfo::BadAlg,
            "hash algorithm parameters must be absent or NULL",
        ));
    }

    // SPEC(RFC 3161 §2.4.1): the hashedMessage "length MUST match the length of the hash value
    // for that algorithm".
    let length = imprint.hashed_message.as_bytes().len();
    if length != expected_length {
        return Err(Rejection::new(
            FailureInfo::BadDataFormat,
            format!(
                "message imprint is {length} bytes but {} digests are {expected_length} bytes",
                algorithm.oid
            ),
        ));
    }

    // SPEC(RFC 3161 §2.4.2), on TSTInfo.policy: "If a similar field was present in the
    // TimeStampReq, then it MUST have the same value, otherwise an error (unacceptedPolicy)
    // MUST be returned."
    if let Some(policy) = request.req_policy
        && !accepted_policies.contains(&policy)
    {
        return Err(Rejection::new(
            FailureInfo::UnacceptedPolicy,
            format!("policy {policy} is not accepted by this TSA"),
        ));
    }

    // SPEC(RFC 3161 §2.4.1): "If an extension, whether it is marked critical or not critical,
    // is used by a requester but is not recognized by a time-stamping server, the server SHALL
    // not issue a token and SHALL return a failure (unacceptedExtension)." This TSA recognizes
    // no request extension.
    if let Some(extensions) = &request.extensions {
        let names: Vec<String> = extensions.iter().map(|e| e.extn_id.to_string()).collect();
        return Err(Rejection::new(
            FailureInfo::UnacceptedExtension,
            format!("request extensions are not supported: {}", names.join(", ")),
        ));
    }

    Ok(())
}

/// Encodes `value` as an ASN.1 INTEGER, letting `der` choose the minimal two's-complement form.
fn int_from_u64(value: u64) -> der::Result<Int> {
    Int::from_der(&value.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_request(length: usize) -> TimeStampReq {
        TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifier {
                    oid: ID_SHA256,
                    parameters: None,
                },
                hashed_message: OctetString::new(vec![7u8; length]).expect("octet string"),
            },
            req_policy: None,
            nonce: None,
            cert_req: false,
            extensions: None,
        }
    }

    #[test]
    fn der_request_round_trips() {
        let mut request = sha256_request(32);
        request.nonce = Some(int_from_u64(u64::MAX).expect("nonce"));
        request.cert_req = true;
        let der = request.to_der().expect("encode");
        assert_eq!(parse_der_request(&der).expect("parse"), request);
    }

    #[test]
    fn der_request_with_trailing_bytes_is_malformed() {
        let mut der = sha256_request(32).to_der().expect("encode");
        der.push(0);
        assert!(matches!(
            parse_der_request(&der),
            Err(MalformedRequest::NotTimeStampReq(_))
        ));
    }

    #[test]
    fn truncated_der_request_is_malformed_at_every_length() {
        let der = sha256_request(32).to_der().expect("encode");
        for end in 0..der.len() {
            assert!(
                parse_der_request(&der[..end]).is_err(),
                "prefix of {end} bytes"
            );
        }
    }

    #[test]
    fn explicit_false_cert_req_is_accepted() {
        // BER writes a DEFAULT value explicitly; DER omits it. Some encoders send `certReq FALSE`.
        let der = sha256_request(32).to_der().expect("encode");
        let mut content = der[2..].to_vec();
        content.extend_from_slice(&[0x01, 0x01, 0x00]);
        let mut with_false = vec![0x30, u8::try_from(content.len()).expect("short form")];
        with_false.extend_from_slice(&content);
        let request = parse_der_request(&with_false).expect("explicit FALSE decodes");
        assert!(!request.cert_req);
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Ok(request) = parse_der_request(&body) {
                let _ = check_request(&request, &[crate::asn1::SIGSTORE_TSA_POLICY]);
            }
            if let Ok(request) = parse_json_request(&body) {
                let _ = check_request(&request, &[crate::asn1::SIGSTORE_TSA_POLICY]);
            }
        }

        #[test]
        fn mutated_requests_never_panic(position in 0usize..64, value in proptest::prelude::any::<u8>()) {
            let mut request = sha256_request(32);
            request.nonce = Some(int_from_u64(0x1234_5678_9abc_def0).expect("nonce"));
            request.cert_req = true;
            let mut der = request.to_der().expect("encode");
            let index = position % der.len();
            der[index] = value;
            if let Ok(request) = parse_der_request(&der) {
                let _ = check_request(&request, &[crate::asn1::SIGSTORE_TSA_POLICY]);
            }
        }
    }

    #[test]
    fn json_request_becomes_time_stamp_req() {
        let body = br#"{"artifactHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","hashAlgorithm":"sha256","nonce":18446744073709551615,"certificates":true,"tsaPolicyOID":"1.2.3"}"#;
        let request = parse_json_request(body).expect("parse");
        assert_eq!(request.message_imprint.hash_algorithm.oid, ID_SHA256);
        assert_eq!(request.message_imprint.hashed_message.as_bytes(), [0u8; 32]);
        assert!(request.cert_req);
        assert_eq!(
            request.req_policy,
            Some(ObjectIdentifier::new_unwrap("1.2.3"))
        );
        let nonce = request.nonce.expect("nonce");
        assert_eq!(
            nonce.as_bytes(),
            [0, 255, 255, 255, 255, 255, 255, 255, 255]
        );
    }

    #[test]
    fn json_request_errors_are_typed() {
        let cases: [(&[u8], &str); 5] = [
            (b"{", "malformed_json_request"),
            (br#"{"hashAlgorithm":"sha256"}"#, "malformed_json_request"),
            (
                br#"{"artifactHash":"%%%","hashAlgorithm":"sha256"}"#,
                "invalid_artifact_hash",
            ),
            (
                br#"{"artifactHash":"","hashAlgorithm":"sha256","tsaPolicyOID":"x"}"#,
                "invalid_policy_oid",
            ),
            (
                br#"{"artifactHash":"","hashAlgorithm":"sha256","nonce":-1}"#,
                "invalid_nonce",
            ),
        ];
        for (body, kind) in cases {
            match parse_json_request(body) {
                Err(JsonRequestError::Malformed(error)) => assert_eq!(error.kind(), kind),
                other => panic!("{}: got {other:?}", String::from_utf8_lossy(body)),
            }
        }
    }

    #[test]
    fn unknown_json_hash_algorithm_is_bad_alg() {
        let body = br#"{"artifactHash":"","hashAlgorithm":"md5"}"#;
        match parse_json_request(body) {
            Err(JsonRequestError::Rejected(rejection)) => {
                assert_eq!(rejection.failure_info, FailureInfo::BadAlg)
            }
            other => panic!("got {other:?}"),
        }
    }

    #[test]
    fn check_request_rejections() {
        let accepted = [crate::asn1::SIGSTORE_TSA_POLICY];
        assert_eq!(check_request(&sha256_request(32), &accepted), Ok(()));

        let short = check_request(&sha256_request(31), &accepted).expect_err("the check must fail");
        assert_eq!(short.failure_info, FailureInfo::BadDataFormat);

        let mut sha1 = sha256_request(20);
        sha1.message_imprint.hash_algorithm.oid = ID_SHA1;
        assert_eq!(
            check_request(&sha1, &accepted)
                .expect_err("SHA-1")
                .failure_info,
            FailureInfo::BadAlg
        );

        let mut policy = sha256_request(32);
        policy.req_policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4"));
        let rejection = check_request(&policy, &accepted).expect_err("the check must fail");
        assert_eq!(rejection.failure_info, FailureInfo::UnacceptedPolicy);

        let mut parameters = sha256_request(32);
        parameters.message_imprint.hash_algorithm.parameters =
            Some(Any::encode_from(&true).expect("BOOLEAN"));
        let rejection = check_request(&parameters, &accepted).expect_err("the check must fail");
        assert_eq!(rejection.failure_info, FailureInfo::BadAlg);
    }
}
