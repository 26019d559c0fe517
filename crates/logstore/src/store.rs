//! Opening a log and reading from it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use rand::Rng;
use sigstack_merkle::{EMPTY_ROOT, Hash, NodeId};
use sqlx::{PgExecutor, PgPool, Row};

use crate::{HeadSigner, LogInfo, StoreError, to_hash, to_i64, to_u64};

/// A signed tree head as stored: size, root and the owner's signed encoding of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHead {
    pub tree_size: u64,
    pub root_hash: Hash,
    pub signed_head: Vec<u8>,
}

/// A leaf as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeaf {
    pub leaf_index: u64,
    pub leaf_hash: Hash,
    pub leaf_value: Vec<u8>,
    pub extra_data: Option<Vec<u8>>,
    pub integrated_time_ms: i64,
}

/// Read access to one log, and the identity needed to append to it (see [`crate::Appender`]).
#[derive(Debug, Clone)]
pub struct LogStore {
    pub(crate) pool: PgPool,
    pub(crate) info: Arc<LogInfo>,
}

impl LogStore {
    /// Opens the log called `name`, creating it on first use with a random tree ID, the origin
    /// that `make_origin` builds from that ID, `signer_name`, and a signed empty tree head.
    ///
    /// The origin and signer name of an existing log are kept even if the arguments differ,
    /// because every checkpoint the log has published names them.
    pub async fn open_or_create(
        pool: PgPool,
        name: &str,
        make_origin: impl FnOnce(i64) -> String,
        signer_name: &str,
        signer: &dyn HeadSigner,
        now: SystemTime,
    ) -> Result<Self, StoreError> {
        if let Some(info) = Self::load_info(&pool, name).await? {
            return Ok(Self {
                pool,
                info: Arc::new(info),
            });
        }

        // Rekor requires a positive tree ID that is never 0; it appears in entry IDs.
        let tree_id: i64 = rand::thread_rng().gen_range(1..=i64::MAX);
        let info = LogInfo {
            tree_id,
            name: name.to_owned(),
            origin: make_origin(tree_id),
            signer_name: signer_name.to_owned(),
        };
        let signed_head = signer
            .sign_head(&info, 0, &EMPTY_ROOT, now)
            .map_err(StoreError::Signing)?;

        // Two processes may create the log at once: the unique name lets exactly one win, and
        // both then load the winner's row.
        let mut transaction = pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO logs (tree_id, name, origin, signer_name, tree_size, root_hash, signed_head)
             VALUES ($1, $2, $3, $4, 0, $5, $6)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(tree_id)
        .bind(name)
        .bind(&info.origin)
        .bind(signer_name)
        .bind(EMPTY_ROOT.as_slice())
        .bind(&signed_head)
        .execute(&mut *transaction)
        .await?
        .rows_affected();
        if inserted == 1 {
            sqlx::query(
                "INSERT INTO signed_heads (tree_id, tree_size, root_hash, signed_head)
                 VALUES ($1, 0, $2, $3)",
            )
            .bind(tree_id)
            .bind(EMPTY_ROOT.as_slice())
            .bind(&signed_head)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        if inserted == 1 {
            tracing::info!(log = name, tree_id, origin = %info.origin, "created log");
        }

        let info = Self::load_info(&pool, name)
            .await?
            .ok_or_else(|| StoreError::UnknownLog(name.to_owned()))?;
        Ok(Self {
            pool,
            info: Arc::new(info),
        })
    }

    async fn load_info(pool: &PgPool, name: &str) -> Result<Option<LogInfo>, StoreError> {
        let row = sqlx::query("SELECT tree_id, origin, signer_name FROM logs WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?;
        Ok(row.map(|row| LogInfo {
            tree_id: row.get("tree_id"),
            name: name.to_owned(),
            origin: row.get("origin"),
            signer_name: row.get("signer_name"),
        }))
    }

    pub fn info(&self) -> &LogInfo {
        &self.info
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Adds the store's readiness checks to `report`: the database answers, and the latest
    /// signed tree head (recorded under `head_check`) can be read.
    pub async fn check_readiness(
        &self,
        report: &mut sigstack_server::ReadinessReport,
        head_check: &'static str,
    ) {
        let database = sqlx::query("SELECT 1").execute(&self.pool).await;
        report.check(
            "database",
            database.map(drop).map_err(|error| error.to_string()),
        );
        let head = self.head().await;
        report.check(
            head_check,
            head.map(drop).map_err(|error| error.to_string()),
        );
    }

    /// Reads the latest committed signed tree head.
    pub async fn head(&self) -> Result<SignedHead, StoreError> {
        let row =
            sqlx::query("SELECT tree_size, root_hash, signed_head FROM logs WHERE tree_id = $1")
                .bind(self.info.tree_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(SignedHead {
            tree_size: to_u64(row.get("tree_size"))?,
            root_hash: to_hash(row.get("root_hash"))?,
            signed_head: row.get("signed_head"),
        })
    }

    /// Reads every signed tree head the log has committed, oldest first.
    pub async fn signed_heads(&self) -> Result<Vec<SignedHead>, StoreError> {
        let rows = sqlx::query(
            "SELECT tree_size, root_hash, signed_head FROM signed_heads
             WHERE tree_id = $1 ORDER BY tree_size",
        )
        .bind(self.info.tree_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(SignedHead {
                    tree_size: to_u64(row.get("tree_size"))?,
                    root_hash: to_hash(row.get("root_hash"))?,
                    signed_head: row.get("signed_head"),
                })
            })
            .collect()
    }

    pub async fn leaf_by_index(&self, leaf_index: u64) -> Result<Option<StoredLeaf>, StoreError> {
        // Indexes are stored as bigint, so a larger one (a client's, never a stored value) names
        // no leaf.
        let Ok(leaf_index) = i64::try_from(leaf_index) else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT leaf_index, leaf_hash, leaf_value, extra_data, integrated_time
             FROM leaves WHERE tree_id = $1 AND leaf_index = $2",
        )
        .bind(self.info.tree_id)
        .bind(leaf_index)
        .fetch_optional(&self.pool)
        .await?;
        row.map(leaf_from_row).transpose()
    }

    /// Finds a leaf by its Merkle leaf hash. When several leaves share the hash (possible only
    /// in logs whose identity is not the leaf hash), returns the first.
    pub async fn leaf_by_hash(&self, leaf_hash: &Hash) -> Result<Option<StoredLeaf>, StoreError> {
        let row = sqlx::query(
            "SELECT leaf_index, leaf_hash, leaf_value, extra_data, integrated_time
             FROM leaves WHERE tree_id = $1 AND leaf_hash = $2 ORDER BY leaf_index LIMIT 1",
        )
        .bind(self.info.tree_id)
        .bind(leaf_hash.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        row.map(leaf_from_row).transpose()
    }

    /// Reads leaves `start..end` in index order.
    pub async fn leaves(&self, start: u64, end: u64) -> Result<Vec<StoredLeaf>, StoreError> {
        let rows = sqlx::query(
            "SELECT leaf_index, leaf_hash, leaf_value, extra_data, integrated_time
             FROM leaves WHERE tree_id = $1 AND leaf_index >= $2 AND leaf_index < $3
             ORDER BY leaf_index",
        )
        .bind(self.info.tree_id)
        .bind(to_i64(start)?)
        .bind(to_i64(end)?)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(leaf_from_row).collect()
    }

    /// Leaf indexes stored under a search key, ascending.
    pub async fn search(&self, lookup_key: &str) -> Result<Vec<u64>, StoreError> {
        // No stored key fails this test, and PostgreSQL would reject a NUL in the query.
        if !crate::search::is_storable(lookup_key) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT leaf_index FROM search_index WHERE tree_id = $1 AND lookup_key = $2
             ORDER BY leaf_index",
        )
        .bind(self.info.tree_id)
        .bind(lookup_key)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| to_u64(row.get("leaf_index")))
            .collect()
    }

    /// Computes the inclusion proof of leaf `leaf_index` in the tree of `tree_size` leaves.
    pub async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let needed = sigstack_merkle::inclusion_proof_nodes(leaf_index, tree_size)?;
        let nodes = fetch_nodes(&self.pool, self.info.tree_id, &needed).await?;
        Ok(sigstack_merkle::inclusion_proof(
            leaf_index,
            tree_size,
            |id| nodes.get(&id).copied(),
        )?)
    }

