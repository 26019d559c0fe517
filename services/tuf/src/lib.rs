//! A TUF 1.0 repository that publishes a sigstack deployment's trust root to Sigstore clients.
//!
//! The repository uses consistent snapshots, as sigstore/root-signing does, and lists
//! `trusted_root.json`, `signing_config.v0.2.json` and the legacy per-key targets that gitsign
//! and older cosign read. The root key is offline: it signs root versions only. The targets,
//! snapshot and timestamp keys are online, so the service publishes a new targets version when
//! the trust material changes and re-signs snapshot and timestamp before they expire. All keys
//! are ECDSA P-256 (`ecdsa-sha2-nistp256`).
//!
//! Typical use:
//!
//! 1. [`init_repository`] creates the keys and root version 1, and copies that root to
//!    `trust/root.json` for clients (`cosign initialize --root`, `sigstore trust-instance`);
//! 2. [`TufRepository::open`] loads the online keys;
//! 3. [`TufRepository::publish`] with [`sigstore_targets`] publishes the current trust material;
//! 4. [`router`] serves the repository and [`spawn_refresher`] calls
//!    [`TufRepository::refresh`] periodically.
#![forbid(unsafe_code)]

mod config;
pub mod metadata;
mod repository;
mod service;
mod targets;

use std::path::PathBuf;

pub use config::TufConfig;
pub use repository::{
    InitReport, ROOT_KEY_PATH, SNAPSHOT_KEY_PATH, SignedVersions, TARGETS_KEY_PATH,
    TIMESTAMP_KEY_PATH, TRUST_ANCHOR_PATH, TUF_DIR, Target, TufRepository, init_repository,
};
pub use service::{router, spawn_refresher};
pub use targets::sigstore_targets;

/// Errors from the repository. Each names the file or key involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TufError {
    #[error(transparent)]
    KeyFile(#[from] sigstack_keys::KeyError),
    #[error("TUF key problem: {0}")]
    Key(String),
    #[error(transparent)]
    Trust(#[from] sigstack_trust::TrustError),
    #[error("invalid TUF metadata: {0}")]
    Metadata(String),
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("internal error: {0}")]
    Internal(String),
}
