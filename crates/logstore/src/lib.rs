//! An append-only RFC 6962 verifiable log stored in PostgreSQL, shared by the transparency log
//! and the certificate-transparency log.
//!
//! The store keeps these promises, each checked by the tests in `tests/`:
//!
//! - **Acknowledged means durable.** [`LogStore::append`] resolves only after the transaction
//!   that stored the leaf, its Merkle nodes, its search keys and the new signed tree head has
//!   committed.
//! - **Never fork, never roll back.** Integration locks the log's row (`SELECT ... FOR UPDATE`),
//!   so any number of processes may append to one log and the tree size only grows.
//! - **Batching.** Concurrent appends queue up while a batch commits and are integrated together
//!   in the next transaction, one commit per batch.
//! - **Proofs in O(log n).** Roots and proofs read at most 64 stored hashes per proof element.
//! - **Duplicates** are found by the caller-chosen identity and reported with the existing index.
#![forbid(unsafe_code)]

mod batcher;
mod integrate;
mod search;
mod store;

pub use batcher::Appender;
pub use search::MAX_SEARCH_KEY_BYTES;
pub use store::{LogStore, SignedHead, StoredLeaf};

pub use sigstack_merkle::Hash;

use std::time::SystemTime;

/// Embedded migrations for the whole sigstack schema.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Applies pending migrations. Safe to call from several processes at once: sqlx serializes
/// migrations with an advisory lock.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), StoreError> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|error| StoreError::Migration(error.to_string()))
}

/// A log's fixed identity, stored when the log is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    /// Positive 63-bit random identifier (Rekor's tree ID), fixed for the life of the log.
    pub tree_id: i64,
    pub name: String,
    /// First line of every checkpoint, e.g. `rekor.example.com - 1193050959916656506`.
    pub origin: String,
    /// Key name on checkpoint signature lines.
    pub signer_name: String,
}

/// Signs tree heads in the owner's format: a checkpoint note for the transparency log, a
/// `TreeHeadSignature` for the CT log. Called inside the integration transaction, so a tree
/// head is never committed without its signature.
pub trait HeadSigner: Send + Sync + std::fmt::Debug + 'static {
    fn sign_head(
        &self,
        log: &LogInfo,
        tree_size: u64,
        root_hash: &Hash,
        timestamp: SystemTime,
    ) -> Result<Vec<u8>, String>;
}

/// A leaf to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLeaf {
    /// Duplicate detection key; two leaves with the same identity are one entry.
    pub identity: Vec<u8>,
    /// The Merkle leaf value, hashed as `SHA-256(0x00 || leaf_value)`.
    pub leaf_value: Vec<u8>,
    /// Data stored beside the leaf but outside the tree (the CT log's certificate chain).
    pub extra_data: Option<Vec<u8>>,
    /// Search keys written in the same transaction as the leaf.
    pub search_keys: Vec<String>,
}

/// The outcome of one append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The leaf was integrated; `proof` proves it in the tree of `head`.
    Integrated {
        leaf_index: u64,
        leaf_hash: Hash,
        integrated_time_ms: i64,
        proof: Vec<Hash>,
        head: SignedHead,
    },
    /// An entry with the same identity already exists at `leaf_index`.
    Duplicate { leaf_index: u64 },
}

/// Store errors, by who is at fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database failed or could not be reached. Kept as text so that one failed batch can
    /// report the same error to every waiting caller.
    #[error("database error: {0}")]
    Database(String),
    #[error("failed to apply database migrations: {0}")]
    Migration(String),
    #[error("failed to sign tree head: {0}")]
    Signing(String),
    #[error("stored log data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Merkle(#[from] sigstack_merkle::MerkleError),
    #[error("the log's integrator has stopped; the service is shutting down")]
    Closed,
    #[error("log {0:?} does not exist")]
    UnknownLog(String),
}

impl sigstack_server::ErrorKind for StoreError {
    fn kind(&self) -> &'static str {
        match self {
            Self::Database(_) => "database",
            Self::Migration(_) => "migration",
            Self::Signing(_) => "signing",
            Self::Corrupt(_) => "corrupt_store",
            Self::Merkle(_) => "merkle",
            Self::Closed => "shutting_down",
            Self::UnknownLog(_) => "unknown_log",
        }
    }

    fn fault(&self) -> sigstack_server::Fault {
        match self {
            Self::Database(_) => sigstack_server::Fault::Dependency,
            _ => sigstack_server::Fault::Server,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.to_string())
    }
}

pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("value {value} exceeds i64")))
}

pub(crate) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative stored value {value}")))
}

pub(crate) fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes.try_into().map_err(|_| {
        StoreError::Corrupt(format!(
            "stored hash has {} bytes, expected 32",
            bytes.len()
        ))
    })
}
