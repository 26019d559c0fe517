//! End-to-end tests of the Rekor v1 API against a real PostgreSQL, with entries checked by an
//! independent verifier (tests/interop/verify_rekor_entry.py, Python `cryptography`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::hazmat::PrehashSigner as _;
use p256::pkcs8::EncodePublicKey as _;
use rand_core::OsRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha384, Sha512};
use sigstack_keys::LogSigner;
use sigstack_pgcluster::TestDatabase;
use sigstack_server::SystemClock;
use sigstack_tlog::{Tlog, TlogConfig};

struct Server {
    base: String,
    client: reqwest::Client,
    tlog: Arc<Tlog>,
}

fn log_key() -> LogSigner {
    LogSigner::new(p256::ecdsa::SigningKey::random(&mut OsRng)).expect("log key")
}

async fn start(database: &TestDatabase, signer: LogSigner, config: TlogConfig) -> Server {
    let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
    sigstack_logstore::migrate(&pool).await.expect("migrate");
    let registry = prometheus::Registry::new();
    let tlog = Tlog::open(config, pool, signer, Arc::new(SystemClock), &registry)
        .await
        .expect("open log");
    let router = sigstack_tlog::router(tlog.clone(), registry);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server {
        base,
        client: reqwest::Client::new(),
        tlog,
    }
}

async fn fresh() -> (TestDatabase, Server) {
    let database = TestDatabase::create().await.expect("test database");
    let server = start(&database, log_key(), TlogConfig::default()).await;
    (database, server)
}

fn pem_b64(pem: &str) -> String {
    STANDARD.encode(pem.as_bytes())
}

/// Builds a hashedrekord over a random SHA-256 digest, signed with a fresh P-256 key.
fn p256_entry() -> Value {
    let key = p256::ecdsa::SigningKey::random(&mut OsRng);
    let digest: [u8; 32] = Sha256::digest(rand_bytes()).into();
    let signature: p256::ecdsa::DerSignature = key.sign_prehash(&digest).expect("sign");
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("pem");
    hashedrekord("sha256", &digest, signature.as_bytes(), &pem_b64(&pem))
}

fn hashedrekord(algorithm: &str, digest: &[u8], signature: &[u8], public_key_b64: &str) -> Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": algorithm, "value": hex::encode(digest)}},
            "signature": {"content": STANDARD.encode(signature), "publicKey": {"content": public_key_b64}},
        },
    })
}

fn rand_bytes() -> [u8; 32] {
    use rand_core::RngCore as _;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

impl Server {
    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    async fn create(&self, entry: &Value) -> (String, Value) {
        let response = self.post("/api/v1/log/entries", entry).await;
        let status = response.status();
        let etag = response
            .headers()
            .get("etag")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let text = response.text().await.expect("body");
        assert_eq!(status, 201, "{text}");
        assert!(
            text.ends_with("}\n"),
            "compact JSON with a trailing newline: {text:?}"
        );
        let body: Value = serde_json::from_str(&text).expect("json");
        let id = etag.expect("ETag header");
        assert_eq!(id.len(), 80);
        assert!(body.get(&id).is_some(), "ETag equals the body's only key");
        assert_eq!(
            location.expect("Location header"),
            format!("/api/v1/log/entries/{id}")
        );
        (id, body)
    }

    fn public_key_file(&self) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), self.tlog.public_key_pem()).expect("write key");
        file
    }
}

fn verifier_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/verify_rekor_entry.py")
}

/// Runs the independent Python verifier on a LogEntry; returns (success, output).
fn independent_verify(entry: &Value, public_key: &std::path::Path, tree_id: i64) -> (bool, String) {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), entry.to_string()).expect("write entry");
    let output = Command::new("python3")
        .arg(verifier_script())
        .arg("entry")
        .arg(file.path())
        .arg("--public-key")
        .arg(public_key)
        .arg("--expect-tree-id")
        .arg(tree_id.to_string())
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn created_entry_passes_independent_verification() {
    let (_database, server) = fresh().await;
    server.create(&p256_entry()).await;
    let (id, body) = server.create(&p256_entry()).await;
    let key = server.public_key_file();
    let tree_id = server.tlog.store().info().tree_id;

    let (ok, output) = independent_verify(&body, key.path(), tree_id);
    assert!(
        ok,
        "independent verifier rejected a created entry:\n{output}"
    );

    // The same entry read back by UUID and by index also verifies.
    let fetched: Value = server
        .get(&format!("/api/v1/log/entries/{}", &id[16..]))
        .await
        .json()
        .await
        .expect("json");
    let (ok, output) = independent_verify(&fetched, key.path(), tree_id);
    assert!(ok, "entry by UUID:\n{output}");
    let by_index: Value = server
        .get("/api/v1/log/entries?logIndex=1")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        by_index.as_object().expect("object").keys().next(),
        Some(&id)
    );

    // A flipped bit in the SET must fail.
    let mut tampered = body.clone();
    let set = tampered[&id]["verification"]["signedEntryTimestamp"]
        .as_str()
        .expect("SET")
        .to_owned();
    let mut raw = STANDARD.decode(set).expect("base64");
    let last = raw.len() - 1;
    raw[last] ^= 1;
    tampered[&id]["verification"]["signedEntryTimestamp"] = json!(STANDARD.encode(raw));
    let (ok, _) = independent_verify(&tampered, key.path(), tree_id);
    assert!(!ok, "tampered SET accepted");

    // A wrong proof hash must fail.
    let mut tampered = body.clone();
    tampered[&id]["verification"]["inclusionProof"]["hashes"][0] = json!("00".repeat(32));
    let (ok, _) = independent_verify(&tampered, key.path(), tree_id);
    assert!(!ok, "tampered inclusion proof accepted");
}

