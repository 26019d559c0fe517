//! Tests of the RFC 6962 API against a real PostgreSQL. An independent verifier
//! (tests/verify_ct.py, Python `cryptography`) checks SCTs, tree heads and entries by rebuilding
//! the signed bytes from the certificates. Proofs are checked with the RFC 9162 verifiers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand_core::{OsRng, RngCore as _};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use serde_json::{Value, json};
use sigstack_ctlog::{CtLog, CtlogConfig, MAX_GET_ENTRIES};
use sigstack_keys::LogSigner;
use sigstack_pgcluster::TestDatabase;
use sigstack_server::{Clock, FixedClock, SystemClock};
use x509_cert::der::Decode as _;

const POISON_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];

/// A root and an intermediate CA, both ECDSA P-384, as the CA generates them.
struct Pki {
    root: CertifiedIssuer<'static, KeyPair>,
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

fn ca_params(common_name: &str, path_length: u8) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "sigstack test");
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_length));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn p384_key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("P-384 key")
}

impl Pki {
    fn new(name: &str) -> Self {
        let root = CertifiedIssuer::self_signed(ca_params(&format!("{name} root"), 1), p384_key())
            .expect("root");
        let mut params = ca_params(&format!("{name} intermediate"), 0);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        let intermediate =
            CertifiedIssuer::signed_by(params, p384_key(), &root).expect("intermediate");
        Self { root, intermediate }
    }

    fn root_der(&self) -> Vec<u8> {
        self.root.der().to_vec()
    }

    fn intermediate_der(&self) -> Vec<u8> {
        self.intermediate.der().to_vec()
    }

    fn root_certificate(&self) -> x509_cert::Certificate {
        x509_cert::Certificate::from_der(self.root.der()).expect("root parses")
    }

    /// Issues a Fulcio-style leaf from the intermediate, with an email SAN, codeSigning unless
    /// disabled, and the poison extension when `poison` is set.
    fn leaf(&self, options: LeafOptions) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.serial_number = Some(SerialNumber::from(OsRng.next_u64()));
        params.subject_alt_names = vec![SanType::Rfc822Name(
            "signer@example.com".try_into().expect("ia5"),
        )];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = if options.code_signing {
            vec![ExtendedKeyUsagePurpose::CodeSigning]
        } else {
            vec![ExtendedKeyUsagePurpose::ServerAuth]
        };
        params.use_authority_key_identifier_extension = true;
        if let Some(critical) = options.poison {
            let mut poison = CustomExtension::from_oid_content(POISON_OID, vec![0x05, 0x00]);
            poison.set_criticality(critical);
            params.custom_extensions.push(poison);
        }
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("leaf key");
        params
            .signed_by(&key, &self.intermediate)
            .expect("leaf")
            .der()
            .to_vec()
    }

    fn precert(&self) -> Vec<u8> {
        self.leaf(LeafOptions {
            poison: Some(true),
            code_signing: true,
        })
    }

    fn certificate(&self) -> Vec<u8> {
        self.leaf(LeafOptions {
            poison: None,
            code_signing: true,
        })
    }

    /// Returns `[leaf, intermediate, root]` in base64.
    fn full_chain(&self, leaf: &[u8]) -> Vec<String> {
        [leaf.to_vec(), self.intermediate_der(), self.root_der()]
            .iter()
            .map(|der| STANDARD.encode(der))
            .collect()
    }
}

#[derive(Clone, Copy)]
struct LeafOptions {
    /// `Some(critical)` adds the poison extension.
    poison: Option<bool>,
    code_signing: bool,
}

struct Server {
    base: String,
    api: String,
    client: reqwest::Client,
    ctlog: Arc<CtLog>,
}

fn log_key() -> LogSigner {
    LogSigner::new(p256::ecdsa::SigningKey::random(&mut OsRng)).expect("log key")
}

