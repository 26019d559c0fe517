//! Connecting to PostgreSQL: `DATABASE_URL`, then `database.url`, then (for `up` only) a private
//! cluster under the data directory.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use sigstack_pgcluster::Cluster;
use sqlx::PgPool;
use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::DatabaseConfig;

/// How long to wait for a connection before failing a request with a database error.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Returns the database URL from `DATABASE_URL` or else the configuration, if either is set.
pub fn configured_url(config: &DatabaseConfig) -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .or_else(|| config.url.clone())
}

/// Connects to `url` and applies pending migrations.
pub async fn connect(url: &str, config: &DatabaseConfig) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("invalid PostgreSQL URL {}", redact(url)))?
        // Every log lives in the same tables, keyed by tree_id. A cached generic plan cannot see
        // that one tree_id matches nearly every row, and it was measured scanning the whole tree
        // on each batch. Planning each statement with its parameters picks the narrow indexes.
        .options([("plan_cache_mode", "force_custom_plan")]);
    let pool = PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .with_context(|| format!("failed to connect to PostgreSQL at {}", redact(url)))?;
    sigstack_logstore::migrate(&pool)
        .await
        .context("failed to apply database migrations")?;
    Ok(pool)
}

/// Starts (creating on first use) the private cluster in `dir/postgres`.
pub fn start_private_cluster(dir: &Path) -> anyhow::Result<Cluster> {
    let path = dir.join("postgres");
    Cluster::start(&path, false).with_context(|| {
        format!(
            "failed to start the private PostgreSQL in {}",
            path.display()
        )
    })
}

/// Hides the password in a database URL before it is printed.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
