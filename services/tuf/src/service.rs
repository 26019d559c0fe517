//! The HTTP service: the repository files read-only, health, readiness, metrics, and the
//! background task that keeps the timestamp and snapshot fresh.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus::Registry;
use sigstack_server::{
    Clock, HttpMetrics, Readiness, ReadinessReport, health_routes, metrics_route,
};
use tokio::task::JoinHandle;

use crate::TufError;
use crate::repository::TufRepository;

/// Metric prefix: upstream Sigstore serves TUF from a static bucket, so there is no upstream
/// metric family to follow.
const METRICS_PREFIX: &str = "sigstack_tuf";

/// Builds the router: every file under `<data dir>/tuf` at its relative path
/// (`/1.root.json`, `/timestamp.json`, `/targets/<sha256>.<name>`), plus `/ping`, `/healthz`,
/// `/readyz` (ready while `timestamp.json` exists and has not expired) and `/metrics`.
pub fn router(
    repository: Arc<TufRepository>,
    clock: Arc<dyn Clock>,
    registry: &Registry,
) -> Result<Router, TufError> {
    let metrics = HttpMetrics::register(registry, METRICS_PREFIX)
        .map_err(|error| TufError::Internal(format!("failed to register TUF metrics: {error}")))?;
    let readiness = Arc::new(TimestampReadiness {
        repository: repository.clone(),
        clock,
    });
    let files = Router::new()
        .fallback(serve_file)
        .with_state(repository.tuf_dir());
    Ok(files
        .merge(health_routes(readiness))
        .merge(metrics_route(registry.clone()))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            HttpMetrics::track,
        )))
}

/// Starts a task that calls [`TufRepository::refresh`] every `interval`, first right away. It
/// logs failures and keeps running, so a transient disk error is retried on the next tick.
pub fn spawn_refresher(
    repository: Arc<TufRepository>,
    clock: Arc<dyn Clock>,
    interval: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let repository = repository.clone();
            let clock = clock.clone();
            match tokio::task::spawn_blocking(move || repository.refresh(clock.as_ref())).await {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::error!(%error, "failed to re-sign TUF metadata"),
                Err(error) => tracing::error!(%error, "TUF refresh task panicked"),
            }
        }
    })
}

#[derive(Debug)]
struct TimestampReadiness {
    repository: Arc<TufRepository>,
    clock: Arc<dyn Clock>,
}

impl Readiness for TimestampReadiness {
    async fn check(&self) -> ReadinessReport {
        let mut report = ReadinessReport::default();
        let result = match self.repository.timestamp_expires() {
            Ok(Some(expires)) if expires > self.clock.now() => Ok(()),
            Ok(Some(_)) => Err("timestamp.json has expired".to_owned()),
            Ok(None) => Err("nothing published yet".to_owned()),
            Err(error) => Err(error.to_string()),
        };
        report.check("timestamp", result);
        report
    }
}

/// Serves one repository file. Only `<name>` and `targets/<name>` paths exist, where a name is
/// letters, digits, `.`, `_` and `-` and does not start with `.`. Any other path is 404, and so
/// are symbolic links and directories. A percent-encoded or backslash path separator is 400.
async fn serve_file(State(tuf_dir): State<PathBuf>, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = request.uri().path();
    let relative = match repository_path(path) {
        Ok(Some(relative)) => relative,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(message) => {
            tracing::debug!(path, message, "rejected TUF file request");
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let full_path = tuf_dir.join(&relative);
    match read_regular_file(&full_path).await {
        Ok(Some(contents)) => {
            let headers = [
                (CONTENT_TYPE, content_type(&relative)),
                (CACHE_CONTROL, cache_control(&relative)),
            ];
            (headers, contents).into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(path = %full_path.display(), %error, "failed to read TUF file");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Maps a request path to a path relative to the repository directory. Returns `Ok(None)` for a
/// path that cannot name a repository file and `Err` for an encoded separator.
fn repository_path(path: &str) -> Result<Option<PathBuf>, &'static str> {
    let lowercase = path.to_ascii_lowercase();
    if lowercase.contains("%2f") || lowercase.contains("%5c") || path.contains('\\') {
        return Err("encoded or backslash path separators are not allowed");
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Ok(None);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let valid_name = |name: &str| {
        !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte))
    };
    match segments.as_slice() {
        [name] if valid_name(name) => Ok(Some(PathBuf::from(name))),
        ["targets", name] if valid_name(name) => Ok(Some(Path::new("targets").join(name))),
        _ => Ok(None),
    }
}

/// Reads `path` if it is a regular file; returns `None` for a missing file, a directory or a
/// symbolic link.
async fn read_regular_file(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match tokio::fs::symlink_metadata(path).await {
        Ok(metadata) if metadata.is_file() => tokio::fs::read(path).await.map(Some),
        Ok(_) => Ok(None),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

fn content_type(relative: &Path) -> &'static str {
    match relative
        .extension()
        .and_then(|extension| extension.to_str())
    {
        Some("json") => "application/json",
        Some("pem" | "pub") => "application/x-pem-file",
        _ => "application/octet-stream",
    }
}

/// `timestamp.json` changes in place, so caches must revalidate it. Every other file is named
/// by version or hash and never changes.
fn cache_control(relative: &Path) -> &'static str {
    if relative == Path::new("timestamp.json") {
        "no-cache"
    } else {
        "public, max-age=3600"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_paths() {
        let cases: &[(&str, Result<Option<&str>, ()>)] = &[
            ("/1.root.json", Ok(Some("1.root.json"))),
            ("/timestamp.json", Ok(Some("timestamp.json"))),
            (
                "/targets/ab12.trusted_root.json",
                Ok(Some("targets/ab12.trusted_root.json")),
            ),
            ("/", Ok(None)),
            // A directory name maps to a path, and read_regular_file then returns None (404).
            ("/targets", Ok(Some("targets"))),
            ("/targets/", Ok(None)),
            ("/../keys/tuf-root.pem", Ok(None)),
            ("/targets/../../keys/tuf-root.pem", Ok(None)),
            ("/keys/tuf-root.pem", Ok(None)),
            ("/%2e%2e/keys/tuf-root.pem", Ok(None)),
            ("/.timestamp.json.tmp", Ok(None)),
            ("//etc/passwd", Ok(None)),
            ("/targets%2f..%2f..%2fkeys%2ftuf-root.pem", Err(())),
            ("/targets%5Cx", Err(())),
            ("/..\\keys", Err(())),
        ];
        for (path, expected) in cases {
            let actual = repository_path(path);
            let expected = expected.map(|relative| relative.map(PathBuf::from));
            assert_eq!(actual.is_err(), expected.is_err(), "{path}");
            if let (Ok(actual), Ok(expected)) = (actual, expected) {
                assert_eq!(actual, expected, "{path}");
            }
        }
    }
}
