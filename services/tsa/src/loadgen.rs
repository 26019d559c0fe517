//! A load generator for any RFC 3161 HTTP timestamp authority: this one or Sigstore's.

use std::time::{Duration, Instant};

use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use rand::RngCore;
use sha2::{Digest, Sha256};
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use crate::asn1::{ID_SHA256, TimeStampResp, pki_status};
use crate::service::{TIMESTAMP_QUERY, TIMESTAMP_REPLY};

/// Per-request timeout, so a stalled server ends the run instead of hanging a worker.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The outcome of a load run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub concurrency: usize,
    pub elapsed: Duration,
    /// Number of replies that were a granted TimeStampResp.
    pub timestamps: u64,
    /// Number of requests that failed, timed out or were not granted.
    pub errors: u64,
    /// Median latency of the granted requests.
    pub p50: Duration,
    /// 99th-percentile latency of the granted requests.
    pub p99: Duration,
}

impl LoadReport {
    /// Returns the granted timestamps per second of elapsed time.
    pub fn timestamps_per_second(&self) -> f64 {
        self.timestamps as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{:.0} timestamps/s, p50 {:.2} ms, p99 {:.2} ms ({} granted, {} errors, concurrency {}, {:.1} s)",
            self.timestamps_per_second(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.timestamps,
            self.errors,
            self.concurrency,
            self.elapsed.as_secs_f64(),
        )
    }
}

/// A failure that stops a load run before it starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadgenError {
    #[error("failed to build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("concurrency must be at least 1")]
    NoConcurrency,
}

/// Sends timestamp requests to `{base_url}/api/v1/timestamp` from `concurrency` workers for
/// `duration`, then reports throughput and latency. Each request is a DER TimeStampReq over
/// SHA-256 of fresh random bytes, with a random nonce and certReq set, as sigstore-python
/// sends. A request counts as a timestamp only when the reply decodes with status granted.
pub async fn loadgen(
    base_url: &str,
    concurrency: usize,
    duration: Duration,
) -> Result<LoadReport, LoadgenError> {
    if concurrency == 0 {
        return Err(LoadgenError::NoConcurrency);
    }
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let url = format!("{}/api/v1/timestamp", base_url.trim_end_matches('/'));

    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let request_started = Instant::now();
                match send_one(&client, &url).await {
                    Ok(()) => latencies.push(request_started.elapsed()),
                    Err(()) => errors += 1,
                }
            }
            (latencies, errors)
        });
    }

    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok((worker_latencies, worker_errors)) => {
                latencies.extend(worker_latencies);
                errors += worker_errors;
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(LoadReport {
        concurrency,
        elapsed,
        timestamps: latencies.len() as u64,
        errors,
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
    })
}

async fn send_one(client: &reqwest::Client, url: &str) -> Result<(), ()> {
    let body = random_request().map_err(|_| ())?;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, TIMESTAMP_QUERY)
        .body(body)
        .send()
        .await
        .map_err(|_| ())?;
    let reply_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .cloned();
    if !response.status().is_success()
        || reply_type.as_ref().map(|v| v.as_bytes()) != Some(TIMESTAMP_REPLY.as_bytes())
    {
        return Err(());
    }
    let bytes = response.bytes().await.map_err(|_| ())?;
    let reply = TimeStampResp::from_der(&bytes).map_err(|_| ())?;
    if reply.status.status == pki_status::GRANTED && reply.time_stamp_token.is_some() {
        Ok(())
    } else {
        Err(())
    }
}

fn random_request() -> der::Result<Vec<u8>> {
    let mut rng = rand::thread_rng();
    let mut artifact = [0u8; 32];
    rng.fill_bytes(&mut artifact);
    // A positive 64-bit nonce, as openssl sends.
    let nonce = rng.next_u64() >> 1 | 1;
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: ID_SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(Sha256::digest(artifact).to_vec())?,
        },
        req_policy: None,
        nonce: Some(Int::from_der(&nonce.to_der()?)?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
}

/// Returns the nearest-rank percentile of sorted `latencies`, or zero when there are none.
fn percentile(latencies: &[Duration], percent: usize) -> Duration {
    if latencies.is_empty() {
        return Duration::ZERO;
    }
    let rank = (latencies.len() * percent).div_ceil(100).max(1);
    latencies[rank - 1]
}
