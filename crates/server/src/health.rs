use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

/// The outcome of a readiness check: each named check and whether it passed.
#[derive(Debug, Default, Serialize)]
pub struct ReadinessReport {
    pub checks: Vec<ReadinessCheck>,
}

#[derive(Debug, Serialize)]
pub struct ReadinessCheck {
    pub name: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ReadinessReport {
    /// Records one check. `result` carries the reason when the check failed.
    pub fn check(&mut self, name: &'static str, result: Result<(), String>) {
        let (ok, error) = match result {
            Ok(()) => (true, None),
            Err(error) => (false, Some(error)),
        };
        self.checks.push(ReadinessCheck { name, ok, error });
    }

    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|check| check.ok)
    }
}

/// What `/readyz` runs: the database is reachable, the signer works, the checkpoint is fresh.
pub trait Readiness: Send + Sync + 'static {
    fn check(&self) -> impl Future<Output = ReadinessReport> + Send;
}

/// Routes `/ping` and `/healthz` (liveness, always 200 while the process serves requests) and
/// `/readyz` (200 when every readiness check passes, else 503 with the failed checks as JSON).
pub fn health_routes<R: Readiness>(readiness: Arc<R>) -> Router {
    Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz::<R>))
        .with_state(readiness)
}

async fn readyz<R: Readiness>(State(readiness): State<Arc<R>>) -> Response {
    let report = readiness.check().await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}
