//! Log store tests against a real PostgreSQL (DATABASE_URL, or a private cluster).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use sigstack_logstore::{
    AppendOutcome, Appender, Hash, HeadSigner, LogInfo, LogStore, NewLeaf, migrate,
};
use sigstack_pgcluster::TestDatabase;
use sigstack_server::{Clock, FixedClock};

/// Signs nothing: encodes the head as text, which is enough to check that the stored signed head
/// belongs to its size and root.
#[derive(Debug)]
struct TextSigner;

impl HeadSigner for TextSigner {
    fn sign_head(
        &self,
        log: &LogInfo,
        size: u64,
        root: &Hash,
        _: std::time::SystemTime,
    ) -> Result<Vec<u8>, String> {
        Ok(format!("{}\n{size}\n{}", log.origin, hex(root)).into_bytes())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn leaf(text: &str) -> NewLeaf {
    let value = text.as_bytes().to_vec();
    NewLeaf {
        identity: sigstack_merkle::leaf_hash(&value).to_vec(),
        leaf_value: value,
        extra_data: None,
        search_keys: vec![format!("key:{text}")],
    }
}

async fn open(url: &str) -> (LogStore, Appender) {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(url)
        .await
        .expect("connect to test database");
    migrate(&pool).await.expect("migrations apply");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(
        UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    ));
    let store = LogStore::open_or_create(
        pool,
        "rekor",
        |id| format!("test - {id}"),
        "test",
        &TextSigner,
        clock.now(),
    )
    .await
    .expect("open log");
    let appender = Appender::start(store.clone(), Arc::new(TextSigner), clock);
    (store, appender)
}

#[tokio::test]
async fn appended_leaves_have_valid_proofs() {
    let database = TestDatabase::create().await.expect("test database");
    let (store, appender) = open(&database.url).await;

    let mut acknowledged = Vec::new();
    for i in 0..40 {
        let outcome = appender
            .append(leaf(&format!("entry {i}")))
            .await
            .expect("append");
        let AppendOutcome::Integrated {
            leaf_index,
            leaf_hash,
            proof,
            head,
            integrated_time_ms,
        } = outcome
        else {
            panic!("entry {i} reported as duplicate");
        };
        assert_eq!(leaf_index, i);
        assert_eq!(integrated_time_ms, 1_800_000_000_000);
        sigstack_merkle::verify_inclusion(
            &leaf_hash,
            leaf_index,
            head.tree_size,
            &proof,
            &head.root_hash,
        )
        .expect("proof from the batch verifies");
        acknowledged.push((leaf_index, leaf_hash));
    }

    let head = store.head().await.expect("head");
    assert_eq!(head.tree_size, 40);
    assert_eq!(store.root_at(40).await.expect("root"), head.root_hash);
    assert_eq!(
        String::from_utf8(head.signed_head).expect("text"),
        format!("{}\n40\n{}", store.info().origin, hex(&head.root_hash))
    );
    for (index, hash) in acknowledged {
        let proof = store
            .inclusion_proof(index, 40)
            .await
            .expect("stored proof");
        sigstack_merkle::verify_inclusion(&hash, index, 40, &proof, &head.root_hash)
            .expect("stored proof verifies");
        let stored = store
            .leaf_by_index(index)
            .await
            .expect("read")
            .expect("leaf exists");
        assert_eq!(stored.leaf_hash, hash);
        assert_eq!(
            store
                .leaf_by_hash(&hash)
                .await
                .expect("read")
                .map(|l| l.leaf_index),
            Some(index)
        );
    }
    assert_eq!(store.search("key:entry 7").await.expect("search"), vec![7]);
    assert!(store.search("key:absent").await.expect("search").is_empty());
    assert!(store.leaf_by_index(40).await.expect("read").is_none());
}

#[tokio::test]
async fn duplicates_report_the_first_index() {
    let database = TestDatabase::create().await.expect("test database");
    let (_store, appender) = open(&database.url).await;

    let first = appender.append(leaf("same")).await.expect("append");
    assert!(matches!(
        first,
        AppendOutcome::Integrated { leaf_index: 0, .. }
    ));
    let again = appender.append(leaf("same")).await.expect("append");
    assert_eq!(again, AppendOutcome::Duplicate { leaf_index: 0 });

    // Repeats inside one batch: submit concurrently so they share a transaction.
    let results = futures::future::join_all((0..20).map(|i| {
        let appender = appender.clone();
        async move {
            appender
                .append(leaf(&format!("pair {}", i / 2)))
                .await
                .expect("append")
        }
    }))
    .await;
    let integrated = results
        .iter()
        .filter(|r| matches!(r, AppendOutcome::Integrated { .. }))
        .count();
    assert_eq!(
        integrated, 10,
        "each of the 10 distinct leaves is integrated once"
    );
}

#[tokio::test]
async fn large_leaf_is_stored_byte_for_byte() {
    let database = TestDatabase::create().await.expect("test database");
    let (store, appender) = open(&database.url).await;
    let value: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let new = NewLeaf {
        identity: sigstack_merkle::leaf_hash(&value).to_vec(),
        leaf_value: value.clone(),
        extra_data: Some(vec![0, 1, 2]),
        search_keys: Vec::new(),
    };
    appender.append(new).await.expect("append");
    let stored = store
        .leaf_by_index(0)
        .await
        .expect("read")
        .expect("leaf exists");
    assert_eq!(stored.leaf_value, value);
    assert_eq!(stored.extra_data, Some(vec![0, 1, 2]));
}

#[tokio::test]
async fn consistency_proofs_cover_every_head() {
    let database = TestDatabase::create().await.expect("test database");
    let (store, appender) = open(&database.url).await;
    for round in 0..6 {
        futures::future::join_all((0..(round * 3 + 1)).map(|i| {
            let appender = appender.clone();
            async move {
                appender
                    .append(leaf(&format!("round {round} leaf {i}")))
                    .await
                    .expect("append")
            }
        }))
        .await;
    }
    assert_all_heads_consistent(&store).await;
    assert!(
        store
            .consistency_proof(0, 5)
            .await
            .expect("proof")
            .is_empty()
    );
    assert!(store.consistency_proof(10, 5).await.is_err());
}

/// Two independent stores (separate pools and integrators, as two service processes have)
/// append to one log at once. Afterwards the log has not forked: every stored head is
/// consistent with the final one, and every acknowledged leaf is where it was acknowledged.
#[tokio::test]
async fn two_writers_never_fork_the_log() {
    let database = TestDatabase::create().await.expect("test database");
    let (store_a, appender_a) = open(&database.url).await;
    let (store_b, appender_b) = open(&database.url).await;
    assert_eq!(store_a.info(), store_b.info(), "both open the same log");

    let writer = |appender: Appender, name: &'static str| async move {
        let mut acknowledged = Vec::new();
        for round in 0..10 {
            let results = futures::future::join_all((0..16).map(|i| {
                let appender = appender.clone();
                async move {
                    let outcome = appender
                        .append(leaf(&format!("{name} {round} {i}")))
                        .await
                        .expect("append");
                    match outcome {
                        AppendOutcome::Integrated {
                            leaf_index,
                            leaf_hash,
                            ..
                        } => (leaf_index, leaf_hash),
                        AppendOutcome::Duplicate { .. } => {
                            panic!("distinct leaf reported as duplicate")
                        }
                    }
                }
            }))
            .await;
            acknowledged.extend(results);
        }
        acknowledged
    };
    let (from_a, from_b) = tokio::join!(writer(appender_a, "a"), writer(appender_b, "b"));

