//! A load generator for the transparency log: submits distinct, validly signed `hashedrekord`
//! entries at a fixed concurrency for a fixed time and reports throughput and latency.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use rand_core::{OsRng, RngCore as _};
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// Throughput and latency of one load run.
#[derive(Debug, Clone)]
pub struct Report {
    pub concurrency: usize,
    pub elapsed: Duration,
    pub created: u64,
    pub failed: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Report {
    pub fn entries_per_second(&self) -> f64 {
        self.created as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "concurrency {}: {} entries in {:.1} s = {:.0} entries/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} failed",
            self.concurrency,
            self.created,
            self.elapsed.as_secs_f64(),
            self.entries_per_second(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3,
            self.failed
        )
    }
}

/// Runs `concurrency` workers against `base_url` (for example `http://127.0.0.1:3000`) for
/// `duration`. Each request carries a fresh random digest signed by a key generated for the run,
/// so every entry is new. The first response other than 201 is printed to stderr to explain failures.
pub async fn run(base_url: &str, concurrency: usize, duration: Duration) -> Result<Report, String> {
    let key = SigningKey::random(&mut OsRng);
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .map_err(|error| error.to_string())?;
    let public_b64 = STANDARD.encode(public_pem.as_bytes());
    // The client signs with aws-lc-rs so that the generator, which shares the machine with the
    // server, spends as little CPU as possible.
    let pkcs8 = key.to_pkcs8_der().map_err(|error| error.to_string())?;
    let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_bytes())
        .map_err(|error| error.to_string())?;
    let key_pair = std::sync::Arc::new(key_pair);
    let random = SystemRandom::new();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .map_err(|error| error.to_string())?;
    let url = format!("{}/api/v1/log/entries", base_url.trim_end_matches('/'));
    let deadline = Instant::now() + duration;
    let started = Instant::now();

    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (key_pair, random) = (key_pair.clone(), random.clone());
        let (client, url, public_b64) = (client.clone(), url.clone(), public_b64.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0u64;
            while Instant::now() < deadline {
                let mut artifact = [0u8; 32];
                OsRng.fill_bytes(&mut artifact);
                let digest = Sha256::digest(artifact);
                let Ok(signature) = key_pair.sign(&random, &artifact) else {
                    failed += 1;
                    continue;
                };
                let body = json!({
                    "apiVersion": "0.0.1",
                    "kind": "hashedrekord",
                    "spec": {
                        "data": { "hash": { "algorithm": "sha256", "value": hex::encode(digest) } },
                        "signature": {
                            "content": STANDARD.encode(signature.as_ref()),
                            "publicKey": { "content": public_b64 },
                        },
                    },
                });
                let sent = Instant::now();
                match client.post(&url).json(&body).send().await {
                    Ok(response) if response.status().as_u16() == 201 => {
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    Ok(response) => {
                        if failed == 0 {
                            let status = response.status();
                            let text = response.text().await.unwrap_or_default();
                            eprintln!("load generator: unexpected response {status}: {text}");
                        }
                        failed += 1;
                    }
                    Err(error) => {
                        if failed == 0 {
                            eprintln!("load generator: request failed: {error}");
                        }
                        failed += 1;
                    }
                }
            }
            (latencies, failed)
        }));
    }

    let mut latencies = Vec::new();
    let mut failed = 0;
    for worker in workers {
        let (mut worker_latencies, worker_failed) =
            worker.await.map_err(|error| error.to_string())?;
        latencies.append(&mut worker_latencies);
        failed += worker_failed;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1]
    };
    Ok(Report {
        concurrency,
        elapsed,
        created: latencies.len() as u64,
        failed,
        p50: percentile(0.50),
        p99: percentile(0.99),
        max: latencies.last().copied().unwrap_or_default(),
    })
}
