//! A certificate-transparency log that speaks the RFC 6962 HTTP API, as ct-go's ctfe serves it
//! under `/<prefix>/ct/v1/`, stored in PostgreSQL through [`sigstack_logstore`].
//!
//! The CA submits each precertificate to add-pre-chain and embeds the returned SCT in the final
//! certificate. An SCT is returned only after the entry and the tree head that contains it have
//! committed, so the log's merge delay is zero.
#![forbid(unsafe_code)]

mod api;
mod chain;
mod config;
mod error;
mod head;
mod rfc6962;
mod roots;

use std::sync::Arc;

use prometheus::{IntCounterVec, Opts, Registry};
use sigstack_keys::LogSigner;
use sigstack_logstore::{Appender, LogStore, StoreError};
use sigstack_server::{Clock, Readiness, ReadinessReport};

pub use api::{MAX_GET_ENTRIES, MAX_REQUEST_BODY_BYTES, router};
pub use chain::MAX_CHAIN_CERTIFICATES;
pub use config::CtlogConfig;
pub use error::CtError;
pub use roots::{RootsError, load_roots};
pub use x509_cert::Certificate;

use chain::TrustedRoots;
use head::TreeHeadSigner;

/// Name of the CT log's row in the `logs` table.
pub const LOG_NAME: &str = "ct";

/// Errors that stop the CT log from starting.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid CT log roots: {0}")]
    Roots(String),
    #[error("failed to open the CT log store: {0}")]
    Store(#[from] StoreError),
    #[error("failed to register CT log metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A running CT log: its store, integrator, key, accepted roots and metrics.
#[derive(Debug)]
pub struct CtLog {
    config: CtlogConfig,
    store: LogStore,
    appender: Appender,
    signer: LogSigner,
    head_signer: Arc<TreeHeadSigner>,
    roots: TrustedRoots,
    clock: Arc<dyn Clock>,
    /// `ctlog_submissions_total{entry_type, outcome}`, outcome `new` or `duplicate`.
    submissions: IntCounterVec,
}

impl CtLog {
    /// Opens (or on first start creates) the log named [`LOG_NAME`] in `pool` and starts its
    /// integrator. The pool must already be migrated. `roots` must be self-signed; chains are
    /// accepted when they lead to any of them.
    pub async fn open(
        config: CtlogConfig,
        pool: sqlx::PgPool,
        signer: LogSigner,
        roots: Vec<Certificate>,
        clock: Arc<dyn Clock>,
        registry: &Registry,
    ) -> Result<Arc<Self>, OpenError> {
        let roots = TrustedRoots::new(roots).map_err(OpenError::Roots)?;
        let head_signer = Arc::new(TreeHeadSigner::new(signer.clone()));

        // RFC 6962 logs have no checkpoint origin; the store keeps the log URL without its
        // scheme there, the origin a static-ct-api checkpoint would use.
        let log_url = config.log_url();
        let origin = log_url
            .split_once("://")
            .map_or(log_url.as_str(), |(_, rest)| rest)
            .to_owned();
        let store = LogStore::open_or_create(
            pool,
            LOG_NAME,
            |_| origin.clone(),
            &origin,
            head_signer.as_ref(),
            clock.now(),
        )
        .await?;
        let appender = Appender::start(store.clone(), head_signer.clone(), clock.clone());

        let submissions = IntCounterVec::new(
            Opts::new(
                "ctlog_submissions_total",
                "Chains accepted by add-chain and add-pre-chain",
            ),
            &["entry_type", "outcome"],
        )?;
        registry.register(Box::new(submissions.clone()))?;

        tracing::info!(
            tree_id = store.info().tree_id,
            log_id = %hex::encode(signer.key_id()),
            roots = roots.ders().count(),
            url = %log_url,
            "certificate-transparency log ready"
        );
        Ok(Arc::new(Self {
            config,
            store,
            appender,
            signer,
            head_signer,
            roots,
            clock,
            submissions,
        }))
    }

    pub fn store(&self) -> &LogStore {
        &self.store
    }

    pub fn config(&self) -> &CtlogConfig {
        &self.config
    }

    /// SHA-256 of the log key's DER SubjectPublicKeyInfo: the RFC 6962 log ID.
    pub fn log_id(&self) -> [u8; 32] {
        self.signer.key_id()
    }

    pub fn public_key_pem(&self) -> String {
        self.signer.public_key_pem()
    }
}

impl Readiness for CtLog {
    async fn check(&self) -> ReadinessReport {
        let mut report = ReadinessReport::default();
        self.store.check_readiness(&mut report, "tree_head").await;
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