    /// Computes the consistency proof from tree size `old` to `new`.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        let needed = sigstack_merkle::consistency_proof_nodes(old, new)?;
        let nodes = fetch_nodes(&self.pool, self.info.tree_id, &needed).await?;
        Ok(sigstack_merkle::consistency_proof(old, new, |id| {
            nodes.get(&id).copied()
        })?)
    }

    /// Recomputes the root hash of the tree of `tree_size` leaves from stored nodes.
    pub async fn root_at(&self, tree_size: u64) -> Result<Hash, StoreError> {
        let needed = sigstack_merkle::root_nodes(tree_size);
        let nodes = fetch_nodes(&self.pool, self.info.tree_id, &needed).await?;
        Ok(sigstack_merkle::tree_root(tree_size, |id| {
            nodes.get(&id).copied()
        })?)
    }
}

fn leaf_from_row(row: sqlx::postgres::PgRow) -> Result<StoredLeaf, StoreError> {
    Ok(StoredLeaf {
        leaf_index: to_u64(row.get("leaf_index"))?,
        leaf_hash: to_hash(row.get("leaf_hash"))?,
        leaf_value: row.get("leaf_value"),
        extra_data: row.get("extra_data"),
        integrated_time_ms: row.get("integrated_time"),
    })
}

/// Reads stored node hashes in one query: level 0 from `leaves`, higher levels from
/// `tree_nodes`. Nodes not found are absent from the map, and the Merkle functions report them.
pub(crate) async fn fetch_nodes<'e>(
    executor: impl PgExecutor<'e>,
    tree_id: i64,
    nodes: &[NodeId],
) -> Result<HashMap<NodeId, Hash>, StoreError> {
    let mut leaf_indexes = Vec::new();
    let mut levels = Vec::new();
    let mut node_indexes = Vec::new();
    for node in nodes {
        if node.level == 0 {
            leaf_indexes.push(to_i64(node.index)?);
        } else {
            levels.push(i16::from(node.level));
            node_indexes.push(to_i64(node.index)?);
        }
    }
    let rows = sqlx::query(
        "SELECT 0::smallint AS level, leaf_index AS node_index, leaf_hash AS hash
         FROM leaves WHERE tree_id = $1 AND leaf_index = ANY($2)
         UNION ALL
         SELECT n.level, n.node_index, n.hash
         FROM tree_nodes n JOIN UNNEST($3::smallint[], $4::bigint[]) AS w (level, node_index)
           ON n.level = w.level AND n.node_index = w.node_index
         WHERE n.tree_id = $1",
    )
    .bind(tree_id)
    .bind(&leaf_indexes)
    .bind(&levels)
    .bind(&node_indexes)
    .fetch_all(executor)
    .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let level: i16 = row.get("level");
        let level = u8::try_from(level)
            .map_err(|_| StoreError::Corrupt(format!("stored node level {level} out of range")))?;
        let index = to_u64(row.get("node_index"))?;
        found.insert(NodeId::new(level, index), to_hash(row.get("hash"))?);
    }
    Ok(found)
}
