//! A short-lived code-signing certificate authority that speaks the HTTP API of Sigstore's
//! Fulcio.
//!
//! `POST /api/v2/signingCert` takes an OIDC identity token (in the body or as a Bearer header)
//! and either a public key with a proof of possession or a PKCS#10 CSR. The CA verifies the
//! token against its issuer's JWKS and maps the claims to a subject alternative name and the
//! Sigstore extensions. It logs a precertificate in the CT log and returns the certificate with
//! the SCT embedded, followed by the CA chain. The legacy `POST /api/v1/signingCert` (HTTP 201, PEM
//! chain) serves gitsign; `GET /api/v2/trustBundle`, `GET /api/v2/configuration` and
//! `GET /api/v1/rootCert` publish the chain and the issuers.
//!
//! Typical use:
//!
//! 1. [`init_material`] creates `keys/ca.pem` and `trust/ca-chain.pem` under the data directory
//!    when they are absent;
//! 2. [`Ca::load`] checks the configuration, the key and the chain;
//! 3. [`router`] serves every endpoint, including `/ping`, `/healthz`, `/readyz` and `/metrics`.
#![forbid(unsafe_code)]

mod config;
pub mod ct;
pub mod extensions;
mod issue;
mod material;
mod oidc;
mod pattern;
mod principal;
mod public_key;
mod service;

pub use config::{
    CaConfig, ConfigError, DEFAULT_CHAIN_PATH, DEFAULT_CLIENT_ID, DEFAULT_KEY_PATH,
    DEFAULT_MAX_REQUEST_BODY_BYTES, DEFAULT_VALIDITY_SECONDS, IssuerConfig, IssuerType,
    MAX_VALIDITY_SECONDS, OidcConfig,
};
pub use issue::{CaError, IssuedCertificate, KeyRequest, SERIAL_NUMBER_BYTES};
pub use material::{
    CaMaterial, CaSigningKey, ChainError, InitReport, MaterialError, check_chain, init_material,
};
pub use oidc::{MIN_JWKS_REFRESH_INTERVAL, TokenError};
pub use pattern::MetaIssuerPattern;
pub use principal::{Principal, SubjectAltName};
pub use public_key::KeyRejection;
pub use service::{Ca, PEM_CERTIFICATE_CHAIN, StartupError, router};
