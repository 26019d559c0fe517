//! End-to-end tests of the CA over HTTP, with an OIDC issuer and an RFC 6962 CT log served on
//! 127.0.0.1 by the test itself, and every certificate checked by pyca/cryptography and openssl.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::{Decode, Encode};
use hmac::Mac as _;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use rsa::signature::SignatureEncoding as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sigstack_ca::{Ca, CaConfig, IssuerConfig, init_material, router};
use sigstack_keys::KeyPassword;
use sigstack_server::{Clock, FixedClock};
use x509_cert::Certificate;

const SCT_LIST_OID: &str = "1.3.6.1.4.1.11129.2.4.2";
const POISON_OID: &str = "1.3.6.1.4.1.11129.2.4.3";

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    address
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An OIDC identity provider: discovery and JWKS at `<base><path>`, with an RSA and an ECDSA
/// key. Keys can be added while it runs.
struct TestIssuer {
    url: String,
    rsa: rsa::RsaPrivateKey,
    ec: p256::ecdsa::SigningKey,
    jwks: Arc<Mutex<Vec<Value>>>,
}

impl TestIssuer {
    async fn start(path: &str) -> Self {
        let rsa = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("rsa key");
        let ec = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let jwks = Arc::new(Mutex::new(vec![
            rsa_jwk(&rsa, "rsa-1"),
            ec_jwk(&ec, "ec-1"),
        ]));
        let url_cell: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
        let discovery_url = url_cell.clone();
        let served_jwks = jwks.clone();
        let app = Router::new()
            .route(
                &format!("{path}/.well-known/openid-configuration"),
                get(move || {
                    let issuer = discovery_url.lock().expect("url").clone();
                    async move {
                        axum::Json(json!({
                            "issuer": issuer,
                            "jwks_uri": format!("{issuer}/keys"),
                            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                            "response_types_supported": ["id_token"],
                            "subject_types_supported": ["public"],
                        }))
                    }
                }),
            )
            .route(
                &format!("{path}/keys"),
                get(move || {
                    let keys = served_jwks.lock().expect("jwks").clone();
                    async move { axum::Json(json!({ "keys": keys })) }
                }),
            );
        let address = serve(app).await;
        let url = format!("http://{address}{path}");
        *url_cell.lock().expect("url") = url.clone();
        Self { url, rsa, ec, jwks }
    }

    fn claims(&self, email: &str, now: u64) -> Value {
        json!({
            "iss": self.url, "sub": email, "aud": "sigstore", "email": email,
            "email_verified": true, "iat": now, "nbf": now, "exp": now + 600,
        })
    }

    fn rs256(&self, kid: &str, claims: &Value) -> String {
        let signing_input =
            signing_input(&json!({"alg": "RS256", "kid": kid, "typ": "JWT"}), claims);
        let key = rsa::pkcs1v15::SigningKey::<Sha256>::new(self.rsa.clone());
        let signature = key.sign(signing_input.as_bytes()).to_vec();
        format!("{signing_input}.{}", b64url(&signature))
    }

    fn es256(&self, kid: &str, claims: &Value) -> String {
        es256_with(&self.ec, kid, claims)
    }
}

fn es256_with(key: &p256::ecdsa::SigningKey, kid: &str, claims: &Value) -> String {
    let signing_input = signing_input(&json!({"alg": "ES256", "kid": kid, "typ": "JWT"}), claims);
    // SPEC(RFC 7518 §3.4): an ES256 JWS signature is R || S, not DER.
    let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64url(&signature.to_bytes()))
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

fn rsa_jwk(key: &rsa::RsaPrivateKey, kid: &str) -> Value {
    json!({
        "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": b64url(&key.n().to_bytes_be()), "e": b64url(&key.e().to_bytes_be()),
    })
}

fn ec_jwk(key: &p256::ecdsa::SigningKey, kid: &str) -> Value {
    let point = key.verifying_key().to_encoded_point(false);
    json!({
        "kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
        "x": b64url(point.x().expect("x")), "y": b64url(point.y().expect("y")),
    })
}

/// A precertificate accepted by the CT log, as it stored it.
#[derive(Debug, Clone)]
struct StoredEntry {
    issuer_key_hash: [u8; 32],
    tbs_certificate: Vec<u8>,
}

/// An RFC 6962 add-pre-chain endpoint at `/sigstack/ct/v1/add-pre-chain` that checks the
/// poison, signs SCTs with an ECDSA P-256 key and keeps what it signed.
// The other tests use this stub so they need no PostgreSQL; the CA sees only HTTP, and
// `certificate_through_the_real_ct_log` runs the same checks against `sigstack-ctlog`.
struct TestCtLog {
    url: String,
    key: p256::ecdsa::SigningKey,
    entries: Arc<Mutex<Vec<StoredEntry>>>,
}

