//! An RFC 3161 timestamp authority that speaks the HTTP API of Sigstore's timestamp server.
//!
//! `POST /api/v1/timestamp` takes a DER `TimeStampReq` (`application/timestamp-query`) or the
//! JSON request that sigstore-js sends, and returns a DER `TimeStampResp`
//! (`application/timestamp-reply`). The token is a CMS SignedData over a TSTInfo, signed with
//! ECDSA, naming the signer by issuer and serial number, with the signed attributes
//! contentType, signingTime, messageDigest and signingCertificateV2, every SET OF in DER order.
//! `GET /api/v1/timestamp/certchain` returns the PEM chain, TSA certificate first.
//!
//! Where this TSA differs from Sigstore's: a well-formed request that is refused (hash
//! algorithm, imprint length, policy, extensions) gets HTTP 200 with a `TimeStampResp` whose
//! status is rejection, as RFC 3161 §2.4.2 requires, where Sigstore's server returns HTTP 400
//! with JSON. A body that does not decode gets HTTP 400 with JSON in both.
//!
//! Typical use:
//!
//! 1. [`init_material`] creates `keys/tsa.pem` and `trust/tsa-chain.pem` under the data
//!    directory when they are absent;
//! 2. [`Tsa::load`] reads them and runs the start-up checks of [`check_chain`];
//! 3. [`router`] serves every endpoint, including `/ping`, `/healthz`, `/readyz` and `/metrics`.
#![forbid(unsafe_code)]

pub mod asn1;
mod config;
mod key;
mod loadgen;
mod material;
mod profile;
pub mod request;
mod service;
mod token;

pub use config::{DEFAULT_MAX_REQUEST_BODY_BYTES, TsaConfig};
pub use key::TsaSigningKey;
pub use loadgen::{LoadReport, LoadgenError, loadgen};
pub use material::{
    DEFAULT_CHAIN_PATH, DEFAULT_KEY_PATH, InitReport, MaterialError, ProfileError, TsaMaterial,
    check_chain, init_material,
};
pub use service::{
    PEM_CERTIFICATE_CHAIN, StartupError, TIMESTAMP_QUERY, TIMESTAMP_REPLY, Tsa, TsaError, router,
};
pub use token::{TimestampSigner, TokenError, failure_response, rejection_response};
