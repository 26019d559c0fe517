//! Repository and HTTP tests, with python-tuf's ngclient as the client where one is installed.
//!
//! The client runs `tests/interop/trust_tuf_client.py` with the Python named by
//! `SIGSTACK_PYTHON`, or with the virtualenv under `$SIGSTACK_CACHE` (default
//! `~/.cache/sigstack/venv`) when it has the `tuf` package. Without one, the client steps are
//! skipped with a message and only the Rust-side checks run.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use sha2::{Digest, Sha256};
use sigstack_keys::KeyPassword;
use sigstack_server::{Clock, FixedClock, SystemClock};
use sigstack_trust::{
    CertificateAuthorityInput, IdentityProviderInput, LogInput, TimestampAuthorityInput,
    TrustInputs, certificate_chain_from_pem, spki_from_pem,
};
use sigstack_tuf::{
    TRUST_ANCHOR_PATH, TufConfig, TufRepository, init_repository, router, sigstore_targets,
};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/trust/tests/data")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn trust_inputs() -> TrustInputs {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    TrustInputs {
        operator: "example.com".to_owned(),
        transparency_log: LogInput {
            url: "http://127.0.0.1:3000".to_owned(),
            spki_der: spki_from_pem(&fixture("tlog.pub.pem")).expect("tlog key"),
            valid_from: start,
        },
        ct_log: LogInput {
            url: "http://127.0.0.1:6962/sigstack".to_owned(),
            spki_der: spki_from_pem(&fixture("ctlog.pub.pem")).expect("ctlog key"),
            valid_from: start,
        },
        certificate_authority: CertificateAuthorityInput {
            url: "http://127.0.0.1:5555".to_owned(),
            chain_der: certificate_chain_from_pem(&fixture("ca-chain.pem")).expect("CA chain"),
            valid_from: start,
        },
        timestamp_authority: TimestampAuthorityInput {
            url: "http://127.0.0.1:3003/api/v1/timestamp".to_owned(),
            chain_der: certificate_chain_from_pem(&fixture("tsa-chain.pem")).expect("TSA chain"),
            valid_from: start,
        },
        identity_provider: Some(IdentityProviderInput {
            url: "http://127.0.0.1:5556".to_owned(),
            valid_from: start,
        }),
    }
}

fn short_config() -> TufConfig {
    TufConfig {
        timestamp_expiry_secs: 600,
        refresh_interval_secs: 60,
        ..TufConfig::default()
    }
}

/// A data directory with keys, root version 1 and the fixture targets published at `clock`.
fn published_repository(
    config: &TufConfig,
    clock: &dyn Clock,
) -> (tempfile::TempDir, Arc<TufRepository>) {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let password = KeyPassword::none();
    init_repository(data_dir.path(), &password, config, clock).expect("init");
    let repository = TufRepository::open(data_dir.path(), &password, config).expect("open");
    let targets = sigstore_targets(&trust_inputs()).expect("targets");
    let signed = repository.publish(&targets, clock).expect("publish");
    assert_eq!(signed.targets, Some(1));
    (data_dir, Arc::new(repository))
}

