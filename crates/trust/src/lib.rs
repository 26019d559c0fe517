//! The client trust files of a sigstack deployment.
//!
//! Sigstore clients learn which services to call and which keys to trust from three JSON
//! documents, all in the protobuf JSON mapping of `sigstore/protobuf-specs` (lowerCamelCase field
//! names, base64 DER, RFC 3339 times, enum names as strings):
//!
//! - `trusted_root.json` (`dev.sigstore.trustroot.v1.TrustedRoot`): the transparency log and CT
//!   log keys, the CA chain and the TSA chain, used to verify;
//! - `signing_config.v0.2.json` (`dev.sigstore.trustroot.v1.SigningConfig`): the CA, identity
//!   provider, transparency log and TSA URLs, used to sign;
//! - `trust_config.json` (`dev.sigstore.trustroot.v1.ClientTrustConfig`): both of the above in
//!   one file, which sigstore-python reads with `--trust-config`.
//!
//! [`TrustInputs`] contains what each service contributes, [`render`] turns it into the three
//! documents, and [`write_trust_files`] stores them under `<data dir>/trust/`. Nothing here does
//! network I/O.
#![forbid(unsafe_code)]

mod files;
mod inputs;
mod render;

pub use files::{
    SIGNING_CONFIG_FILE, TRUST_CONFIG_FILE, TRUST_DIR, TRUSTED_ROOT_FILE, WriteReport,
    write_trust_files,
};
pub use inputs::{
    CertificateAuthorityInput, IdentityProviderInput, LogInput, TimestampAuthorityInput,
    TrustInputs, certificate_chain_from_pem, not_before, spki_from_pem,
};
pub use render::{
    CLIENT_TRUST_CONFIG_MEDIA_TYPE, SIGNING_CONFIG_MEDIA_TYPE, TRUSTED_ROOT_MEDIA_TYPE, TrustFiles,
    parse_rfc3339, render, rfc3339_seconds,
};

use std::path::PathBuf;

/// Errors from checking trust inputs and writing trust files. Each names the input or file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("{field} URL {url:?} is invalid: {reason}")]
    InvalidUrl {
        field: &'static str,
        url: String,
        reason: String,
    },
    #[error("{field} public key is not usable in a trusted root: {reason}")]
    UnsupportedKey { field: &'static str, reason: String },
    #[error("{field} certificate {index} (0 is the first in the chain) is invalid: {reason}")]
    Certificate {
        field: &'static str,
        index: usize,
        reason: String,
    },
    #[error("{field} certificate chain is invalid: {reason}")]
    Chain { field: &'static str, reason: String },
    #[error("operator name is empty: set it to the organisation or domain that runs the stack")]
    EmptyOperator,
    #[error("invalid PEM input: {0}")]
    Pem(String),
    #[error("failed to encode {name} as JSON: {source}")]
    Encode {
        name: &'static str,
        source: serde_json::Error,
    },
    #[error("failed to write trust file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to read trust file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}