impl TestCtLog {
    async fn start() -> Self {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let entries = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/sigstack/ct/v1/add-pre-chain", post(add_pre_chain))
            .with_state((key.clone(), entries.clone()));
        let address = serve(app).await;
        Self {
            url: format!("http://{address}/sigstack"),
            key,
            entries,
        }
    }

    fn public_key_pem(&self) -> String {
        self.key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .expect("pem")
    }
}

type CtState = (p256::ecdsa::SigningKey, Arc<Mutex<Vec<StoredEntry>>>);

async fn add_pre_chain(
    State((key, entries)): State<CtState>,
    body: axum::Json<Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let chain: Vec<Vec<u8>> = body["chain"]
        .as_array()
        .expect("chain")
        .iter()
        .map(|entry| {
            STANDARD
                .decode(entry.as_str().expect("string"))
                .expect("base64")
        })
        .collect();
    assert_eq!(
        chain.len(),
        3,
        "the CA submits precertificate, intermediate, root"
    );
    let precertificate = Certificate::from_der(&chain[0]).expect("precertificate");
    let intermediate = Certificate::from_der(&chain[1]).expect("intermediate");
    let mut tbs = precertificate.tbs_certificate.clone();
    let extensions = tbs.extensions.as_mut().expect("extensions");
    let poison = extensions.pop().expect("poison last");
    assert_eq!(poison.extn_id.to_string(), POISON_OID);
    assert!(poison.critical);
    assert_eq!(poison.extn_value.as_bytes(), [0x05, 0x00]);
    let tbs_certificate = tbs.to_der().expect("tbs");
    let issuer_key_hash: [u8; 32] = Sha256::digest(
        intermediate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .expect("spki"),
    )
    .into();

    let timestamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("time")
        .as_millis() as u64;
    let mut signed = vec![0, 0];
    signed.extend_from_slice(&timestamp.to_be_bytes());
    signed.extend_from_slice(&1u16.to_be_bytes());
    signed.extend_from_slice(&issuer_key_hash);
    signed.extend_from_slice(&(tbs_certificate.len() as u32).to_be_bytes()[1..]);
    signed.extend_from_slice(&tbs_certificate);
    signed.extend_from_slice(&[0, 0]);
    let signature: p256::ecdsa::DerSignature = key.sign(&signed);
    let mut digitally_signed = vec![4, 3];
    digitally_signed.extend_from_slice(&(signature.as_bytes().len() as u16).to_be_bytes());
    digitally_signed.extend_from_slice(signature.as_bytes());
    entries.lock().expect("entries").push(StoredEntry {
        issuer_key_hash,
        tbs_certificate,
    });
    let log_id = Sha256::digest(
        key.verifying_key()
            .to_public_key_der()
            .expect("spki")
            .as_bytes(),
    );
    axum::Json(json!({
        "sct_version": 0, "id": STANDARD.encode(log_id), "timestamp": timestamp,
        "extensions": "", "signature": STANDARD.encode(digitally_signed),
    }))
    .into_response()
}

/// A running CA with its issuer, CT log and data directory.
struct Stack {
    ca_url: String,
    issuer: TestIssuer,
    ct_log: TestCtLog,
    clock: Arc<FixedClock>,
    data_dir: tempfile::TempDir,
    http: reqwest::Client,
}

fn email_issuer() -> IssuerConfig {
    toml::from_str("type = \"email\"").expect("issuer config")
}

async fn start_stack(customize: impl FnOnce(&mut CaConfig, &TestIssuer)) -> Stack {
    let issuer = TestIssuer::start("").await;
    let ct_log = TestCtLog::start().await;
    let data_dir = tempfile::tempdir().expect("data directory");
    let clock = Arc::new(FixedClock::new(SystemTime::now()));
    init_material(data_dir.path(), &KeyPassword::none(), clock.now()).expect("init");
    std::fs::write(data_dir.path().join("ct-log.pem"), ct_log.public_key_pem()).expect("write");

    let mut config = CaConfig {
        ct_log_url: Some(ct_log.url.parse().expect("url")),
        ct_log_public_key_file: Some(PathBuf::from("ct-log.pem")),
        ..CaConfig::default()
    };
    config
        .oidc
        .issuers
        .insert(issuer.url.clone(), email_issuer());
    customize(&mut config, &issuer);
    let registry = prometheus::Registry::new();
    let ca = Ca::load(
        &config,
        data_dir.path(),
        &KeyPassword::none(),
        clock.clone(),
        &registry,
    )
    .expect("CA starts");
    let address = serve(router(Arc::new(ca))).await;
    Stack {
        ca_url: format!("http://{address}"),
        issuer,
        ct_log,
        clock,
        data_dir,
        http: reqwest::Client::new(),
    }
}