async fn start(
    database: &TestDatabase,
    roots: Vec<x509_cert::Certificate>,
    config: CtlogConfig,
    clock: Arc<dyn Clock>,
) -> Server {
    let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
    sigstack_logstore::migrate(&pool).await.expect("migrate");
    let registry = prometheus::Registry::new();
    let api_path = config.api_path();
    let ctlog = CtLog::open(config, pool, log_key(), roots, clock, &registry)
        .await
        .expect("open log");
    let router = sigstack_ctlog::router(ctlog.clone(), registry);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    Server {
        api: format!("{base}{api_path}"),
        base,
        client: reqwest::Client::new(),
        ctlog,
    }
}

async fn fresh(pki: &Pki) -> (TestDatabase, Server) {
    let database = TestDatabase::create().await.expect("test database");
    let server = start(
        &database,
        vec![pki.root_certificate()],
        CtlogConfig::default(),
        Arc::new(SystemClock),
    )
    .await;
    (database, server)
}

impl Server {
    async fn post_raw(&self, endpoint: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        let response = self
            .client
            .post(format!("{}/{endpoint}", self.api))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    async fn submit(&self, endpoint: &str, chain: &[String]) -> (u16, String) {
        self.post_raw(endpoint, json!({ "chain": chain }).to_string())
            .await
    }

    /// Submits a chain that must be accepted and returns the SCT JSON.
    async fn accept(&self, endpoint: &str, chain: &[String]) -> Value {
        let (status, text) = self.submit(endpoint, chain).await;
        assert_eq!(status, 200, "{endpoint}: {text}");
        serde_json::from_str(&text).expect("SCT JSON")
    }

    async fn get(&self, endpoint_and_query: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}/{endpoint_and_query}", self.api))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    async fn get_json(&self, endpoint_and_query: &str) -> Value {
        let (status, text) = self.get(endpoint_and_query).await;
        assert_eq!(status, 200, "{endpoint_and_query}: {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    async fn sth(&self) -> Value {
        self.get_json("get-sth").await
    }
}

fn b64(value: &Value) -> Vec<u8> {
    STANDARD
        .decode(value.as_str().expect("base64 string"))
        .expect("base64")
}

fn hash32(value: &Value) -> [u8; 32] {
    b64(value).try_into().expect("32 bytes")
}

fn verifier_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/verify_ct.py")
}

/// Runs the independent Python verifier on `case` and fails the test with its output.
fn independent_verify(case: &Value) -> String {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), case.to_string()).expect("write case");
    let output = Command::new("python3")
        .arg(verifier_script())
        .arg(file.path())
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "independent verifier rejected: {text}"
    );
    text
}

fn inclusion_checks(leaf_input: &[u8], proof: &Value, sth: &Value) {
    let leaf_hash = sigstack_merkle::leaf_hash(leaf_input);
    let audit_path: Vec<[u8; 32]> = proof["audit_path"]
        .as_array()
        .expect("audit_path")
        .iter()
        .map(hash32)
        .collect();
    let index = proof["leaf_index"].as_u64().expect("leaf_index");
    let size = sth["tree_size"].as_u64().expect("tree_size");
    sigstack_merkle::verify_inclusion(
        &leaf_hash,
        index,
        size,
        &audit_path,
        &hash32(&sth["sha256_root_hash"]),
    )
    .expect("inclusion proof verifies");
}

