//! A transparency log that speaks the Rekor v1 REST API, stored in PostgreSQL.
//!
//! Entries (`hashedrekord` 0.0.1, `dsse` 0.0.1, `intoto` 0.0.2) are verified and canonicalized as
//! upstream Rekor does, then appended through [`sigstack_logstore`]. Each comes back with a signed
//! entry timestamp, an inclusion proof and a signed checkpoint, in the form that cosign,
//! sigstore-python, sigstore-js, gitsign and rekor-cli accept.
#![forbid(unsafe_code)]

mod api;
mod config;
mod entry;
mod error;
mod kinds;
pub mod loadgen;
mod pki;
mod prehash;
mod signer;

use std::sync::Arc;

use prometheus::{IntCounterVec, Opts, Registry};
use sigstack_keys::LogSigner;
use sigstack_logstore::{Appender, LogStore, StoreError};
use sigstack_server::{Clock, Readiness, ReadinessReport};

pub use api::router;
pub use config::{DEFAULT_MAX_BODY_BYTES, TlogConfig};
pub use entry::entry_id;
pub use error::ApiError;

/// Validates and canonicalizes a proposed Rekor entry, returning the canonical body (the leaf
/// value). Exposed for fuzzing and for tools that precompute entry UUIDs.
pub fn canonicalize_entry(proposed: &serde_json::Value) -> Result<Vec<u8>, ApiError> {
    kinds::canonicalize(proposed).map(|entry| entry.body)
}

/// Name of the transparency log's row in the `logs` table.
pub const LOG_NAME: &str = "rekor";

/// A running transparency log: its store, integrator, key and metrics.
#[derive(Debug)]
pub struct Tlog {
    config: TlogConfig,
    store: LogStore,
    appender: Appender,
    signer: LogSigner,
    new_entries: IntCounterVec,
}

impl Tlog {
    /// Opens (or on first start creates) the log in `pool` and starts its integrator. The pool
    /// must already be migrated.
    pub async fn open(
        config: TlogConfig,
        pool: sqlx::PgPool,
        signer: LogSigner,
        clock: Arc<dyn Clock>,
        registry: &Registry,
    ) -> Result<Arc<Self>, StoreError> {
        let host = config.public_host();
        let head_signer = Arc::new(signer::CheckpointSigner {
            signer: signer.clone(),
        });
        let store = LogStore::open_or_create(
            pool,
            LOG_NAME,
            |tree_id| format!("{host} - {tree_id}"),
            &host,
            head_signer.as_ref(),
            clock.now(),
        )
        .await?;
        if store.info().signer_name != host {
            tracing::warn!(
                stored = %store.info().signer_name,
                configured = %host,
                "tlog.public_url host differs from the name the log was created with; checkpoints keep the original name"
            );
        }
        let appender = Appender::start(store.clone(), head_signer, clock);
        let new_entries = IntCounterVec::new(
            Opts::new("rekor_new_entries", "Entries added to the log, by kind"),
            &["kind"],
        )
        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        if let Err(error) = registry.register(Box::new(new_entries.clone())) {
            tracing::warn!(%error, "failed to register rekor_new_entries");
        }
        tracing::info!(
            tree_id = store.info().tree_id,
            origin = %store.info().origin,
            log_id = %hex::encode(signer.key_id()),
            "transparency log ready"
        );
        Ok(Arc::new(Self {
            config,
            store,
            appender,
            signer,
            new_entries,
        }))
    }

    pub fn store(&self) -> &LogStore {
        &self.store
    }

    pub fn config(&self) -> &TlogConfig {
        &self.config
    }

    /// Hex SHA-256 of the log key's SubjectPublicKeyInfo.
    pub fn log_id(&self) -> String {
        hex::encode(self.signer.key_id())
    }

    pub fn public_key_pem(&self) -> String {
        self.signer.public_key_pem()
    }
}

impl Readiness for Tlog {
    async fn check(&self) -> ReadinessReport {
        let mut report = ReadinessReport::default();
        self.store.check_readiness(&mut report, "checkpoint").await;
        let probe = self.signer.sign(b"readiness probe");
        report.check(
            "signer",
            if probe.is_empty() {
                Err("signer returned nothing".into())
            } else {
                Ok(())
            },
        );
        report
    }
}