async fn start_server(repository: Arc<TufRepository>, clock: Arc<dyn Clock>) -> SocketAddr {
    let registry = prometheus::Registry::new();
    let app = router(repository, clock, &registry).expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// Python with python-tuf installed, if any.
fn tuf_python() -> Option<PathBuf> {
    let python = match std::env::var_os("SIGSTACK_PYTHON") {
        Some(python) => PathBuf::from(python),
        None => {
            let cache = std::env::var_os("SIGSTACK_CACHE")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/sigstack"))
                })?;
            cache.join("venv/bin/python")
        }
    };
    let has_tuf = Command::new(&python)
        .args(["-c", "import tuf.ngclient"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_tuf {
        eprintln!(
            "skipped the python-tuf client: no Python with the tuf package (set SIGSTACK_PYTHON)"
        );
    }
    has_tuf.then_some(python)
}

/// Runs the python-tuf client; returns its JSON report or its error output.
async fn run_client(
    python: &Path,
    address: SocketAddr,
    anchor: &Path,
    cache: &Path,
    targets: &[&str],
) -> Result<Value, String> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/trust_tuf_client.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .args(["--url", &format!("http://{address}")])
        .arg("--root")
        .arg(anchor)
        .arg("--cache")
        .arg(cache);
    for target in targets {
        command.args(["--target", target]);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("client task")
        .expect("run python");
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("client JSON"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread")]
async fn python_tuf_fetches_published_targets() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = TufConfig::default();
    let (data_dir, repository) = published_repository(&config, clock.as_ref());
    let address = start_server(repository.clone(), clock.clone()).await;
    let Some(python) = tuf_python() else { return };
    let anchor = data_dir.path().join(TRUST_ANCHOR_PATH);
    let cache = data_dir.path().join("client");

    let inputs = trust_inputs();
    let expected = sigstore_targets(&inputs).expect("targets");
    let names: Vec<&str> = expected.iter().map(|target| target.name.as_str()).collect();
    let report = run_client(&python, address, &anchor, &cache, &names)
        .await
        .expect("client accepts");
    assert_eq!(report["targets_version"], 1);
    for target in &expected {
        assert_eq!(
            report["targets"][&target.name]["sha256"],
            sha256_hex(&target.contents),
            "{}",
            target.name
        );
    }
    let trusted_root = sigstack_trust::render(&inputs)
        .expect("render")
        .trusted_root;
    assert_eq!(
        report["targets"]["trusted_root.json"]["sha256"],
        sha256_hex(trusted_root.as_bytes())
    );
    assert_eq!(
        report["targets"]["rekor.pub"]["custom"]["sigstore"]["usage"],
        "Rekor"
    );
    assert_eq!(
        report["targets"]["tsa_intermediate_0.crt.pem"]["custom"]["sigstore"]["usage"],
        "TSA"
    );

    // New trust material: the same client, from its cached state, moves to targets version 2.
    let mut changed = inputs.clone();
    changed.timestamp_authority.url = "http://127.0.0.1:3004/api/v1/timestamp".to_owned();
    let signed = repository
        .publish(
            &sigstore_targets(&changed).expect("targets"),
            clock.as_ref(),
        )
        .expect("publish");
    assert_eq!(signed.targets, Some(2));
    let report = run_client(
        &python,
        address,
        &anchor,
        &cache,
        &["signing_config.v0.2.json"],
    )
    .await
    .expect("client accepts the new version");
    assert_eq!(report["targets_version"], 2);
    let signing_config = sigstack_trust::render(&changed)
        .expect("render")
        .signing_config;
    assert_eq!(
        report["targets"]["signing_config.v0.2.json"]["sha256"],
        sha256_hex(signing_config.as_bytes())
    );
}

#[test]
fn unchanged_targets_publish_nothing() {
    let clock = SystemClock;
    let config = TufConfig::default();
    let (_data_dir, repository) = published_repository(&config, &clock);
    let targets = sigstore_targets(&trust_inputs()).expect("targets");
    let signed = repository.publish(&targets, &clock).expect("publish");
    assert!(signed.is_empty(), "{signed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn timestamp_resigned_before_expiry() {
    let config = short_config();
    let clock = Arc::new(FixedClock::new(SystemTime::now()));
    let (data_dir, repository) = published_repository(&config, clock.as_ref());
    let timestamp_path = data_dir.path().join("tuf/timestamp.json");
    let first_expires = repository
        .timestamp_expires()
        .expect("read")
        .expect("published");

    // 600-second lifetime: nothing to do until less than 300 seconds are left.
    assert!(
        repository
            .refresh(clock.as_ref())
            .expect("refresh")
            .is_empty()
    );
    clock.advance(Duration::from_secs(299));
    assert!(
        repository
            .refresh(clock.as_ref())
            .expect("refresh")
            .is_empty()
    );

    clock.advance(Duration::from_secs(2));
    let signed = repository.refresh(clock.as_ref()).expect("refresh");
    assert_eq!(signed.timestamp, Some(2));
    assert_eq!(signed.snapshot, None);
    assert_eq!(signed.targets, None);
    let second_expires = repository
        .timestamp_expires()
        .expect("read")
        .expect("published");
    assert_eq!(
        second_expires
            .duration_since(first_expires)
            .expect("later")
            .as_secs(),
        301
    );
    let timestamp: Value =
        serde_json::from_slice(&std::fs::read(&timestamp_path).expect("read")).expect("JSON");
    assert_eq!(timestamp["signed"]["version"], 2);

    let address = start_server(repository, clock).await;
    let Some(python) = tuf_python() else { return };
    let anchor = data_dir.path().join(TRUST_ANCHOR_PATH);
    let report = run_client(
        &python,
        address,
        &anchor,
        &data_dir.path().join("client"),
        &[],
    )
    .await
    .expect("client accepts the re-signed timestamp");
    assert_eq!(report["timestamp_version"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_timestamp_rejected_until_refreshed() {
    let config = short_config();
    // Published 700 seconds ago with a 600-second timestamp: expired for a client using the
    // real time.
    let clock = Arc::new(FixedClock::new(
        SystemTime::now() - Duration::from_secs(700),
    ));
    let (data_dir, repository) = published_repository(&config, clock.as_ref());
    let address = start_server(repository.clone(), clock.clone()).await;
    let Some(python) = tuf_python() else { return };
    let anchor = data_dir.path().join(TRUST_ANCHOR_PATH);
    let cache = data_dir.path().join("client");

    let error = run_client(&python, address, &anchor, &cache, &[])
        .await
        .unwrap_err();
    assert!(error.contains("xpired"), "{error}");

    clock.advance(Duration::from_secs(700));
    let signed = repository.refresh(clock.as_ref()).expect("refresh");
    assert_eq!(signed.timestamp, Some(2));
    let report = run_client(&python, address, &anchor, &cache, &["trusted_root.json"])
        .await
        .expect("client accepts after refresh");
    assert_eq!(report["timestamp_version"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_files_rejected_by_client() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = TufConfig::default();
    let (data_dir, repository) = published_repository(&config, clock.as_ref());
    let address = start_server(repository, clock).await;
    let Some(python) = tuf_python() else { return };
    let anchor = data_dir.path().join(TRUST_ANCHOR_PATH);
    let tuf_dir = data_dir.path().join("tuf");

    // A target file whose bytes no longer match the hash in targets metadata.
    let target = std::fs::read_dir(tuf_dir.join("targets"))
        .expect("targets directory")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.to_string_lossy().ends_with(".trusted_root.json"))
        .expect("trusted_root.json target");
    let original = std::fs::read(&target).expect("read");
    std::fs::write(&target, b"{\"mediaType\": \"tampered\"}\n").expect("write");
    let error = run_client(
        &python,
        address,
        &anchor,
        &data_dir.path().join("client-1"),
        &["trusted_root.json"],
    )
    .await
    .unwrap_err();
    assert!(error.contains("ength") || error.contains("ash"), "{error}");
    std::fs::write(&target, original).expect("restore");

    // Timestamp metadata changed after signing: the signature no longer verifies.
    let timestamp_path = tuf_dir.join("timestamp.json");
    let mut timestamp: Value =
        serde_json::from_slice(&std::fs::read(&timestamp_path).expect("read")).expect("JSON");
    timestamp["signed"]["expires"] = Value::from("2099-01-01T00:00:00Z");
    std::fs::write(
        &timestamp_path,
        serde_json::to_vec(&timestamp).expect("encode"),
    )
    .expect("write");
    let error = run_client(
        &python,
        address,
        &anchor,
        &data_dir.path().join("client-2"),
        &[],
    )
    .await
    .unwrap_err();
    assert!(
        error.contains("ignature") || error.contains("threshold"),
        "{error}"
    );
}

/// Sends `GET <path>` byte for byte, without the normalisation an HTTP client library applies,
/// and returns the status code and the response head.
fn raw_get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let head = response
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_owned();
    (status, head)
}

#[tokio::test(flavor = "multi_thread")]
async fn traversal_requests_get_client_errors() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = TufConfig::default();
    let (_data_dir, repository) = published_repository(&config, clock.as_ref());
    let address = start_server(repository, clock).await;

    for path in [
        "/../keys/tuf-root.pem",
        "/targets/../../keys/tuf-root.pem",
        "/%2e%2e/keys/tuf-root.pem",
        "/targets%2f..%2f..%2fkeys%2ftuf-root.pem",
        "/keys/tuf-root.pem",
        "/targets/",
        "/targets",
        "/.timestamp.json.tmp",
        "/2.root.json",
    ] {
        let (status, _) = get(address, path).await;
        assert!(status == 400 || status == 404, "{path}: {status}");
    }

    let (status, head) = get(address, "/1.root.json").await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: application/json"), "{head}");
    let (status, head) = get(address, "/timestamp.json").await;
    assert_eq!(status, 200);
    assert!(head.contains("cache-control: no-cache"), "{head}");
    let (status, _) = get(address, "/readyz").await;
    assert_eq!(status, 200);
}

/// Runs [`raw_get`] off the async runtime and lowercases the response head.
async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_owned();
    let (status, head) = tokio::task::spawn_blocking(move || raw_get(address, &path))
        .await
        .expect("request task");
    (status, head.to_ascii_lowercase())
}

#[test]
fn two_inits_give_different_roots() {
    let clock = SystemClock;
    let config = TufConfig::default();
    let first = tempfile::tempdir().expect("temporary directory");
    let second = tempfile::tempdir().expect("temporary directory");
    init_repository(first.path(), &KeyPassword::none(), &config, &clock).expect("first init");
    init_repository(second.path(), &KeyPassword::none(), &config, &clock).expect("second init");
    let first_root = std::fs::read(first.path().join(TRUST_ANCHOR_PATH)).expect("read");
    let second_root = std::fs::read(second.path().join(TRUST_ANCHOR_PATH)).expect("read");
    assert_ne!(first_root, second_root);
}

#[test]
fn second_init_keeps_the_root() {
    let clock = SystemClock;
    let config = TufConfig::default();
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let first =
        init_repository(data_dir.path(), &KeyPassword::none(), &config, &clock).expect("init");
    assert!(first.created_keys);
    assert!(first.created_root);
    let root = std::fs::read(data_dir.path().join(TRUST_ANCHOR_PATH)).expect("read");

    let second =
        init_repository(data_dir.path(), &KeyPassword::none(), &config, &clock).expect("init");
    assert!(!second.created_keys, "{second:?}");
    assert!(!second.created_root, "{second:?}");
    assert_eq!(
        std::fs::read(data_dir.path().join(TRUST_ANCHOR_PATH)).expect("read"),
        root
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replaced_online_key_needs_new_root() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = TufConfig::default();
    let password = KeyPassword::none();
    let (data_dir, repository) = published_repository(&config, clock.as_ref());
    drop(repository);

    let key_path = data_dir.path().join(sigstack_tuf::TIMESTAMP_KEY_PATH);
    std::fs::remove_file(&key_path).expect("remove key");
    init_repository(data_dir.path(), &password, &config, clock.as_ref()).expect("new key");
    let error = TufRepository::open(data_dir.path(), &password, &config).unwrap_err();
    assert!(error.to_string().contains("timestamp key"), "{error}");

    let version = TufRepository::renew_root(data_dir.path(), &password, &config, clock.as_ref())
        .expect("renew");
    assert_eq!(version, 2);
    let repository =
        Arc::new(TufRepository::open(data_dir.path(), &password, &config).expect("open"));
    let signed = repository.refresh(clock.as_ref()).expect("refresh");
    assert_eq!(signed.timestamp, Some(2));

    let address = start_server(repository, clock).await;
    let Some(python) = tuf_python() else { return };
    let anchor = data_dir.path().join(TRUST_ANCHOR_PATH);
    let report = run_client(
        &python,
        address,
        &anchor,
        &data_dir.path().join("client"),
        &["trusted_root.json"],
    )
    .await
    .expect("client follows the root rotation");
    assert_eq!(report["root_version"], 2);
}