impl Stack {
    fn now(&self) -> u64 {
        self.clock
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("time")
            .as_secs()
    }

    async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> (u16, Value, String) {
        let mut request = self.http.post(format!("{}{path}", self.ca_url)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, json, text)
    }

    /// Requests a certificate the sigstore-js way: token in the body, PEM key, signature over
    /// `challenge`, no Authorization header.
    async fn request_js(&self, token: &str, challenge: &str) -> (u16, Value, ClientKey) {
        let key = ClientKey::new();
        let proof: p256::ecdsa::DerSignature = key.signing.sign(challenge.as_bytes());
        let body = json!({
            "credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": key.public_pem},
                "proofOfPossession": STANDARD.encode(proof.as_bytes()),
            },
        });
        let (status, json, _) = self.post("/api/v2/signingCert", None, &body).await;
        (status, json, key)
    }

    /// Requests a certificate the sigstore-python way: a CSR made by pyca/cryptography, base64
    /// of its PEM, token in `Authorization: Bearer`.
    async fn request_python(&self, token: &str) -> (u16, Value, String) {
        let dir = self
            .data_dir
            .path()
            .join(format!("csr-{}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).expect("dir");
        run_python(&["make-csr", dir.to_str().expect("path")]);
        let csr = std::fs::read(dir.join("csr.pem")).expect("csr");
        let key_pem = std::fs::read_to_string(dir.join("key.pem")).expect("key");
        let key = p256::SecretKey::from_pkcs8_pem(&key_pem).expect("p256 key");
        let public_pem = key
            .public_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .expect("pem");
        let body = json!({"certificateSigningRequest": STANDARD.encode(csr)});
        let response = self
            .http
            .post(format!("{}/api/v2/signingCert", self.ca_url))
            .header("Accept", "application/pem-certificate-chain")
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let json: Value = response.json().await.unwrap_or(Value::Null);
        (status, json, public_pem)
    }

    /// Runs every independent check on an issued chain.
    fn verify(&self, chain: &[String], public_key_pem: &str, mut expected: Value) {
        assert_eq!(chain.len(), 3, "leaf, intermediate, root");
        let entries = self.ct_log.entries.lock().expect("entries").clone();
        let leaf = Certificate::from_der(&pem_to_der(&chain[0])).expect("leaf");
        let rebuilt = precertificate_tbs(&leaf);
        let stored = entries
            .iter()
            .find(|entry| entry.tbs_certificate == rebuilt)
            .expect("the CT log holds the precertificate TBS rebuilt from the certificate");
        let intermediate = Certificate::from_der(&pem_to_der(&chain[1])).expect("intermediate");
        let issuer_spki = intermediate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .expect("spki");
        assert_eq!(
            stored.issuer_key_hash,
            <[u8; 32]>::from(Sha256::digest(issuer_spki))
        );

        let fields = expected.as_object_mut().expect("object");
        fields.insert("chain".to_owned(), json!(chain));
        fields.insert(
            "ct_log_public_key_pem".to_owned(),
            json!(self.ct_log.public_key_pem()),
        );
        fields.insert("public_key_pem".to_owned(), json!(public_key_pem));
        fields.entry("validity_seconds").or_insert(json!(600));
        fields.insert(
            "stored_precertificate_tbs_hex".to_owned(),
            json!(hex::encode(&stored.tbs_certificate)),
        );
        let path = self
            .data_dir
            .path()
            .join(format!("expected-{}.json", rand::random::<u32>()));
        std::fs::write(&path, serde_json::to_vec(&expected).expect("json")).expect("write");
        let output = run_python(&["check", path.to_str().expect("path")]);
        assert_eq!(output.trim(), "ok", "pyca/cryptography checks");

        openssl_verify(self.data_dir.path(), chain);
    }
}

struct ClientKey {
    signing: p256::ecdsa::SigningKey,
    public_pem: String,
}

impl ClientKey {
    fn new() -> Self {
        let signing = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .expect("pem");
        Self {
            signing,
            public_pem,
        }
    }
}

use p256::pkcs8::DecodePrivateKey as _;

fn pem_to_der(pem: &str) -> Vec<u8> {
    der::pem::decode_vec(pem.as_bytes()).expect("pem").1
}

/// SPEC(RFC 6962 §3.2): the precertificate TBS is the certificate's TBS without the SCT list.
fn precertificate_tbs(certificate: &Certificate) -> Vec<u8> {
    let mut tbs = certificate.tbs_certificate.clone();
    let extensions = tbs.extensions.as_mut().expect("extensions");
    let before = extensions.len();
    extensions.retain(|extension| extension.extn_id.to_string() != SCT_LIST_OID);
    assert_eq!(extensions.len(), before - 1, "exactly one SCT list");
    tbs.to_der().expect("tbs")
}

fn verifier_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify_certificate.py")
}

