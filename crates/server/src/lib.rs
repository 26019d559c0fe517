//! HTTP plumbing that every sigstack service shares: health and readiness endpoints, the
//! Prometheus `/metrics` endpoint, request body limits, an injectable clock, tracing set-up and
//! graceful shutdown.
//!
//! Each service keeps its own error type and wire format (Rekor, Fulcio and RFC 3161 differ), but
//! they all report errors through [`ErrorKind`] so that logs and metrics use one fixed label set.
#![forbid(unsafe_code)]

mod clock;
mod health;
mod metrics;
mod serve;

pub use clock::{Clock, FixedClock, SystemClock};
pub use health::{Readiness, ReadinessReport, health_routes};
pub use metrics::{HttpMetrics, metrics_route};
pub use serve::{bind, init_tracing, serve, shutdown_signal};

/// Who is at fault for a failed request. Every service error maps to one of these, and the HTTP
/// status family follows from it (4xx for the client, 5xx for the server or a dependency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request is malformed, fails verification or conflicts with stored state.
    Client,
    /// A bug or an unexpected state inside the service.
    Server,
    /// The database or another service the request depends on failed or timed out.
    Dependency,
}

/// A service error that can be logged and counted with a fixed, low-cardinality label.
pub trait ErrorKind {
    /// A short fixed identifier such as `invalid_entry` or `database`, used as a metric label
    /// and a log field. It never contains request data.
    fn kind(&self) -> &'static str;

    /// Who is at fault.
    fn fault(&self) -> Fault;
}

/// Logs a failed request once, at a level that depends on who is at fault.
pub fn log_error<E: ErrorKind + std::fmt::Display>(service: &'static str, error: &E) {
    match error.fault() {
        Fault::Client => {
            tracing::debug!(service, kind = error.kind(), error = %error, "request rejected")
        }
        Fault::Server | Fault::Dependency => {
            tracing::error!(service, kind = error.kind(), error = %error, "request failed")
        }
    }
}
