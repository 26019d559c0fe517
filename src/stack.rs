//! `init`, `up` and `serve`: creating the data directory and running services.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context as _;
use sigstack_keys::KeyPassword;
use sigstack_server::{Clock, SystemClock};
use sigstack_tlog::Tlog;
use tokio::task::JoinSet;

use crate::config::{CONFIG_FILE, Config};
use crate::database;

/// Creates the data directory, `sigstack.toml` and every key that is missing. Returns whether
/// anything was created. Existing files are never overwritten.
pub fn init(dir: &Path) -> anyhow::Result<bool> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    let mut created = false;
    if !dir.join(CONFIG_FILE).exists() {
        let path = Config::write_default(dir)?;
        tracing::info!(path = %path.display(), "wrote default configuration");
        created = true;
    }
    let config = Config::load(dir)?;
    let password = key_password()?;
    let (_, key_created) = sigstack_keys::load_or_create_p256(&dir.join(&config.tlog.key_file), &password)?;
    let tsa = sigstack_tsa::init_material(dir, &password, SystemTime::now())?;
    Ok(created || key_created || tsa.created)
}

fn key_password() -> anyhow::Result<KeyPassword> {
    let password = KeyPassword::from_env()?;
    if !password.is_set() {
        tracing::warn!("keys are stored unencrypted: set SIGSTACK_KEY_PASSWORD or SIGSTACK_KEY_PASSWORD_FILE to encrypt them");
    }
    Ok(password)
}

/// Runs every service in one process until Ctrl-C or SIGTERM.
pub async fn up(dir: &Path) -> anyhow::Result<()> {
    init(dir)?;
    let config = Config::load(dir)?;
    let (url, cluster) = match database::configured_url(&config.database) {
        Some(url) => (url, None),
        None => {
            let dir = dir.to_path_buf();
            let cluster = tokio::task::spawn_blocking(move || database::start_private_cluster(&dir)).await??;
            (cluster.url(), Some(cluster))
        }
    };
    let pool = database::connect(&url, &config.database).await?;

    let mut services = JoinSet::new();
    let tlog_url = start_tlog(dir, &config, pool.clone(), &mut services).await?;
    let tsa_url = start_tsa(dir, &config, &mut services).await?;

    println!("sigstack is up. Data directory: {}", dir.display());
    println!("  database:            {}", database::redact(&url));
    println!("  transparency log:    {tlog_url} (public URL {})", config.tlog.public_url);
    println!("  timestamp authority: {tsa_url}/api/v1/timestamp");
    println!();
    println!("Try it:");
    println!("  rekor-cli loginfo --rekor_server {tlog_url}");
    println!("  openssl ts -query -data FILE -sha256 -cert -out req.tsq");
    println!("  curl -sS -H 'Content-Type: application/timestamp-query' --data-binary @req.tsq {tsa_url}/api/v1/timestamp -o resp.tsr");
    println!("Press Ctrl-C to stop.");

    let result = wait(&mut services).await;
    pool.close().await;
    if let Some(cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
    }
    result
}

/// Runs the transparency log alone.
pub async fn serve_tlog(dir: &Path) -> anyhow::Result<()> {
    let config = Config::load(dir)?;
    let url = database::configured_url(&config.database).context(
        "sigstack serve needs a database: set DATABASE_URL or database.url (only `sigstack up` runs a private PostgreSQL)",
    )?;
    let pool = database::connect(&url, &config.database).await?;
    let mut services = JoinSet::new();
    let tlog_url = start_tlog(dir, &config, pool.clone(), &mut services).await?;
    println!("transparency log listening on {tlog_url}");
    let result = wait(&mut services).await;
    pool.close().await;
    result
}

/// Runs the timestamp authority alone. It keeps no state in the database.
pub async fn serve_tsa(dir: &Path) -> anyhow::Result<()> {
    let config = Config::load(dir)?;
    let mut services = JoinSet::new();
    let tsa_url = start_tsa(dir, &config, &mut services).await?;
    println!("timestamp authority listening on {tsa_url}");
    wait(&mut services).await
}

async fn start_tsa(dir: &Path, config: &Config, services: &mut JoinSet<anyhow::Result<()>>) -> anyhow::Result<String> {
    let password = KeyPassword::from_env()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tsa = sigstack_tsa::Tsa::load(&config.tsa, dir, &password, clock)?;
    let router = sigstack_tsa::router(Arc::new(tsa));
    spawn_server("timestamp authority", config.tsa.listen, router, services).await
}

/// Binds `listen` and serves `router` on it until shutdown. Returns the URL it listens on.
async fn spawn_server(
    name: &'static str,
    listen: std::net::SocketAddr,
    router: axum::Router,
    services: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<String> {
    let listener = sigstack_server::bind(listen).await.with_context(|| format!("failed to start the {name}"))?;
    let address = listener.local_addr()?;
    services.spawn(async move {
        sigstack_server::serve(listener, router, sigstack_server::shutdown_signal())
            .await
            .with_context(|| format!("{name} server failed"))
    });
    Ok(format!("http://{address}"))
}

async fn start_tlog(
    dir: &Path,
    config: &Config,
    pool: sqlx::PgPool,
    services: &mut JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<String> {
    let password = KeyPassword::from_env()?;
    let key_path = dir.join(&config.tlog.key_file);
    if !key_path.exists() {
        anyhow::bail!("transparency log key {} is missing; run `sigstack init --dir {}`", key_path.display(), dir.display());
    }
    let (signer, _) = sigstack_keys::load_or_create_p256(&key_path, &password)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let registry = prometheus::Registry::new();
    let tlog = Tlog::open(config.tlog.clone(), pool, signer, clock, &registry).await?;
    let router = sigstack_tlog::router(tlog, registry);
    spawn_server("transparency log", config.tlog.listen, router, services).await
}

/// Waits until every service stops (after a shutdown signal) or one fails.
async fn wait(services: &mut JoinSet<anyhow::Result<()>>) -> anyhow::Result<()> {
    while let Some(result) = services.join_next().await {
        match result {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                services.abort_all();
                return Err(error);
            }
            Err(error) => {
                services.abort_all();
                return Err(anyhow::anyhow!("a service task panicked: {error}"));
            }
        }
    }
    tracing::info!("all services stopped");
    Ok(())
}