fn run_python(arguments: &[&str]) -> String {
    let output = Command::new("python3")
        .arg(verifier_script())
        .args(arguments)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "verify_certificate.py {arguments:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `openssl verify -x509_strict` with the intermediate as untrusted. OpenSSL 3.0 has no
/// code-signing purpose; the EKU is checked by the Python verifier.
fn openssl_verify(dir: &Path, chain: &[String]) {
    let tag = rand::random::<u32>();
    let write = |name: &str, pem: &str| {
        let path = dir.join(format!("{name}-{tag}.pem"));
        std::fs::write(&path, format!("{pem}\n")).expect("write pem");
        path
    };
    let (leaf, intermediate, root) = (
        write("leaf", &chain[0]),
        write("intermediate", &chain[1]),
        write("root", &chain[2]),
    );
    // Verify at the certificate's notBefore, because the CA's clock is a test clock.
    let not_before = Certificate::from_der(&pem_to_der(&chain[0]))
        .expect("leaf")
        .tbs_certificate
        .validity
        .not_before
        .to_unix_duration()
        .as_secs();
    let output = Command::new("openssl")
        .args([
            "verify",
            "-x509_strict",
            "-attime",
            &not_before.to_string(),
            "-CAfile",
        ])
        .arg(&root)
        .arg("-untrusted")
        .arg(&intermediate)
        .arg(&leaf)
        .output()
        .expect("openssl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(": OK"),
        "openssl verify: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn certificates(response: &Value) -> Vec<String> {
    response["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .unwrap_or_else(|| panic!("no embedded-SCT chain in {response}"))
        .iter()
        .map(|pem| pem.as_str().expect("string").to_owned())
        .collect()
}

fn email_expectations(issuer: &str, email: &str) -> Value {
    json!({
        "san": ["email", email],
        "issuer": issuer,
        "subject": email,
        "extension_oids": [
            "2.5.29.15", "2.5.29.37", "2.5.29.14", "2.5.29.35", "2.5.29.17",
            "1.3.6.1.4.1.57264.1.1", "1.3.6.1.4.1.57264.1.8", "1.3.6.1.4.1.57264.1.24",
            SCT_LIST_OID,
        ],
    })
}

#[tokio::test]
async fn sigstore_js_request_with_es256_token() {
    let stack = start_stack(|_, _| {}).await;
    let email = "alice@example.com";
    let token = stack
        .issuer
        .es256("ec-1", &stack.issuer.claims(email, stack.now()));
    let (status, response, key) = stack.request_js(&token, email).await;
    assert_eq!(status, 200, "{response}");
    stack.verify(
        &certificates(&response),
        &key.public_pem,
        email_expectations(&stack.issuer.url, email),
    );
}

#[tokio::test]
async fn sigstore_python_request_with_rs256_token() {
    let stack = start_stack(|_, _| {}).await;
    let email = "bob@example.com";
    let token = stack
        .issuer
        .rs256("rsa-1", &stack.issuer.claims(email, stack.now()));
    let (status, response, public_pem) = stack.request_python(&token).await;
    assert_eq!(status, 200, "{response}");
    stack.verify(
        &certificates(&response),
        &public_pem,
        email_expectations(&stack.issuer.url, email),
    );
}

#[tokio::test]
async fn proof_over_sub_for_email_issuer() {
    // sigstore-js signs `sub` for private issuers; the identity provider's `sub` here differs
    // from the email so the two challenges are distinguishable.
    let stack = start_stack(|_, _| {}).await;
    let mut claims = stack.issuer.claims("carol@example.com", stack.now());
    claims["sub"] = json!("user-4711");
    let token = stack.issuer.es256("ec-1", &claims);
    let (status, response, key) = stack.request_js(&token, "user-4711").await;
    assert_eq!(status, 200, "{response}");
    let mut expected = email_expectations(&stack.issuer.url, "carol@example.com");
    expected["subject"] = json!("user-4711");
    stack.verify(&certificates(&response), &key.public_pem, expected);
}

#[tokio::test]
async fn github_workflow_identity() {
    let stack = start_stack(|config, issuer| {
        config.oidc.issuers.insert(
            issuer.url.clone(),
            toml::from_str("type = \"github-workflow\"").expect("issuer"),
        );
    })
    .await;
    let now = stack.now();
    let subject = "repo:octo/app:ref:refs/heads/main";
    let claims = json!({
        "iss": stack.issuer.url, "aud": "sigstore", "sub": subject, "iat": now, "exp": now + 300,
        "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
        "sha": "0123abcd", "event_name": "push", "repository": "octo/app", "workflow": "Release",
        "ref": "refs/heads/main", "job_workflow_sha": "4567ef", "runner_environment": "github-hosted",
        "repository_id": "11", "repository_owner": "octo", "repository_owner_id": "22",
        "repository_visibility": "public",
        "workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
        "workflow_sha": "0123abcd", "run_id": "42", "run_attempt": "1",
    });
    let token = stack.issuer.rs256("rsa-1", &claims);
    let (status, response, key) = stack.request_js(&token, subject).await;
    assert_eq!(status, 200, "{response}");
    let san = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main";
    let arc = |n: u32| format!("1.3.6.1.4.1.57264.1.{n}");
    let mut oids = vec![
        "2.5.29.15",
        "2.5.29.37",
        "2.5.29.14",
        "2.5.29.35",
        "2.5.29.17",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    oids.extend(
        [
            1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 24,
        ]
        .map(arc),
    );
    oids.push(SCT_LIST_OID.to_owned());
    let utf8: BTreeMap<String, &str> = [
        (9, san),
        (10, "4567ef"),
        (11, "github-hosted"),
        (12, "https://github.com/octo/app"),
        (13, "0123abcd"),
        (14, "refs/heads/main"),
        (15, "11"),
        (16, "https://github.com/octo"),
        (17, "22"),
        (
            18,
            "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
        ),
        (19, "0123abcd"),
        (20, "push"),
        (21, "https://github.com/octo/app/actions/runs/42/attempts/1"),
        (22, "public"),
    ]
    .into_iter()
    .map(|(n, value)| (arc(n), value))
    .collect();
    let raw: BTreeMap<String, &str> = [
        (2, "push"),
        (3, "0123abcd"),
        (4, "Release"),
        (5, "octo/app"),
        (6, "refs/heads/main"),
    ]
    .into_iter()
    .map(|(n, value)| (arc(n), value))
    .collect();
    let expected = json!({
        "san": ["uri", san], "issuer": stack.issuer.url, "subject": subject,
        "extension_oids": oids, "utf8_extensions": utf8, "raw_extensions": raw,
    });
    stack.verify(&certificates(&response), &key.public_pem, expected);
}

#[tokio::test]
async fn meta_issuer_kubernetes_identity() {
    let issuer = TestIssuer::start("/id/cluster-a").await;
    let pattern = issuer.url.replace("/id/cluster-a", "/id/*");
    let stack = start_stack(|config, _| {
        config.oidc.meta_issuers.insert(
            pattern.clone(),
            toml::from_str("type = \"kubernetes\"").expect("issuer"),
        );
    })
    .await;
    let now = stack.now();
    let subject = "system:serviceaccount:build:signer";
    let claims = json!({
        "iss": issuer.url, "aud": ["sigstore", "other"], "sub": subject, "iat": now, "exp": now + 300,
        "kubernetes.io": {"namespace": "build", "serviceaccount": {"name": "signer", "uid": "u-1"}},
    });
    let token = issuer.es256("ec-1", &claims);
    let (status, response, key) = stack.request_js(&token, subject).await;
    assert_eq!(status, 200, "{response}");
    let san = "https://kubernetes.io/namespaces/build/serviceaccounts/signer";
    let mut expected = email_expectations(&issuer.url, subject);
    expected["san"] = json!(["uri", san]);
    stack.verify(&certificates(&response), &key.public_pem, expected);
}

#[tokio::test]
async fn username_identity_uses_other_name() {
    let stack = start_stack(|config, issuer| {
        config.oidc.issuers.insert(
            issuer.url.clone(),
            toml::from_str("type = \"username\"\nsubject_domain = \"127.0.0.1\"").expect("issuer"),
        );
    })
    .await;
    let now = stack.now();
    let claims = json!({"iss": stack.issuer.url, "aud": "sigstore", "sub": "dave", "iat": now, "exp": now + 300});
    let token = stack.issuer.es256("ec-1", &claims);
    let (status, response, key) = stack.request_js(&token, "dave").await;
    assert_eq!(status, 200, "{response}");
    let mut expected = email_expectations(&stack.issuer.url, "dave");
    expected["san"] = json!(["username", "dave!127.0.0.1"]);
    stack.verify(&certificates(&response), &key.public_pem, expected);
}

#[tokio::test]
async fn rejected_tokens_and_proofs() {
    let stack = start_stack(|config, _| {
        config.oidc.meta_issuers.insert(
            "https://oidc.eks.*.amazonaws.com/id/*".to_owned(),
            toml::from_str("type = \"kubernetes\"").expect("issuer"),
        );
    })
    .await;
    let issuer = &stack.issuer;
    let now = stack.now();
    let email = "erin@example.com";
    let base = issuer.claims(email, now);
    let with = |changes: Value| {
        let mut claims = base.clone();
        for (name, value) in changes.as_object().expect("object") {
            claims[name] = value.clone();
        }
        claims
    };
    let header_only = |header: Value, claims: &Value, signature: &[u8]| {
        format!("{}.{}", signing_input(&header, claims), b64url(signature))
    };
    // HS256 with the issuer's RSA public key (PEM) as the MAC secret: the classic key
    // confusion attack.
    let public_pem = issuer
        .rsa
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .expect("pem");
    let hs256_input = signing_input(
        &json!({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}),
        &base,
    );
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(public_pem.as_bytes()).expect("hmac");
    mac.update(hs256_input.as_bytes());
    let hs256 = format!("{hs256_input}.{}", b64url(&mac.finalize().into_bytes()));
    let stranger = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);

    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("expired", issuer.es256("ec-1", &with(json!({"iat": now - 1200, "nbf": now - 1200, "exp": now - 600}))), email, "expired"),
        ("nbf 6 minutes ahead", issuer.es256("ec-1", &with(json!({"nbf": now + 360}))), email, "not valid yet"),
        ("wrong audience", issuer.es256("ec-1", &with(json!({"aud": "not-sigstore"}))), email, "wrong audience"),
        ("issuer not configured", issuer.es256("ec-1", &with(json!({"iss": "https://unknown.example.com"}))), email, "not a configured OIDC issuer"),
        ("alg none", header_only(json!({"alg": "none", "typ": "JWT"}), &base, b""), email, "not allowed"),
        ("HS256 with the public key as secret", hs256, email, "not allowed"),
        ("unknown kid", es256_with(&stranger, "ec-unknown", &base), email, "key id"),
        ("known kid, wrong key", es256_with(&stranger, "ec-1", &base), email, "signature is invalid"),
        ("email_verified false", issuer.es256("ec-1", &with(json!({"email_verified": false}))), email, "email_verified"),
        ("proof over the wrong name", issuer.es256("ec-1", &base), "mallory@example.com", "could not be verified"),
        (
            "meta-issuer SSRF",
            issuer.es256("ec-1", &with(json!({"iss": "https://evil.example/?x=https://oidc.eks.us-east-1.amazonaws.com/id/1"}))),
            email,
            "not a configured OIDC issuer",
        ),
    ];
    for (name, token, challenge, expected_message) in cases {
        let (status, response, _) = stack.request_js(&token, challenge).await;
        assert_eq!(status, 400, "{name}: {response}");
        assert_eq!(response["code"], 3, "{name}: {response}");
        assert_eq!(response["details"], json!([]), "{name}: {response}");
        let message = response["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected_message), "{name}: {message}");
    }
    assert!(
        stack.ct_log.entries.lock().expect("entries").is_empty(),
        "nothing reached the CT log"
    );

    let (status, response, _) = stack
        .post(
            "/api/v2/signingCert",
            None,
            &json!({"certificateSigningRequest": "AAAA"}),
        )
        .await;
    assert_eq!(
        (status, response["code"].clone()),
        (401, json!(16)),
        "missing token: {response}"
    );
}

#[tokio::test]
async fn jwks_is_refetched_for_a_rotated_key() {
    let stack = start_stack(|_, _| {}).await;
    let email = "frank@example.com";
    let token = stack
        .issuer
        .es256("ec-1", &stack.issuer.claims(email, stack.now()));
    let (status, response, _) = stack.request_js(&token, email).await;
    assert_eq!(status, 200, "first request fetches the JWKS: {response}");

    let rotated = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    stack
        .issuer
        .jwks
        .lock()
        .expect("jwks")
        .push(ec_jwk(&rotated, "ec-2"));
    stack
        .clock
        .advance(sigstack_ca::MIN_JWKS_REFRESH_INTERVAL + Duration::from_secs(1));
    let token = es256_with(&rotated, "ec-2", &stack.issuer.claims(email, stack.now()));
    let (status, response, key) = stack.request_js(&token, email).await;
    assert_eq!(status, 200, "a new kid triggers a JWKS fetch: {response}");
    stack.verify(
        &certificates(&response),
        &key.public_pem,
        email_expectations(&stack.issuer.url, email),
    );
}

#[tokio::test]
async fn legacy_v1_and_published_chain() {
    let stack = start_stack(|_, _| {}).await;
    let email = "grace@example.com";
    let token = stack
        .issuer
        .es256("ec-1", &stack.issuer.claims(email, stack.now()));

    // gitsign's request: DER key bytes and a signature over the email, token in the header.
    let key = ClientKey::new();
    let der = key
        .signing
        .verifying_key()
        .to_public_key_der()
        .expect("der");
    let proof: p256::ecdsa::DerSignature = key.signing.sign(email.as_bytes());
    let body = json!({
        "publicKey": {"content": STANDARD.encode(der.as_bytes()), "algorithm": "ecdsa"},
        "signedEmailAddress": STANDARD.encode(proof.as_bytes()),
    });
    let response = stack
        .http
        .post(format!("{}/api/v1/signingCert", stack.ca_url))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        response.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let text = response.text().await.expect("body");
    let chain: Vec<String> = text
        .split_inclusive("-----END CERTIFICATE-----")
        .map(|pem| pem.trim().to_owned())
        .filter(|pem| !pem.is_empty())
        .collect();
    stack.verify(
        &chain,
        &key.public_pem,
        email_expectations(&stack.issuer.url, email),
    );

    let bundle: Value = stack
        .http
        .get(format!("{}/api/v2/trustBundle", stack.ca_url))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(bundle["chains"][0]["certificates"], json!(chain[1..]));

    let root_cert = stack
        .http
        .get(format!("{}/api/v1/rootCert", stack.ca_url))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    assert_eq!(root_cert, chain[1..].join("\n"));
    let on_disk = std::fs::read_to_string(stack.data_dir.path().join("trust/ca-chain.pem"))
        .expect("chain file");
    assert_eq!(on_disk.matches("BEGIN CERTIFICATE").count(), 2);

    let configuration: Value = stack
        .http
        .get(format!("{}/api/v2/configuration", stack.ca_url))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(
        configuration,
        json!({"issuers": [{
            "issuerUrl": stack.issuer.url, "audience": "sigstore", "challengeClaim": "email",
            "spiffeTrustDomain": "", "issuerType": "email", "subjectDomain": "",
            "skipEmailVerification": false,
        }]})
    );

    for path in ["/ping", "/healthz", "/readyz"] {
        let status = stack
            .http
            .get(format!("{}{path}", stack.ca_url))
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(status.as_u16(), 200, "{path}");
    }
    let metrics = stack
        .http
        .get(format!("{}/metrics", stack.ca_url))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("fulcio_new_certs 1"), "{metrics}");
    assert!(metrics.contains("fulcio_http_requests_total"), "{metrics}");
}

#[tokio::test]
async fn startup_refusals() {
    let data_dir = tempfile::tempdir().expect("data directory");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(SystemTime::now()));
    init_material(data_dir.path(), &KeyPassword::none(), clock.now()).expect("init");
    let load = |config: &CaConfig| {
        Ca::load(
            config,
            data_dir.path(),
            &KeyPassword::none(),
            clock.clone(),
            &prometheus::Registry::new(),
        )
        .expect_err("start-up must fail")
        .to_string()
    };

    let with_path = CaConfig {
        public_url: "https://ca.example.com/fulcio".parse().expect("url"),
        ..CaConfig::default()
    };
    assert!(load(&with_path).contains("has a path"));

    let without_ct_log = CaConfig {
        ct_log_url: None,
        ..CaConfig::default()
    };
    assert!(load(&without_ct_log).contains("allow_without_ct_log"));

    // A key that is not the intermediate's.
    let other = tempfile::tempdir().expect("other directory");
    init_material(other.path(), &KeyPassword::none(), clock.now()).expect("init");
    let mismatched = CaConfig {
        key_file: other.path().join("keys/ca.pem"),
        ..CaConfig::default()
    };
    assert!(load(&mismatched).contains("does not match"));

    // A chain file that lists the root first names the root as issuing CA, whose key is not
    // the configured one.
    let chain = std::fs::read_to_string(data_dir.path().join("trust/ca-chain.pem")).expect("chain");
    let blocks: Vec<&str> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .collect();
    std::fs::write(
        data_dir.path().join("reversed.pem"),
        [blocks[1], blocks[0]].concat(),
    )
    .expect("write");
    let reversed = CaConfig {
        chain_file: PathBuf::from("reversed.pem"),
        ..CaConfig::default()
    };
    assert!(load(&reversed).contains("does not match"));
}

/// Parses an RFC 6962 §3.4 MerkleTreeLeaf holding a precertificate entry and returns the
/// issuer key hash and the TBSCertificate the log signed.
fn precertificate_leaf(leaf: &[u8]) -> ([u8; 32], Vec<u8>) {
    assert_eq!(&leaf[..2], [0, 0], "version v1, timestamped_entry");
    assert_eq!(&leaf[10..12], [0, 1], "entry_type precert_entry");
    let issuer_key_hash: [u8; 32] = leaf[12..44].try_into().expect("32 bytes");
    let length = u32::from_be_bytes([0, leaf[44], leaf[45], leaf[46]]) as usize;
    (issuer_key_hash, leaf[47..47 + length].to_vec())
}

#[tokio::test]
async fn certificate_through_the_real_ct_log() {
    let data_dir = tempfile::tempdir().expect("data directory");
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(SystemTime::now()));
    init_material(data_dir.path(), &KeyPassword::none(), clock.now()).expect("init");
    let chain_pem = std::fs::read(data_dir.path().join("trust/ca-chain.pem")).expect("chain");
    let ca_chain = Certificate::load_pem_chain(&chain_pem).expect("chain");

    // The CT log on PostgreSQL, trusting the CA's root as `sigstack up` configures it.
    let database = sigstack_pgcluster::TestDatabase::create()
        .await
        .expect("test database");
    let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
    sigstack_logstore::migrate(&pool).await.expect("migrate");
    let log_key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let log_signer = sigstack_keys::LogSigner::new(log_key.clone()).expect("log key");
    let registry = prometheus::Registry::new();
    let ctlog = sigstack_ctlog::CtLog::open(
        sigstack_ctlog::CtlogConfig::default(),
        pool,
        log_signer.clone(),
        vec![ca_chain[1].clone()],
        clock.clone(),
        &registry,
    )
    .await
    .expect("open CT log");
    let ct_address = serve(sigstack_ctlog::router(ctlog, registry)).await;
    std::fs::write(
        data_dir.path().join("ct-log.pem"),
        log_signer.public_key_pem(),
    )
    .expect("write");

    let issuer = TestIssuer::start("").await;
    let mut config = CaConfig {
        ct_log_url: Some(
            format!("http://{ct_address}/sigstack")
                .parse()
                .expect("url"),
        ),
        ct_log_public_key_file: Some(PathBuf::from("ct-log.pem")),
        ..CaConfig::default()
    };
    config
        .oidc
        .issuers
        .insert(issuer.url.clone(), email_issuer());
    let ca = Ca::load(
        &config,
        data_dir.path(),
        &KeyPassword::none(),
        clock.clone(),
        &prometheus::Registry::new(),
    )
    .expect("CA starts");
    let ca_address = serve(router(Arc::new(ca))).await;

    let email = "heidi@example.com";
    let now = clock
        .now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let token = issuer.es256("ec-1", &issuer.claims(email, now));
    let key = ClientKey::new();
    let proof: p256::ecdsa::DerSignature = key.signing.sign(email.as_bytes());
    let http = reqwest::Client::new();
    let response: Value = http
        .post(format!("http://{ca_address}/api/v2/signingCert"))
        .json(&json!({
            "credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {
                "publicKey": {"algorithm": "ECDSA", "content": key.public_pem},
                "proofOfPossession": STANDARD.encode(proof.as_bytes()),
            },
        }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let chain = certificates(&response);

    // The log's stored entry is the precertificate TBS rebuilt from the final certificate.
    let entries: Value = http
        .get(format!(
            "http://{ct_address}/sigstack/ct/v1/get-entries?start=0&end=0"
        ))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let leaf_input = STANDARD
        .decode(
            entries["entries"][0]["leaf_input"]
                .as_str()
                .expect("leaf_input"),
        )
        .expect("base64");
    let (issuer_key_hash, stored_tbs) = precertificate_leaf(&leaf_input);
    let leaf = Certificate::from_der(&pem_to_der(&chain[0])).expect("leaf");
    assert_eq!(precertificate_tbs(&leaf), stored_tbs);
    let issuer_spki = ca_chain[0]
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("spki");
    assert_eq!(
        issuer_key_hash,
        <[u8; 32]>::from(Sha256::digest(issuer_spki))
    );

    let mut expected = email_expectations(&issuer.url, email);
    let fields = expected.as_object_mut().expect("object");
    fields.insert("chain".to_owned(), json!(chain));
    fields.insert(
        "ct_log_public_key_pem".to_owned(),
        json!(log_signer.public_key_pem()),
    );
    fields.insert("public_key_pem".to_owned(), json!(key.public_pem));
    fields.insert("validity_seconds".to_owned(), json!(600));
    fields.insert(
        "stored_precertificate_tbs_hex".to_owned(),
        json!(hex::encode(&stored_tbs)),
    );
    let path = data_dir.path().join("expected.json");
    std::fs::write(&path, serde_json::to_vec(&expected).expect("json")).expect("write");
    assert_eq!(
        run_python(&["check", path.to_str().expect("path")]).trim(),
        "ok"
    );
    openssl_verify(data_dir.path(), &chain);
}