    let head = store_a.head().await.expect("head");
    assert_eq!(head.tree_size, 320);
    let mut indexes = HashSet::new();
    for (index, hash) in from_a.iter().chain(&from_b) {
        assert!(indexes.insert(*index), "index {index} acknowledged twice");
        let stored = store_b
            .leaf_by_index(*index)
            .await
            .expect("read")
            .expect("acknowledged leaf exists");
        assert_eq!(&stored.leaf_hash, hash);
    }
    assert_all_heads_consistent(&store_a).await;
}

async fn assert_all_heads_consistent(store: &LogStore) {
    let heads = store.signed_heads().await.expect("heads");
    let last = heads.last().expect("at least the empty head").clone();
    assert_eq!(
        store.root_at(last.tree_size).await.expect("root"),
        last.root_hash
    );
    for earlier in &heads {
        let proof = store
            .consistency_proof(earlier.tree_size, last.tree_size)
            .await
            .expect("proof");
        sigstack_merkle::verify_consistency(
            earlier.tree_size,
            last.tree_size,
            &earlier.root_hash,
            &last.root_hash,
            &proof,
        )
        .unwrap_or_else(|e| {
            panic!(
                "head {} is not consistent with {}: {e}",
                earlier.tree_size, last.tree_size
            )
        });
    }
    let sizes: Vec<u64> = heads.iter().map(|h| h.tree_size).collect();
    assert!(
        sizes.windows(2).all(|pair| pair[0] < pair[1]),
        "tree size only grows: {sizes:?}"
    );
}

#[tokio::test]
async fn unstorable_search_keys_fail_no_entry() {
    let database = TestDatabase::create().await.expect("test database");
    let (store, appender) = open(&database.url).await;

    // A NUL and an over-long key share batches with ordinary entries, as a client can send them.
    let results = futures::future::join_all((0..32).map(|i| {
        let appender = appender.clone();
        async move {
            let mut entry = leaf(&format!("entry {i}"));
            match i % 4 {
                0 => entry.search_keys.push("sha256\0".to_owned()),
                1 => entry.search_keys.push("x".repeat(3000)),
                _ => {}
            }
            appender.append(entry).await
        }
    }))
    .await;
    for result in &results {
        assert!(
            matches!(result, Ok(AppendOutcome::Integrated { .. })),
            "{result:?}"
        );
    }

    assert_eq!(store.search("key:entry 0").await.expect("search").len(), 1);
    assert!(store.search("sha256\0").await.expect("search").is_empty());
    assert!(
        store
            .search(&"x".repeat(3000))
            .await
            .expect("search")
            .is_empty()
    );
    assert!(
        store
            .leaf_by_index(u64::MAX)
            .await
            .expect("lookup")
            .is_none()
    );
}