fn query_hash(leaf_input: &[u8]) -> String {
    let hash = STANDARD.encode(sigstack_merkle::leaf_hash(leaf_input));
    hash.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[tokio::test]
async fn precert_sct_and_entry_verify_independently() {
    let pki = Pki::new("main");
    let (_database, server) = fresh(&pki).await;
    let public_key_pem = server.ctlog.public_key_pem();

    let mut submissions = Vec::new();
    for _ in 0..3 {
        let chain = pki.full_chain(&pki.precert());
        let sct = server.accept("add-pre-chain", &chain).await;
        submissions.push((chain, sct));
    }
    let sth = server.sth().await;
    assert_eq!(sth["tree_size"], 3);
    let root = STANDARD.encode(pki.root_der());
    let output = independent_verify(&json!({
        "public_key_pem": public_key_pem, "entry_type": "precert", "chain": submissions[0].0,
        "root": root, "sth": sth,
    }));
    assert!(output.contains("sth ok"), "{output}");

    let entries = server.get_json("get-entries?start=0&end=2").await;
    let entries = entries["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    for (index, ((chain, sct), entry)) in submissions.iter().zip(entries).enumerate() {
        assert_eq!(sct["id"], STANDARD.encode(server.ctlog.log_id()));
        let output = independent_verify(&json!({
            "public_key_pem": public_key_pem, "entry_type": "precert", "chain": chain, "root": root,
            "sct": sct, "entry": entry, "timestamp": sct["timestamp"],
        }));
        assert!(output.contains("sct ok"), "{output}");
        assert!(output.contains("entry ok"), "{output}");

        let leaf_input = b64(&entry["leaf_input"]);
        let proof = server
            .get_json(&format!(
                "get-proof-by-hash?hash={}&tree_size=3",
                query_hash(&leaf_input)
            ))
            .await;
        assert_eq!(proof["leaf_index"], index);
        inclusion_checks(&leaf_input, &proof, &sth);
    }
}

/// Encodes an SCT response as the embedded SCT list extension value (RFC 6962 §3.3): an OCTET
/// STRING that contains a `SignedCertificateTimestampList` with one `SerializedSCT`.
fn embedded_sct_list(sct: &Value) -> Vec<u8> {
    let mut serialized = vec![0u8];
    serialized.extend_from_slice(&b64(&sct["id"]));
    serialized.extend_from_slice(&sct["timestamp"].as_u64().expect("timestamp").to_be_bytes());
    serialized.extend_from_slice(&[0, 0]);
    serialized.extend_from_slice(&b64(&sct["signature"]));
    let mut list = ((serialized.len() + 2) as u16).to_be_bytes().to_vec();
    list.extend_from_slice(&(serialized.len() as u16).to_be_bytes());
    list.extend_from_slice(&serialized);
    assert!(list.len() < 128, "one SCT fits a short-form DER length");
    let mut octet_string = vec![0x04, list.len() as u8];
    octet_string.extend_from_slice(&list);
    octet_string
}

#[tokio::test]
async fn final_certificate_matches_logged_tbs() {
    let pki = Pki::new("main");
    let (_database, server) = fresh(&pki).await;

    // Issue the precertificate and the final certificate from the same parameters, the
    // poison replaced by the SCT list, as the CA does.
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("leaf key");
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.serial_number = Some(SerialNumber::from(OsRng.next_u64()));
    params.subject_alt_names = vec![SanType::Rfc822Name(
        "signer@example.com".try_into().expect("ia5"),
    )];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    params.use_authority_key_identifier_extension = true;
    let mut poison = CustomExtension::from_oid_content(POISON_OID, vec![0x05, 0x00]);
    poison.set_criticality(true);
    params.custom_extensions.push(poison);
    let precert = params
        .signed_by(&key, &pki.intermediate)
        .expect("precert")
        .der()
        .to_vec();
    let chain = pki.full_chain(&precert);
    let sct = server.accept("add-pre-chain", &chain).await;

    params.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
        embedded_sct_list(&sct),
    )];
    let final_certificate = params
        .signed_by(&key, &pki.intermediate)
        .expect("final")
        .der()
        .to_vec();
    let entries = server.get_json("get-entries?start=0&end=0").await;
    let output = independent_verify(&json!({
        "public_key_pem": server.ctlog.public_key_pem(), "entry_type": "precert", "chain": chain,
        "root": STANDARD.encode(pki.root_der()), "sct": sct, "entry": entries["entries"][0],
        "final_certificate": STANDARD.encode(&final_certificate),
    }));
    assert!(output.contains("final ok"), "{output}");
}

