//! Load test of the CA with its CT log, all on 127.0.0.1 in one process: an OIDC issuer, the
//! CT log on a private PostgreSQL cluster, and the CA. Workers request certificates the way
//! sigstore-js does (token in the body, P-256 key, proof of possession over the email) and
//! report certificates per second with p50 and p99 latency.
//!
//! ```sh
//! cargo run --release -p sigstack-ca --example ca-bench -- --concurrency 32 --seconds 20
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::Parser;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::EncodePublicKey as _;
use serde_json::{Value, json};
use sigstack_ca::{Ca, CaConfig, init_material, router};
use sigstack_keys::KeyPassword;
use sigstack_server::{Clock, SystemClock};

/// Distance between the key indexes one worker uses in turn, so workers do not all send the
/// same body.
const KEY_STRIDE: usize = 7;

#[derive(Parser)]
struct Arguments {
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds of warm-up, not measured.
    #[arg(long, default_value_t = 3)]
    warm_up: u64,
    /// Issue without the CT log, to measure what its round trip costs.
    #[arg(long)]
    without_ct_log: bool,
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Starts an OIDC issuer with one ES256 key and returns its URL and key.
async fn start_issuer() -> (String, p256::ecdsa::SigningKey) {
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let point = key.verifying_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "kid": "k1", "alg": "ES256", "crv": "P-256",
        "x": b64url(point.x().expect("x")), "y": b64url(point.y().expect("y")),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let issuer = url.clone();
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || {
                let issuer = issuer.clone();
                async move {
                    axum::Json(json!({
                        "issuer": issuer, "jwks_uri": format!("{issuer}/keys"),
                        "id_token_signing_alg_values_supported": ["ES256"],
                    }))
                }
            }),
        )
        .route(
            "/keys",
            get(move || async move { axum::Json(json!({ "keys": [jwk] })) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, key)
}

#[tokio::main]
async fn main() {
    let arguments = Arguments::parse();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let data_dir = tempfile::tempdir().expect("data directory");
    init_material(data_dir.path(), &KeyPassword::none(), clock.now()).expect("init");
    let chain_pem = std::fs::read(data_dir.path().join("trust/ca-chain.pem")).expect("chain");
    let chain = x509_cert::Certificate::load_pem_chain(&chain_pem).expect("chain");

    // The CT log, on its own PostgreSQL cluster, trusting the CA's root.
    let database = sigstack_pgcluster::TestDatabase::create()
        .await
        .expect("PostgreSQL");
    let pool = sqlx::PgPool::connect(&database.url).await.expect("connect");
    sigstack_logstore::migrate(&pool).await.expect("migrate");
    let log_signer =
        sigstack_keys::LogSigner::new(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
            .expect("log key");
    let registry = prometheus::Registry::new();
    let ctlog = sigstack_ctlog::CtLog::open(
        sigstack_ctlog::CtlogConfig::default(),
        pool,
        log_signer.clone(),
        vec![chain[1].clone()],
        clock.clone(),
        &registry,
    )
    .await
    .expect("CT log");
    let ct_address = serve(sigstack_ctlog::router(ctlog, registry)).await;

    let (issuer_url, issuer_key) = start_issuer().await;
    let mut config: CaConfig = toml::from_str(&format!(
        "ct_log_url = \"http://{ct_address}/sigstack\"\n[oidc.issuers.\"{issuer_url}\"]\ntype = \"email\"\n"
    ))
    .expect("config");
    if arguments.without_ct_log {
        config.ct_log_url = None;
        config.allow_without_ct_log = true;
    }
    let ca = Ca::load(
        &config,
        data_dir.path(),
        &KeyPassword::none(),
        clock.clone(),
        &prometheus::Registry::new(),
    )
    .expect("CA");
    let ca_url = format!(
        "http://{}/api/v2/signingCert",
        serve(router(Arc::new(ca))).await
    );

    // One token for the whole run and a pool of client keys with their proofs, made up front
    // so the workers spend their time on HTTP only.
    let email = "bench@example.com";
    let now = clock
        .now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let claims = json!({
        "iss": issuer_url, "sub": email, "aud": "sigstore", "email": email,
        "email_verified": true, "iat": now, "exp": now + 3600,
    });
    let header = json!({"alg": "ES256", "kid": "k1", "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let signature: p256::ecdsa::Signature = issuer_key.sign(input.as_bytes());
    let token = format!("{input}.{}", b64url(&signature.to_bytes()));
    let bodies: Arc<Vec<String>> = Arc::new(
        (0..256)
            .map(|_| {
                let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
                let proof: p256::ecdsa::DerSignature = key.sign(email.as_bytes());
                let pem = key
                    .verifying_key()
                    .to_public_key_pem(p256::pkcs8::LineEnding::LF)
                    .expect("pem");
                json!({
                    "credentials": {"oidcIdentityToken": token},
                    "publicKeyRequest": {
                        "publicKey": {"algorithm": "ECDSA", "content": pem},
                        "proofOfPossession": STANDARD.encode(proof.as_bytes()),
                    },
                })
                .to_string()
            })
            .collect(),
    );

    let http = reqwest::Client::new();
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..arguments.concurrency {
        let (http, url, bodies) = (http.clone(), ca_url.clone(), bodies.clone());
        let (measuring, stop, errors) = (measuring.clone(), stop.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut next = worker;
            while !stop.load(Ordering::Relaxed) {
                let body = bodies[next % bodies.len()].clone();
                next += KEY_STRIDE;
                let started = Instant::now();
                let response = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let ok = match response {
                    Ok(response) if response.status().is_success() => {
                        response.json::<Value>().await.is_ok_and(|value| {
                            value.get("signedCertificateEmbeddedSct").is_some()
                                || value.get("signedCertificateDetachedSct").is_some()
                        })
                    }
                    _ => false,
                };
                if measuring.load(Ordering::Relaxed) {
                    if ok {
                        latencies.push(started.elapsed());
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(arguments.warm_up)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(arguments.seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |latency| latency.as_secs_f64() * 1000.0)
    };
    println!(
        "ct_log={} concurrency={} certificates={} certificates/s={:.0} p50={:.2}ms p99={:.2}ms errors={}",
        !arguments.without_ct_log,
        arguments.concurrency,
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        errors.load(Ordering::Relaxed),
    );
}
