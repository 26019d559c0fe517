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
    let idp_key = dir.join(&config.idp.key_file);
    let idp_created = !idp_key.exists();
    sigstack_idp::load_or_create_signer(&config.idp, dir, &password)?;
    Ok(created || key_created || tsa.created || idp_created)
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
    let idp_url = if config.idp.enabled { Some(start_idp(dir, &config, &mut services).await?) } else { None };

    println!("sigstack is up. Data directory: {}", dir.display());
    println!("  database:            {}", database::redact(&url));
    println!("  transparency log:    {tlog_url} (public URL {})", config.tlog.public_url);
    println!("  timestamp authority: {tsa_url}/api/v1/timestamp");
    if let Some(idp_url) = &idp_url {
        println!("  identity provider:   {idp_url} (issuer {})", config.idp.issuer());
    }
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

/// Runs the development identity provider alone; it must be enabled in the configuration.
pub async fn serve_idp(dir: &Path) -> anyhow::Result<()> {
    let config = Config::load(dir)?;
    anyhow::ensure!(config.idp.enabled, "the identity provider is disabled: set enabled = true in [idp] of {}", dir.join(CONFIG_FILE).display());
    let mut services = JoinSet::new();
    let url = start_idp(dir, &config, &mut services).await?;
    println!("identity provider listening on {url}");
    wait(&mut services).await
}

async fn start_idp(dir: &Path, config: &Config, services: &mut JoinSet<anyhow::Result<()>>) -> anyhow::Result<String> {
    let provider = identity_provider(dir, config)?;
    let router = sigstack_idp::router(Arc::new(provider));
    spawn_server("identity provider", config.idp.listen, router, services).await
}

fn identity_provider(dir: &Path, config: &Config) -> anyhow::Result<sigstack_idp::IdentityProvider> {
    let password = KeyPassword::from_env()?;
    let signer = sigstack_idp::load_or_create_signer(&config.idp, dir, &password)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    sigstack_idp::IdentityProvider::new(config.idp.clone(), signer, clock, dir).map_err(anyhow::Error::msg)
}

/// Prints an ID token for `subject` from the development identity provider, on the last line.
pub fn token(dir: &Path, subject: &str) -> anyhow::Result<()> {
    anyhow::ensure!(subject.contains('@'), "--subject {subject:?} must be an email address, for example alice@example.com");
    let config = Config::load(dir)?;
    let key = dir.join(&config.idp.key_file);
    anyhow::ensure!(key.exists(), "identity provider key {} is missing; run `sigstack init --dir {}`", key.display(), dir.display());
    let token = identity_provider(dir, &config)?.mint(subject).map_err(anyhow::Error::msg)?;
    eprintln!("ID token for {subject} from {}, valid for {} s:", config.idp.issuer(), config.idp.token_lifetime_seconds);
    println!("{token}");
    Ok(())
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