#[tokio::test]
async fn chain_without_root_is_completed() {
    let pki = Pki::new("main");
    let (_database, server) = fresh(&pki).await;
    let root = STANDARD.encode(pki.root_der());
    let precert_chain = vec![
        STANDARD.encode(pki.precert()),
        STANDARD.encode(pki.intermediate_der()),
    ];
    let sct = server.accept("add-pre-chain", &precert_chain).await;
    let certificate_chain = vec![
        STANDARD.encode(pki.certificate()),
        STANDARD.encode(pki.intermediate_der()),
    ];
    let certificate_sct = server.accept("add-chain", &certificate_chain).await;

    let entries = server.get_json("get-entries?start=0&end=1").await;
    let public_key_pem = server.ctlog.public_key_pem();
    independent_verify(&json!({
        "public_key_pem": public_key_pem, "entry_type": "precert", "chain": precert_chain, "root": root,
        "sct": sct, "entry": entries["entries"][0], "timestamp": sct["timestamp"],
    }));
    independent_verify(&json!({
        "public_key_pem": public_key_pem, "entry_type": "x509", "chain": certificate_chain, "root": root,
        "sct": certificate_sct, "entry": entries["entries"][1], "timestamp": certificate_sct["timestamp"],
    }));
}

#[tokio::test]
async fn certificate_sct_verifies_independently() {
    let pki = Pki::new("main");
    let (_database, server) = fresh(&pki).await;
    let chain = pki.full_chain(&pki.certificate());
    let sct = server.accept("add-chain", &chain).await;
    let entries = server.get_json("get-entries?start=0&end=0").await;
    let output = independent_verify(&json!({
        "public_key_pem": server.ctlog.public_key_pem(), "entry_type": "x509", "chain": chain,
        "root": STANDARD.encode(pki.root_der()), "sct": sct, "entry": entries["entries"][0],
        "timestamp": sct["timestamp"], "sth": server.sth().await,
    }));
    assert!(output.contains("sct ok"), "{output}");
    assert!(output.contains("entry ok"), "{output}");
    assert!(output.contains("sth ok"), "{output}");
}

#[tokio::test]
async fn duplicate_returns_first_timestamp() {
    let pki = Pki::new("main");
    let database = TestDatabase::create().await.expect("test database");
    let clock = Arc::new(FixedClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_750_000_000_123),
    ));
    let server = start(
        &database,
        vec![pki.root_certificate()],
        CtlogConfig::default(),
        clock.clone(),
    )
    .await;

    let precert = pki.precert();
    let first = server
        .accept("add-pre-chain", &pki.full_chain(&precert))
        .await;
    assert_eq!(first["timestamp"], 1_750_000_000_123u64);
    clock.advance(Duration::from_secs(5));
    let again = server
        .accept("add-pre-chain", &pki.full_chain(&precert))
        .await;
    assert_eq!(again["timestamp"], first["timestamp"]);
    independent_verify(&json!({
        "public_key_pem": server.ctlog.public_key_pem(), "entry_type": "precert", "chain": pki.full_chain(&precert),
        "root": STANDARD.encode(pki.root_der()), "sct": again,
    }));
    let without_root = vec![
        STANDARD.encode(&precert),
        STANDARD.encode(pki.intermediate_der()),
    ];
    let third = server.accept("add-pre-chain", &without_root).await;
    assert_eq!(third["timestamp"], first["timestamp"]);

    // The same TBSCertificate is a different entry when submitted as a final certificate.
    let certificate = pki.certificate();
    server
        .accept("add-chain", &pki.full_chain(&certificate))
        .await;
    clock.advance(Duration::from_secs(5));
    let repeated = server
        .accept("add-chain", &pki.full_chain(&certificate))
        .await;
    assert_eq!(repeated["timestamp"], 1_750_000_005_123u64);

    let sth = server.sth().await;
    assert_eq!(sth["tree_size"], 2);
    assert!(
        sth["timestamp"].as_u64() >= repeated["timestamp"].as_u64(),
        "tree head is at least as recent as every SCT"
    );

    let metrics = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics");
    let metrics = metrics.text().await.expect("metrics body");
    assert!(
        metrics.contains(
            r#"ctlog_submissions_total{entry_type="precert_entry",outcome="duplicate"} 2"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn concurrent_duplicates_share_one_entry() {
    let pki = Pki::new("main");
    let (_database, server) = fresh(&pki).await;
    let server = Arc::new(server);
    let chain = pki.full_chain(&pki.precert());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let server = server.clone();
        let chain = chain.clone();
        tasks.push(tokio::spawn(async move {
            server.accept("add-pre-chain", &chain).await
        }));
    }
    let mut timestamps = Vec::new();
    for task in tasks {
        timestamps.push(task.await.expect("task")["timestamp"].clone());
    }
    assert!(
        timestamps
            .iter()
            .all(|timestamp| *timestamp == timestamps[0]),
        "{timestamps:?}"
    );
    assert_eq!(server.sth().await["tree_size"], 1);
}