#[tokio::test]
async fn duplicate_entry_gets_409_with_location() {
    let (_database, server) = fresh().await;
    let entry = p256_entry();
    let (id, _) = server.create(&entry).await;
    let response = server.post("/api/v1/log/entries", &entry).await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(format!("/api/v1/log/entries/{id}").as_str())
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], 409);
    assert!(body["message"].as_str().expect("message").contains(&id));
}

#[tokio::test]
async fn body_over_limit_gets_413_naming_it() {
    let database = TestDatabase::create().await.expect("test database");
    let config = TlogConfig {
        max_body_bytes: 4096,
        ..TlogConfig::default()
    };
    let server = start(&database, log_key(), config).await;
    let mut entry = p256_entry();
    entry["padding"] = json!("x".repeat(5000));
    let response = server.post("/api/v1/log/entries", &entry).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], 413);
    assert!(
        body["message"].as_str().expect("message").contains("4096"),
        "{body}"
    );
}

#[tokio::test]
async fn dsse_signature_missing_fields_is_400() {
    let (_database, server) = fresh().await;
    let key = p256::ecdsa::SigningKey::random(&mut OsRng);
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("pem");
    let envelope =
        json!({"payload": "e30=", "payloadType": "application/json", "signatures": [{}]})
            .to_string();
    let entry = json!({
        "apiVersion": "0.0.1", "kind": "dsse",
        "spec": {"proposedContent": {"envelope": envelope, "verifiers": [pem_b64(&pem)]}, "signatures": null},
    });
    let response = server.post("/api/v1/log/entries", &entry).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], 400);
}

