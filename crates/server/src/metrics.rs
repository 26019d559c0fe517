use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Per-request counters and latency histograms, named with the service's upstream prefix
/// (`rekor_`, `fulcio_`, `timestamp_authority_`) so existing dashboards keep working.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl HttpMetrics {
    /// Registers `<prefix>_http_requests_total{path,method,code}` and
    /// `<prefix>_api_latency_seconds{path,method}` in `registry`.
    pub fn register(registry: &Registry, prefix: &str) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                format!("{prefix}_http_requests_total"),
                "HTTP requests by route and status",
            ),
            &["path", "method", "code"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                format!("{prefix}_api_latency_seconds"),
                "HTTP request latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["path", "method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Self { requests, latency })
    }

    /// Middleware that records every request under its route template, never its raw path, so
    /// the label set stays bounded.
    pub async fn track(State(metrics): State<Self>, request: Request, next: Next) -> Response {
        let path = request
            .extensions()
            .get::<MatchedPath>()
            .map(|matched| matched.as_str().to_owned())
            .unwrap_or_else(|| "unmatched".to_owned());
        let method = request.method().as_str().to_owned();
        let started = Instant::now();
        let response = next.run(request).await;
        let code = response.status().as_u16().to_string();
        metrics
            .requests
            .with_label_values(&[&path, &method, &code])
            .inc();
        metrics
            .latency
            .with_label_values(&[&path, &method])
            .observe(started.elapsed().as_secs_f64());
        response
    }
}

/// Routes `GET /metrics` to the Prometheus text exposition of `registry`.
pub fn metrics_route(registry: Registry) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(registry)
}

async fn render(State(registry): State<Registry>) -> Response {
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    if let Err(error) = encoder.encode(&registry.gather(), &mut body) {
        tracing::error!(%error, "failed to encode metrics");
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(CONTENT_TYPE, encoder.format_type().to_owned())], body).into_response()
}
