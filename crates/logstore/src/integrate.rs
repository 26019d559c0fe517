//! Integrating one batch of leaves: the log's critical transaction.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use sigstack_merkle::{Hash, NodeId};
use sqlx::Row;

use crate::store::{SignedHead, fetch_nodes};
use crate::{AppendOutcome, HeadSigner, LogStore, NewLeaf, StoreError, to_i64, to_u64};

/// Appends `batch` to the log in one transaction and returns one outcome per leaf, in order.
///
/// A crash or error at any step before the commit leaves the log exactly as it was, and every
/// caller in the batch gets the error, so nothing is acknowledged that is not stored.
pub(crate) async fn integrate_batch(
    store: &LogStore,
    signer: &dyn HeadSigner,
    now: SystemTime,
    batch: &[NewLeaf],
) -> Result<Vec<AppendOutcome>, StoreError> {
    let tree_id = store.info.tree_id;
    let integrated_time_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0);

    // Lock the log's head. Other writers, in this process or another, wait here until we
    // commit or roll back, so the size read below is the size we extend.
    let mut transaction = store.pool.begin().await?;
    let head_row = sqlx::query("SELECT tree_size FROM logs WHERE tree_id = $1 FOR UPDATE")
        .bind(tree_id)
        .fetch_one(&mut *transaction)
        .await?;
    let old_size = to_u64(head_row.get("tree_size"))?;

    // Sort the batch into leaves that already exist, repeats within the batch, and new leaves.
    let identities: Vec<&[u8]> = batch.iter().map(|leaf| leaf.identity.as_slice()).collect();
    let existing_rows = sqlx::query(
        "SELECT identity, leaf_index FROM leaves WHERE tree_id = $1 AND identity = ANY($2)",
    )
    .bind(tree_id)
    .bind(&identities)
    .fetch_all(&mut *transaction)
    .await?;
    let mut known: HashMap<Vec<u8>, u64> = HashMap::with_capacity(existing_rows.len());
    for row in existing_rows {
        known.insert(row.get("identity"), to_u64(row.get("leaf_index"))?);
    }
    let mut placement: Vec<Placement> = Vec::with_capacity(batch.len());
    let mut new_leaves: Vec<(&NewLeaf, Hash)> = Vec::new();
    for leaf in batch {
        if let Some(&index) = known.get(&leaf.identity) {
            placement.push(Placement::Existing(index));
            continue;
        }
        let index = old_size + new_leaves.len() as u64;
        known.insert(leaf.identity.clone(), index);
        new_leaves.push((leaf, sigstack_merkle::leaf_hash(&leaf.leaf_value)));
        placement.push(Placement::New(index));
    }
    if new_leaves.is_empty() {
        transaction.rollback().await?;
        return Ok(placement
            .into_iter()
            .map(|place| AppendOutcome::Duplicate {
                leaf_index: place.index(),
            })
            .collect());
    }

    // Compute the new Merkle nodes from the right edge of the current tree.
    let edge_ids = sigstack_merkle::root_nodes(old_size);
    let mut nodes = fetch_nodes(&mut *transaction, tree_id, &edge_ids).await?;
    let leaf_hashes: Vec<Hash> = new_leaves.iter().map(|(_, hash)| *hash).collect();
    let created =
        sigstack_merkle::append_leaves(old_size, &leaf_hashes, |id| nodes.get(&id).copied())?;
    nodes.extend(created.iter().copied());
    let new_size = old_size + new_leaves.len() as u64;
    let new_root = sigstack_merkle::tree_root(new_size, |id| nodes.get(&id).copied())?;

    // Insert the leaves, the interior nodes and the search keys. Nothing is visible to readers
    // until the commit, and readers only follow the committed head.
    insert_leaves(
        &mut transaction,
        tree_id,
        old_size,
        &new_leaves,
        integrated_time_ms,
    )
    .await?;
    insert_nodes(&mut transaction, tree_id, &created).await?;
    insert_search_keys(&mut transaction, tree_id, old_size, &new_leaves).await?;

    // Sign the new tree head and move the log's head to it.
    let signed_head = signer
        .sign_head(&store.info, new_size, &new_root, now)
        .map_err(StoreError::Signing)?;
    sqlx::query(
        "INSERT INTO signed_heads (tree_id, tree_size, root_hash, signed_head) VALUES ($1, $2, $3, $4)",
    )
    .bind(tree_id)
    .bind(to_i64(new_size)?)
    .bind(new_root.as_slice())
    .bind(&signed_head)
    .execute(&mut *transaction)
    .await?;
    sqlx::query(
        "UPDATE logs SET tree_size = $2, root_hash = $3, signed_head = $4 WHERE tree_id = $1",
    )
    .bind(tree_id)
    .bind(to_i64(new_size)?)
    .bind(new_root.as_slice())
    .bind(&signed_head)
    .execute(&mut *transaction)
    .await?;

    // Commit. From here on the leaves are durable and may be acknowledged. An error after this
    // point reaches callers as a failure even though their leaves are stored; a retry then finds
    // the entry as a duplicate.
    transaction.commit().await?;

    // Prove each new leaf in the new tree from the nodes already in memory: the left siblings
    // of new leaves are exactly the right-edge nodes of the old tree.
    let head = SignedHead {
        tree_size: new_size,
        root_hash: new_root,
        signed_head,
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for place in placement {
        let outcome = match place {
            Placement::Existing(leaf_index) => AppendOutcome::Duplicate { leaf_index },
            Placement::New(leaf_index) => {
                let proof = sigstack_merkle::inclusion_proof(leaf_index, new_size, |id| {
                    nodes.get(&id).copied()
                })?;
                let leaf_hash = leaf_hashes[(leaf_index - old_size) as usize];
                AppendOutcome::Integrated {
                    leaf_index,
                    leaf_hash,
                    integrated_time_ms,
                    proof,
                    head: head.clone(),
                }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Where a submitted leaf ended up. A repeat within one batch is `Existing` with the index of
/// its first occurrence, which is integrated by the same commit.
enum Placement {
    Existing(u64),
    New(u64),
}

impl Placement {
    fn index(&self) -> u64 {
        match self {
            Self::Existing(index) | Self::New(index) => *index,
        }
    }
}

async fn insert_leaves(
    transaction: &mut sqlx::PgTransaction<'_>,
    tree_id: i64,
    first_index: u64,
    leaves: &[(&NewLeaf, Hash)],
    integrated_time_ms: i64,
) -> Result<(), StoreError> {
    let mut indexes = Vec::with_capacity(leaves.len());
    let mut hashes: Vec<&[u8]> = Vec::with_capacity(leaves.len());
    let mut identities: Vec<&[u8]> = Vec::with_capacity(leaves.len());
    let mut values: Vec<&[u8]> = Vec::with_capacity(leaves.len());
    let mut extras: Vec<Option<&[u8]>> = Vec::with_capacity(leaves.len());
    for (offset, (leaf, hash)) in leaves.iter().enumerate() {
        indexes.push(to_i64(first_index + offset as u64)?);
        hashes.push(hash.as_slice());
        identities.push(&leaf.identity);
        values.push(&leaf.leaf_value);
        extras.push(leaf.extra_data.as_deref());
    }
    sqlx::query(
        "INSERT INTO leaves (tree_id, leaf_index, leaf_hash, identity, leaf_value, extra_data, integrated_time)
         SELECT $1, i, h, d, v, e, $7
         FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[]) AS t (i, h, d, v, e)",
    )
    .bind(tree_id)
    .bind(&indexes)
    .bind(&hashes)
    .bind(&identities)
    .bind(&values)
    .bind(&extras)
    .bind(integrated_time_ms)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn insert_nodes(
    transaction: &mut sqlx::PgTransaction<'_>,
    tree_id: i64,
    created: &[(NodeId, Hash)],
) -> Result<(), StoreError> {
    let mut levels = Vec::with_capacity(created.len());
    let mut indexes = Vec::with_capacity(created.len());
    let mut hashes: Vec<&[u8]> = Vec::with_capacity(created.len());
    // Level 0 is stored as leaves.leaf_hash.
    for (node, hash) in created.iter().filter(|(node, _)| node.level > 0) {
        levels.push(i16::from(node.level));
        indexes.push(to_i64(node.index)?);
        hashes.push(hash.as_slice());
    }
    if levels.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO tree_nodes (tree_id, level, node_index, hash)
         SELECT $1, l, i, h FROM UNNEST($2::smallint[], $3::bigint[], $4::bytea[]) AS t (l, i, h)",
    )
    .bind(tree_id)
    .bind(&levels)
    .bind(&indexes)
    .bind(&hashes)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn insert_search_keys(
    transaction: &mut sqlx::PgTransaction<'_>,
    tree_id: i64,
    first_index: u64,
    leaves: &[(&NewLeaf, Hash)],
) -> Result<(), StoreError> {
    let mut keys: Vec<&str> = Vec::new();
    let mut indexes = Vec::new();
    for (offset, (leaf, _)) in leaves.iter().enumerate() {
        let leaf_index = first_index + offset as u64;
        for key in &leaf.search_keys {
            // One key that PostgreSQL rejects would fail the whole batch, and with it every
            // other submitter's entry. Such a key is left out of the index instead.
            if !crate::search::is_storable(key) {
                tracing::warn!(
                    tree_id,
                    leaf_index,
                    key_bytes = key.len(),
                    "search key not indexed: it contains a NUL character or exceeds {} bytes",
                    crate::search::MAX_SEARCH_KEY_BYTES
                );
                continue;
            }
            keys.push(key);
            indexes.push(to_i64(leaf_index)?);
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO search_index (tree_id, lookup_key, leaf_index)
         SELECT $1, k, i FROM UNNEST($2::text[], $3::bigint[]) AS t (k, i)
         ON CONFLICT DO NOTHING",
    )
    .bind(tree_id)
    .bind(&keys)
    .bind(&indexes)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}
