//! The `[tsa]` section of `sigstack.toml`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::material::{DEFAULT_CHAIN_PATH, DEFAULT_KEY_PATH};

/// Default request body limit. A TimeStampReq without extensions is under 200 bytes, and the
/// JSON form under 300. 64 KiB leaves room for long nonces and for extension lists that are read
/// only to be rejected, and it bounds what one request can make the server buffer.
pub const DEFAULT_MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

/// Configuration of the timestamp authority. Unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TsaConfig {
    /// Address to listen on. Default `127.0.0.1:3003`.
    pub listen: SocketAddr,
    /// Base URL that clients use, published in the trust root and signing config with
    /// `/api/v1/timestamp` appended. Default `http://127.0.0.1:3003`.
    pub public_url: url::Url,
    /// TSA policy OID put in TSTInfo when the request names none. Default
    /// `1.3.6.1.4.1.57264.2`, the policy of Sigstore's public TSA.
    pub policy_oid: String,
    /// Further policy OIDs that a request may name in reqPolicy; the token then carries the
    /// requested one. A request naming any other policy is rejected with unacceptedPolicy.
    pub extra_policy_oids: Vec<String>,
    /// Return HTTP 201 instead of 200 for a granted request, as Sigstore's server does with
    /// `--use-http-201`. Rejections always get 200, because RFC 3161 §2.4.2 puts the refusal in
    /// the TimeStampResp.
    pub use_http_201: bool,
    /// Largest request body accepted, in bytes; larger bodies get HTTP 413.
    pub max_request_body_bytes: usize,
    /// TSA private key, PKCS#8 PEM (encrypted or not), relative to the data directory unless
    /// absolute. Default `keys/tsa.pem`.
    pub key_path: PathBuf,
    /// PEM certificate chain, TSA certificate first and root last, relative to the data
    /// directory unless absolute. Default `trust/tsa-chain.pem`.
    pub chain_path: PathBuf,
    /// Require every intermediate certificate to list id-kp-timeStamping in its extended key
    /// usage. Default true; turn it off for a commercial CA whose intermediates do not.
    pub enforce_intermediate_eku: bool,
}

impl Default for TsaConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3003)),
            public_url: url::Url::parse("http://127.0.0.1:3003")
                .unwrap_or_else(|_| unreachable!("valid literal URL")),
            policy_oid: crate::asn1::SIGSTORE_TSA_POLICY.to_string(),
            extra_policy_oids: Vec::new(),
            use_http_201: false,
            max_request_body_bytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
            key_path: PathBuf::from(DEFAULT_KEY_PATH),
            chain_path: PathBuf::from(DEFAULT_CHAIN_PATH),
            enforce_intermediate_eku: true,
        }
    }
}