/// DSSE pre-authentication encoding, written out here rather than taken from the crate.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn dsse_and_intoto_entries_are_accepted() {
    let (_database, server) = fresh().await;
    let key = p256::ecdsa::SigningKey::random(&mut OsRng);
    let pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("pem");
    let payload = json!({"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "a", "digest": {"sha256": hex::encode(rand_bytes())}}]}).to_string();
    let payload_type = "application/vnd.in-toto+json";
    let signature: p256::ecdsa::DerSignature =
        p256::ecdsa::signature::Signer::sign(&key, &pae(payload_type, payload.as_bytes()));
    let payload_b64 = STANDARD.encode(payload.as_bytes());
    let sig_b64 = STANDARD.encode(signature.as_bytes());

    // dsse 0.0.1 with sigstore-python's explicit nulls.
    let envelope = json!({"payload": payload_b64, "payloadType": payload_type, "signatures": [{"keyid": "", "sig": sig_b64}]}).to_string();
    let dsse = json!({
        "apiVersion": "0.0.1", "kind": "dsse",
        "spec": {"proposedContent": {"envelope": envelope, "verifiers": [pem_b64(&pem)]}, "signatures": null, "envelopeHash": null, "payloadHash": null},
    });
    let (id, body) = server.create(&dsse).await;
    let stored: Value = serde_json::from_slice(
        &STANDARD
            .decode(body[&id]["body"].as_str().expect("body"))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(
        stored["spec"]["payloadHash"]["value"],
        hex::encode(Sha256::digest(payload.as_bytes()))
    );
    assert_eq!(
        stored["spec"]["envelopeHash"]["value"],
        hex::encode(Sha256::digest(envelope.as_bytes()))
    );
    assert_eq!(stored["spec"]["signatures"][0]["signature"], sig_b64);

    // intoto 0.0.2: payload and signature are base64 of the base64 text.
    let intoto = json!({
        "apiVersion": "0.0.2", "kind": "intoto",
        "spec": {"content": {
            "envelope": {"payloadType": payload_type, "payload": STANDARD.encode(&payload_b64),
                         "signatures": [{"sig": STANDARD.encode(&sig_b64), "publicKey": pem_b64(&pem)}]},
            "hash": {"algorithm": "sha256", "value": hex::encode(rand_bytes())},
            "payloadHash": {"algorithm": "sha256", "value": "ignored"},
        }},
    });
    let (id, body) = server.create(&intoto).await;
    let stored: Value = serde_json::from_slice(
        &STANDARD
            .decode(body[&id]["body"].as_str().expect("body"))
            .expect("b64"),
    )
    .expect("json");
    assert!(
        stored["spec"]["content"]["envelope"]
            .get("payload")
            .is_none(),
        "payload is dropped"
    );
    assert_eq!(
        stored["spec"]["content"]["payloadHash"]["value"],
        hex::encode(Sha256::digest(payload.as_bytes()))
    );

    // A DSSE signature by another key is rejected.
    let other = p256::ecdsa::SigningKey::random(&mut OsRng);
    let other_pem = other
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("pem");
    let mut wrong = dsse.clone();
    wrong["spec"]["proposedContent"]["verifiers"] = json!([pem_b64(&other_pem)]);
    assert_eq!(
        server.post("/api/v1/log/entries", &wrong).await.status(),
        400
    );
}

#[tokio::test]
async fn hashedrekord_accepts_each_supported_algorithm() {
    let (_database, server) = fresh().await;

    let p384 = p384::ecdsa::SigningKey::random(&mut OsRng);
    let digest: [u8; 48] = Sha384::digest(rand_bytes()).into();
    let signature: p384::ecdsa::DerSignature = p384.sign_prehash(&digest).expect("sign");
    let pem = p384
        .verifying_key()
        .to_public_key_pem(p384::pkcs8::LineEnding::LF)
        .expect("pem");
    server
        .create(&hashedrekord(
            "sha384",
            &digest,
            signature.as_bytes(),
            &pem_b64(&pem),
        ))
        .await;

    let rsa_key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("rsa key");
    let digest: [u8; 32] = Sha256::digest(rand_bytes()).into();
    let signature = rsa_key
        .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest)
        .expect("sign");
    let pem = rsa::pkcs8::EncodePublicKey::to_public_key_pem(
        &rsa_key.to_public_key(),
        rsa::pkcs8::LineEnding::LF,
    )
    .expect("pem");
    server
        .create(&hashedrekord("sha256", &digest, &signature, &pem_b64(&pem)))
        .await;

    let ed = ed25519_dalek::SigningKey::generate(&mut OsRng);
    let message = rand_bytes();
    let digest: [u8; 64] = Sha512::digest(message).into();
    let mut prehash = Sha512::new();
    prehash.update(message);
    let signature = ed.sign_prehashed(prehash, None).expect("sign");
    let pem = ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_pem(
        &ed.verifying_key(),
        ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF,
    )
    .expect("pem");
    server
        .create(&hashedrekord(
            "sha512",
            &digest,
            &signature.to_bytes(),
            &pem_b64(&pem),
        ))
        .await;

    // Pure Ed25519 over the artifact cannot be checked from a digest: 400.
    let pure = ed25519_dalek::Signer::sign(&ed, &message);
    let response = server
        .post(
            "/api/v1/log/entries",
            &hashedrekord("sha512", &digest, &pure.to_bytes(), &pem_b64(&pem)),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("Ed25519ph"),
        "{body}"
    );

    // A P-256 key with a SHA-512 digest breaks the algorithm policy: 400.
    let p256 = p256::ecdsa::SigningKey::random(&mut OsRng);
    let digest: [u8; 64] = Sha512::digest(rand_bytes()).into();
    let signature: p256::ecdsa::DerSignature = p256.sign_prehash(&digest).expect("sign");
    let pem = p256
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("pem");
    let response = server
        .post(
            "/api/v1/log/entries",
            &hashedrekord("sha512", &digest, signature.as_bytes(), &pem_b64(&pem)),
        )
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn large_certificate_is_stored_byte_for_byte() {
    let (_database, server) = fresh().await;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
        "Big@Example.com".try_into().expect("email"),
    )];
    // A private extension of 70,000 bytes pushes the certificate past 64 KiB.
    let filler =
        rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x04; 70_000]);
    params.custom_extensions.push(filler);
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let certificate = params.self_signed(&key).expect("certificate");
    let cert_pem = certificate.pem();
    assert!(certificate.der().len() > 64 * 1024);

    let signing = p256::ecdsa::SigningKey::from_pkcs8_der(&key.serialize_der()).expect("p256 key");
    let digest: [u8; 32] = Sha256::digest(rand_bytes()).into();
    let signature: p256::ecdsa::DerSignature = signing.sign_prehash(&digest).expect("sign");
    let (id, body) = server
        .create(&hashedrekord(
            "sha256",
            &digest,
            signature.as_bytes(),
            &pem_b64(&cert_pem),
        ))
        .await;

    let stored: Value = serde_json::from_slice(
        &STANDARD
            .decode(body[&id]["body"].as_str().expect("body"))
            .expect("b64"),
    )
    .expect("json");
    let key_content = STANDARD
        .decode(
            stored["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .expect("key"),
        )
        .expect("b64");
    let der = pem_der(&key_content);
    assert_eq!(
        der,
        certificate.der().to_vec(),
        "certificate DER comes back unchanged"
    );

    let fetched: Value = server
        .get(&format!("/api/v1/log/entries/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fetched[&id]["body"], body[&id]["body"]);

    // The email SAN is searchable, case-insensitively.
    let ids: Value = server
        .post(
            "/api/v1/index/retrieve",
            &json!({"email": "big@example.com"}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(ids, json!([id]));
}

fn pem_der(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).expect("utf8");
    let base64: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(base64).expect("pem base64")
}

use p256::pkcs8::DecodePrivateKey as _;

#[tokio::test]
async fn index_search_by_hash_with_and_without_prefix() {
    let (_database, server) = fresh().await;
    let entry = p256_entry();
    let (id, _) = server.create(&entry).await;
    let hash = entry["spec"]["data"]["hash"]["value"]
        .as_str()
        .expect("hash");
    let bare: Value = server
        .post("/api/v1/index/retrieve", &json!({"hash": hash}))
        .await
        .json()
        .await
        .expect("json");
    let prefixed: Value = server
        .post(
            "/api/v1/index/retrieve",
            &json!({"hash": format!("sha256:{hash}")}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(bare, json!([id]));
    assert_eq!(prefixed, bare);

    let key = entry["spec"]["signature"]["publicKey"]["content"]
        .as_str()
        .expect("key");
    let by_key: Value = server
        .post("/api/v1/index/retrieve", &json!({"publicKey": {"format": "x509", "content": key}, "hash": hash, "operator": "and"}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(by_key, json!([id]));
    let none: Value = server
        .post("/api/v1/index/retrieve", &json!({"hash": "ab".repeat(32)}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(none, json!([]));
}

#[tokio::test]
async fn consistency_proof_from_size_zero() {
    let (_database, server) = fresh().await;
    let empty = server.get("/api/v1/log/proof?firstSize=0&lastSize=1").await;
    assert_eq!(empty.status(), 400, "lastSize beyond an empty tree");

    for _ in 0..3 {
        server.create(&p256_entry()).await;
    }
    let response = server.get("/api/v1/log/proof?firstSize=0&lastSize=3").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["hashes"], json!([]));
    let info: Value = server.get("/api/v1/log").await.json().await.expect("json");
    assert_eq!(body["rootHash"], info["rootHash"]);
    assert_eq!(
        info["treeID"],
        json!(server.tlog.store().info().tree_id.to_string())
    );

    let beyond = server.get("/api/v1/log/proof?firstSize=1&lastSize=4").await;
    assert_eq!(beyond.status(), 400);
    let proof: Value = server
        .get("/api/v1/log/proof?firstSize=1&lastSize=3")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(proof["hashes"].as_array().expect("array").len(), 2);
}

#[tokio::test]
async fn restart_keeps_key_log_id_and_entries() {
    let database = TestDatabase::create().await.expect("test database");
    let signer = log_key();
    let first = start(&database, signer.clone(), TlogConfig::default()).await;
    let (id, _) = first.create(&p256_entry()).await;
    let log_id = first.tlog.log_id();
    let tree_id = first.tlog.store().info().tree_id;
    drop(first);

    let second = start(&database, signer, TlogConfig::default()).await;
    assert_eq!(second.tlog.log_id(), log_id);
    assert_eq!(second.tlog.store().info().tree_id, tree_id);
    let response = second.get(&format!("/api/v1/log/entries/{id}")).await;
    assert_eq!(response.status(), 200);
    second.create(&p256_entry()).await;
}

#[tokio::test]
async fn lookups_of_missing_entries_are_empty_404() {
    let (_database, server) = fresh().await;
    let response = server
        .get(&format!("/api/v1/log/entries/{}", "ab".repeat(32)))
        .await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.expect("body").is_empty());
    assert_eq!(
        server.get("/api/v1/log/entries?logIndex=5").await.status(),
        404
    );
    assert_eq!(server.get("/api/v1/log/entries/xyz").await.status(), 422);
    assert_eq!(
        server.get("/api/v1/log/entries?logIndex=-1").await.status(),
        422
    );
    let results: Value = server
        .post(
            "/api/v1/log/entries/retrieve/",
            &json!({"entryUUIDs": ["ab".repeat(32)]}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(results, json!([]));
    let too_many = server
        .post(
            "/api/v1/log/entries/retrieve",
            &json!({"logIndexes": (0..11).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(too_many.status(), 422);
    let not_json = server
        .client
        .post(format!("{}/api/v1/log/entries", server.base))
        .body("{")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), 400);
}