#[tokio::test]
async fn rejected_submissions() {
    let pki = Pki::new("main");
    let other = Pki::new("other");
    let (_database, server) = fresh(&pki).await;
    let encode =
        |ders: &[Vec<u8>]| -> Vec<String> { ders.iter().map(|der| STANDARD.encode(der)).collect() };

    // An intermediate with the same name as the real one but another key.
    let impostor = CertifiedIssuer::signed_by(
        {
            let mut params = ca_params("main intermediate", 0);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
            params
        },
        p384_key(),
        &other.root,
    )
    .expect("impostor");
    let impostor_leaf = {
        let mut params = CertificateParams::default();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        let mut poison = CustomExtension::from_oid_content(POISON_OID, vec![0x05, 0x00]);
        poison.set_criticality(true);
        params.custom_extensions.push(poison);
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        params
            .signed_by(&key, &impostor)
            .expect("leaf")
            .der()
            .to_vec()
    };
    let mut wrong_poison = pki.precert();
    // Change the poison value from NULL (05 00) to an empty BOOLEAN (01 00). The signature no
    // longer verifies either, but the poison is checked first.
    let position = wrong_poison
        .windows(4)
        .position(|window| window == [0x04, 0x02, 0x05, 0x00])
        .expect("poison value");
    wrong_poison[position + 2] = 0x01;

    let cases: Vec<(&str, &str, Vec<String>, &str)> = vec![
        (
            "unknown root",
            "add-pre-chain",
            other.full_chain(&other.precert()),
            "does not lead to a configured root",
        ),
        (
            "unknown root, root omitted",
            "add-pre-chain",
            encode(&[other.precert(), other.intermediate_der()]),
            "does not lead to a configured root",
        ),
        (
            "no codeSigning",
            "add-pre-chain",
            pki.full_chain(&pki.leaf(LeafOptions {
                poison: Some(true),
                code_signing: false,
            })),
            "codeSigning",
        ),
        (
            "precert without poison",
            "add-pre-chain",
            pki.full_chain(&pki.certificate()),
            "lacks the precertificate poison",
        ),
        (
            "non-critical poison",
            "add-pre-chain",
            pki.full_chain(&pki.leaf(LeafOptions {
                poison: Some(false),
                code_signing: true,
            })),
            "not critical",
        ),
        (
            "poison value not NULL",
            "add-pre-chain",
            pki.full_chain(&wrong_poison),
            "not ASN.1 NULL",
        ),
        (
            "poisoned certificate",
            "add-chain",
            pki.full_chain(&pki.precert()),
            "carries the precertificate poison",
        ),
        (
            "wrong order",
            "add-pre-chain",
            encode(&[pki.precert(), pki.root_der(), pki.intermediate_der()]),
            "does not match",
        ),
        (
            "signature by another key",
            "add-pre-chain",
            encode(&[impostor_leaf, pki.intermediate_der(), pki.root_der()]),
            "signature does not verify",
        ),
        ("empty chain", "add-pre-chain", Vec::new(), "chain is empty"),
        (
            "too long",
            "add-chain",
            vec![STANDARD.encode(pki.certificate()); 11],
            "more than the maximum of 10",
        ),
        (
            "bad base64",
            "add-pre-chain",
            vec!["not base64!".to_owned()],
            "not valid base64",
        ),
        (
            "bad DER",
            "add-pre-chain",
            vec![STANDARD.encode([0x30, 0x03, 0x02, 0x01])],
            "not a DER X.509 certificate",
        ),
        (
            "trailing data",
            "add-chain",
            vec![STANDARD.encode([pki.certificate(), vec![0]].concat())],
            "X.509",
        ),
    ];
    for (name, endpoint, chain, expected) in cases {
        let (status, text) = server.submit(endpoint, &chain).await;
        assert_eq!(status, 400, "{name}: {text}");
        assert!(
            text.contains(expected),
            "{name}: expected {expected:?} in {text:?}"
        );
    }

    for (name, body) in [
        ("not JSON", "{"),
        ("chain not a list", r#"{"chain": 5}"#),
        ("chain missing", r#"{"certs": []}"#),
        ("list of numbers", r#"{"chain": [1, 2]}"#),
    ] {
        let (status, text) = server.post_raw("add-pre-chain", body).await;
        assert_eq!(status, 400, "{name}: {text}");
        assert!(
            text.contains("not an add-chain JSON object"),
            "{name}: {text}"
        );
    }
    let (status, text) = server
        .post_raw(
            "add-pre-chain",
            vec![b'a'; sigstack_ctlog::MAX_REQUEST_BODY_BYTES + 1],
        )
        .await;
    assert_eq!(status, 413, "{text}");

    let response = server
        .client
        .get(format!("{}/add-pre-chain", server.api))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        server.sth().await["tree_size"],
        0,
        "nothing rejected reached the log"
    );
}

#[tokio::test]
async fn get_entries_ranges() {
    let pki = Pki::new("main");
    let (_database, server) = fresh(&pki).await;
    for _ in 0..3 {
        server
            .accept("add-pre-chain", &pki.full_chain(&pki.precert()))
            .await;
    }
    let count = |value: Value| value["entries"].as_array().expect("entries").len();
    assert_eq!(
        count(server.get_json("get-entries?start=0&end=100").await),
        3,
        "end beyond the tree stops at its last entry"
    );
    assert_eq!(count(server.get_json("get-entries?start=1&end=1").await), 1);
    assert_eq!(count(server.get_json("get-entries?start=2&end=2").await), 1);
    for (query, expected) in [
        ("start=2&end=1", "larger than end"),
        ("start=3&end=5", "beyond the last entry"),
        ("start=-1&end=1", "non-negative integer"),
        ("start=0", "end is missing"),
        ("start=x&end=1", "non-negative integer"),
    ] {
        let (status, text) = server.get(&format!("get-entries?{query}")).await;
        assert_eq!(status, 400, "{query}: {text}");
        assert!(
            text.contains(expected),
            "{query}: expected {expected:?} in {text:?}"
        );
    }
}

#[tokio::test]
async fn get_entries_capped_per_request() {
    let pki = Arc::new(Pki::new("main"));
    let (_database, server) = fresh(&pki).await;
    let server = Arc::new(server);
    let total = MAX_GET_ENTRIES + 5;
    let chains: Vec<Vec<String>> = (0..total)
        .map(|_| pki.full_chain(&pki.certificate()))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in chains.chunks(total.div_ceil(16) as usize) {
        let server = server.clone();
        let chunk = chunk.to_vec();
        tasks.spawn(async move {
            for chain in chunk {
                server.accept("add-chain", &chain).await;
            }
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("submitter");
    }
    assert_eq!(server.sth().await["tree_size"], total);
    let entries = server
        .get_json(&format!("get-entries?start=0&end={total}"))
        .await;
    assert_eq!(
        entries["entries"].as_array().expect("entries").len() as u64,
        MAX_GET_ENTRIES
    );
    let entries = server
        .get_json(&format!("get-entries?start={MAX_GET_ENTRIES}&end={total}"))
        .await;
    assert_eq!(entries["entries"].as_array().expect("entries").len(), 5);
}

#[tokio::test]
async fn consistency_proofs_verify() {
    let pki = Pki::new("main");
    let (_database, server) = fresh(&pki).await;
    let mut heads = vec![server.sth().await];
    for round in [1, 2, 4, 1] {
        for _ in 0..round {
            server
                .accept("add-pre-chain", &pki.full_chain(&pki.precert()))
                .await;
        }
        heads.push(server.sth().await);
    }
    for (older_index, older) in heads.iter().enumerate() {
        for newer in &heads[older_index..] {
            let first = older["tree_size"].as_u64().expect("size");
            let second = newer["tree_size"].as_u64().expect("size");
            let response = server
                .get_json(&format!(
                    "get-sth-consistency?first={first}&second={second}"
                ))
                .await;
            let proof: Vec<[u8; 32]> = response["consistency"]
                .as_array()
                .expect("consistency")
                .iter()
                .map(hash32)
                .collect();
            sigstack_merkle::verify_consistency(
                first,
                second,
                &hash32(&older["sha256_root_hash"]),
                &hash32(&newer["sha256_root_hash"]),
                &proof,
            )
            .unwrap_or_else(|error| panic!("consistency {first} -> {second}: {error}"));
        }
    }
    for (query, expected) in [
        ("first=3&second=2", "larger than second"),
        ("first=1&second=9", "beyond the current tree size"),
        ("first=1", "second is missing"),
    ] {
        let (status, text) = server.get(&format!("get-sth-consistency?{query}")).await;
        assert_eq!(status, 400, "{query}: {text}");
        assert!(
            text.contains(expected),
            "{query}: expected {expected:?} in {text:?}"
        );
    }
}

#[tokio::test]
async fn proof_by_hash_errors() {
    let pki = Pki::new("main");
    let (_database, server) = fresh(&pki).await;
    server
        .accept("add-pre-chain", &pki.full_chain(&pki.precert()))
        .await;
    server
        .accept("add-pre-chain", &pki.full_chain(&pki.precert()))
        .await;
    let entries = server.get_json("get-entries?start=0&end=1").await;
    let second_leaf = b64(&entries["entries"][1]["leaf_input"]);

    let (status, text) = server
        .get(&format!(
            "get-proof-by-hash?hash={}&tree_size=1",
            query_hash(&second_leaf)
        ))
        .await;
    assert_eq!(
        status, 404,
        "a leaf after the requested tree size is not in it: {text}"
    );
    let (status, text) = server
        .get(&format!(
            "get-proof-by-hash?hash={}&tree_size=2",
            query_hash(b"unknown")
        ))
        .await;
    assert_eq!(status, 404, "{text}");
    let (status, text) = server
        .get(&format!(
            "get-proof-by-hash?hash={}&tree_size=3",
            query_hash(&second_leaf)
        ))
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("beyond the current tree size"), "{text}");
    let (status, text) = server.get("get-proof-by-hash?hash=AAAA&tree_size=2").await;
    assert_eq!(status, 400, "{text}");
    let (status, text) = server
        .get(&format!(
            "get-proof-by-hash?hash={}&tree_size=0",
            query_hash(&second_leaf)
        ))
        .await;
    assert_eq!(status, 400, "{text}");

    let proof = server
        .get_json(&format!(
            "get-proof-by-hash?hash={}&tree_size=2",
            query_hash(&second_leaf)
        ))
        .await;
    inclusion_checks(&second_leaf, &proof, &server.sth().await);
}

#[tokio::test]
async fn rotated_roots_both_accepted() {
    let old = Pki::new("old");
    let new = Pki::new("new");
    let database = TestDatabase::create().await.expect("test database");
    let roots = vec![old.root_certificate(), new.root_certificate()];
    let server = start(
        &database,
        roots,
        CtlogConfig::default(),
        Arc::new(SystemClock),
    )
    .await;
    server
        .accept("add-pre-chain", &old.full_chain(&old.precert()))
        .await;
    server
        .accept("add-pre-chain", &new.full_chain(&new.precert()))
        .await;
    let roots = server.get_json("get-roots").await;
    let roots: Vec<Vec<u8>> = roots["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(b64)
        .collect();
    assert_eq!(roots, vec![old.root_der(), new.root_der()]);
}

#[tokio::test]
async fn health_metrics_and_prefix() {
    let pki = Pki::new("main");
    let database = TestDatabase::create().await.expect("test database");
    let config = CtlogConfig {
        prefix: "test/log".to_owned(),
        ..CtlogConfig::default()
    };
    let server = start(
        &database,
        vec![pki.root_certificate()],
        config,
        Arc::new(SystemClock),
    )
    .await;
    assert_eq!(server.api, format!("{}/test/log/ct/v1", server.base));
    server
        .accept("add-pre-chain", &pki.full_chain(&pki.precert()))
        .await;

    for path in ["/ping", "/healthz", "/readyz"] {
        let response = server
            .client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    let response = server
        .client
        .get(format!("{}/sigstack/ct/v1/get-sth", server.base))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status().as_u16(),
        404,
        "the default prefix is not served"
    );
    let metrics = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics");
    let metrics = metrics.text().await.expect("metrics body");
    assert!(metrics.contains(r#"ctlog_http_requests_total{code="200",method="POST",path="/test/log/ct/v1/add-pre-chain"} 1"#), "{metrics}");
    assert!(
        metrics.contains(r#"ctlog_submissions_total{entry_type="precert_entry",outcome="new"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn log_survives_reopen() {
    let pki = Pki::new("main");
    let database = TestDatabase::create().await.expect("test database");
    let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
    sigstack_logstore::migrate(&pool).await.expect("migrate");
    let signer = log_key();
    let first = CtLog::open(
        CtlogConfig::default(),
        pool.clone(),
        signer.clone(),
        vec![pki.root_certificate()],
        Arc::new(SystemClock),
        &prometheus::Registry::new(),
    )
    .await
    .expect("open");
    let tree_id = first.store().info().tree_id;
    assert_eq!(first.store().info().name, "ct");
    let second = CtLog::open(
        CtlogConfig::default(),
        pool,
        signer,
        vec![pki.root_certificate()],
        Arc::new(SystemClock),
        &prometheus::Registry::new(),
    )
    .await
    .expect("reopen");
    assert_eq!(second.store().info().tree_id, tree_id);
}

#[test]
fn roots_loaded_from_files() {
    let pki = Pki::new("main");
    let directory = tempfile::tempdir().expect("temporary directory");
    std::fs::create_dir_all(directory.path().join("trust")).expect("trust directory");
    let chain_pem = format!("{}{}", pki.intermediate.pem(), pki.root.pem());
    std::fs::write(directory.path().join("trust/ca-chain.pem"), chain_pem).expect("write chain");
    let roots =
        sigstack_ctlog::load_roots(directory.path(), &CtlogConfig::default()).expect("roots");
    assert_eq!(roots.len(), 1, "only the self-signed certificate is a root");
    assert_eq!(roots[0], pki.root_certificate());

    std::fs::write(
        directory.path().join("intermediate.pem"),
        pki.intermediate.pem(),
    )
    .expect("write");
    let config = CtlogConfig {
        roots_files: vec!["intermediate.pem".into()],
        ..CtlogConfig::default()
    };
    let error = sigstack_ctlog::load_roots(directory.path(), &config).expect_err("no root");
    assert!(
        error
            .to_string()
            .contains("contains no self-signed certificate"),
        "{error}"
    );

    let config = CtlogConfig {
        roots_files: vec!["missing.pem".into()],
        ..CtlogConfig::default()
    };
    let error = sigstack_ctlog::load_roots(directory.path(), &config).expect_err("missing file");
    assert!(error.to_string().contains("missing.pem"), "{error}");
}
