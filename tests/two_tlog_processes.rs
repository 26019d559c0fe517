//! Two `sigstack serve tlog` processes append to one log in one database at the same time. The
//! log must not fork: every signed checkpoint is consistent with the final one, and every
//! acknowledged entry is at the index it was acknowledged with.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::pkcs8::EncodePublicKey as _;
use rand::RngCore as _;
use serde_json::{Value, json};

/// Entries each process receives; enough for many concurrent batches on both sides.
const ENTRIES_PER_PROCESS: usize = 150;

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

fn serve(dir: &std::path::Path, database_url: &str, port: u16) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args(["serve", "tlog", "--dir"])
        .arg(dir)
        .env("DATABASE_URL", database_url)
        .env("SIGSTACK_TLOG__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sigstack serve tlog");
    Process(child)
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not become ready");
}

fn entry(key: &p256::ecdsa::SigningKey, public_b64: &str) -> Value {
    let mut digest = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut digest);
    let signature: p256::ecdsa::DerSignature = key.sign_prehash(&digest).expect("sign");
    json!({
        "apiVersion": "0.0.1", "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            "signature": {"content": STANDARD.encode(signature.as_bytes()), "publicKey": {"content": public_b64}},
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_never_fork_the_log() {
    let database = sigstack_pgcluster::TestDatabase::create()
        .await
        .expect("test database");
    let dir = tempfile::tempdir().expect("data directory");
    let status = Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args(["init", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run sigstack init");
    assert!(status.success());

    // Start the first process alone so that it creates the log, then the second.
    let client = reqwest::Client::new();
    let (port_a, port_b) = (free_port(), free_port());
    let _a = serve(dir.path(), &database.url, port_a);
    let base_a = format!("http://127.0.0.1:{port_a}");
    wait_ready(&client, &base_a).await;
    let _b = serve(dir.path(), &database.url, port_b);
    let base_b = format!("http://127.0.0.1:{port_b}");
    wait_ready(&client, &base_b).await;

    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("pem");
    let public_b64 = STANDARD.encode(public_pem.as_bytes());
    let mut submissions = Vec::new();
    for i in 0..2 * ENTRIES_PER_PROCESS {
        let base = if i % 2 == 0 {
            base_a.clone()
        } else {
            base_b.clone()
        };
        let (client, body) = (client.clone(), entry(&key, &public_b64));
        submissions.push(tokio::spawn(async move {
            let response = client
                .post(format!("{base}/api/v1/log/entries"))
                .json(&body)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 201);
            let value: Value = response.json().await.expect("json");
            let (id, anon) = value
                .as_object()
                .expect("object")
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .expect("one key");
            (anon["logIndex"].as_u64().expect("index"), id)
        }));
    }
    let mut acknowledged: HashMap<u64, String> = HashMap::new();
    for submission in submissions {
        let (index, id) = submission.await.expect("task");
        assert!(
            acknowledged.insert(index, id).is_none(),
            "index {index} acknowledged twice"
        );
    }
    assert_eq!(acknowledged.len(), 2 * ENTRIES_PER_PROCESS);

    // Every acknowledged entry is where it was acknowledged, as seen by either process.
    for (index, id) in &acknowledged {
        let base = if index % 2 == 0 { &base_a } else { &base_b };
        let value: Value = client
            .get(format!("{base}/api/v1/log/entries?logIndex={index}"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert!(
            value.get(id).is_some(),
            "entry {id} is not at index {index}"
        );
    }

    // Every stored checkpoint is consistent with the final one.
    let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT tree_size, root_hash FROM signed_heads ORDER BY tree_size")
            .fetch_all(&pool)
            .await
            .expect("read heads");
    let (last_size, last_root) = rows.last().cloned().expect("heads");
    assert_eq!(last_size as usize, 2 * ENTRIES_PER_PROCESS);
    let last_root: [u8; 32] = last_root.try_into().expect("32 bytes");
    for (size, root) in &rows {
        let proof: Value = client
            .get(format!(
                "{base_a}/api/v1/log/proof?firstSize={size}&lastSize={last_size}"
            ))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        let hashes: Vec<[u8; 32]> = proof["hashes"]
            .as_array()
            .expect("hashes")
            .iter()
            .map(|h| {
                hex::decode(h.as_str().expect("hex"))
                    .expect("hex")
                    .try_into()
                    .expect("32 bytes")
            })
            .collect();
        let root: [u8; 32] = root.clone().try_into().expect("32 bytes");
        sigstack_merkle::verify_consistency(
            *size as u64,
            last_size as u64,
            &root,
            &last_root,
            &hashes,
        )
        .unwrap_or_else(|e| {
            panic!("checkpoint at size {size} is not consistent with {last_size}: {e}")
        });
    }
    assert!(rows.len() > 2, "several batches were committed");
}
