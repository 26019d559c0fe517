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
use crate::trust;

type Services = JoinSet<anyhow::Result<()>>;

/// Creates the data directory, `sigstack.toml`, every missing key and certificate chain, the
/// client trust files and the TUF repository. Existing keys and chains are never overwritten.
/// Returns whether anything was created.
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
    let now = SystemTime::now();

    // Keys and chains first: the trust files are built from them.
    for key in [&config.tlog.key_file, &config.ctlog.key_file] {
        let (_, key_created) = sigstack_keys::load_or_create_p256(&dir.join(key), &password)?;
        created |= key_created;
    }
    created |= sigstack_ca::init_material(dir, &password, now)?.created;
    created |= sigstack_tsa::init_material(dir, &password, now)?.created;
    let idp_key = dir.join(&config.idp.key_file);
    created |= !idp_key.exists();
    sigstack_idp::load_or_create_signer(&config.idp, dir, &password)?;

    trust::publish(dir, &config, &password)?;
    Ok(created)
}

fn key_password() -> anyhow::Result<KeyPassword> {
    let password = KeyPassword::from_env()?;
    if !password.is_set() {
        tracing::warn!(
            "no key password in SIGSTACK_KEY_PASSWORD or SIGSTACK_KEY_PASSWORD_FILE: new keys are written unencrypted, and encrypted keys cannot be read (docs/operations.md explains how to encrypt existing keys)"
        );
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
            let cluster =
                tokio::task::spawn_blocking(move || database::start_private_cluster(&dir))
                    .await??;
            (cluster.url(), Some(cluster))
        }
    };
    let pool = database::connect(&url, &config.database).await?;

    let mut services = JoinSet::new();
    let tlog_url = start_tlog(dir, &config, pool.clone(), &mut services).await?;
    let ctlog_url = start_ctlog(dir, &config, pool.clone(), &mut services).await?;
    let ca_url = start_ca(dir, &config, &mut services).await?;
    let tsa_url = start_tsa(dir, &config, &mut services).await?;
    let tuf_url = start_tuf(dir, &config, &mut services).await?;
    let idp_url = if config.idp.enabled {
        Some(start_idp(dir, &config, &mut services).await?)
    } else {
        None
    };

    print_banner(
        dir,
        &config,
        &url,
        &[
            (
                "transparency log",
                tlog_url,
                config.tlog.public_url.to_string(),
            ),
            ("CT log", ctlog_url, config.ctlog.log_url()),
            (
                "certificate authority",
                ca_url,
                config.ca.public_url.to_string(),
            ),
            (
                "timestamp authority",
                tsa_url,
                config.tsa.public_url.to_string(),
            ),
            ("TUF repository", tuf_url, config.tuf.mirror_url()),
        ],
        idp_url.as_deref(),
    );

    let result = wait(&mut services).await;
    pool.close().await;
    if let Some(cluster) = cluster {
        tokio::task::spawn_blocking(move || cluster.stop()).await??;
    }
    result
}

fn print_banner(
    dir: &Path,
    config: &Config,
    database_url: &str,
    services: &[(&str, String, String)],
    idp_url: Option<&str>,
) {
    let trust = dir.join("trust");
    let root = trust.join("root.json");
    let mirror = config.tuf.mirror_url();
    let tlog = config.tlog.public_url.as_str().trim_end_matches('/');
    let ca = config.ca.public_url.as_str().trim_end_matches('/');
    let tsa = format!(
        "{}/api/v1/timestamp",
        config.tsa.public_url.as_str().trim_end_matches('/')
    );
    println!("sigstack is up. Data directory: {}", dir.display());
    println!(
        "  database:              {}",
        database::redact(database_url)
    );
    for (name, listening, public) in services {
        println!(
            "  {:<22} {listening} (public URL {public})",
            format!("{name}:")
        );
    }
    if let Some(idp_url) = idp_url {
        println!(
            "  {:<22} {idp_url} (issuer {})",
            "identity provider:",
            config.idp.issuer()
        );
    }
    println!("  trust files:            {}", trust.display());
    println!();
    let issuer = config.idp.issuer();
    let trust = trust.display();
    let root = root.display();
    println!("Get a token (valid 10 minutes). cosign reads --identity-token as a file name:");
    println!(
        "  export SIGSTORE_ID_TOKEN=$(sigstack token --dir {} --subject alice@example.com | tail -n 1)",
        dir.display()
    );
    println!("  printf '%s' \"$SIGSTORE_ID_TOKEN\" > token");
    println!();
    println!("sigstore-python:");
    println!(
        "  sigstore --trust-config {trust}/trust_config.json sign --identity-token \"$SIGSTORE_ID_TOKEN\" FILE"
    );
    println!(
        "  sigstore --trust-config {trust}/trust_config.json verify identity --cert-identity alice@example.com --cert-oidc-issuer {issuer} FILE"
    );
    println!("  sigstore --instance {mirror} trust-instance {root}");
    println!("cosign v3:");
    println!(
        "  cosign sign-blob --yes --signing-config {trust}/signing_config.v0.2.json --trusted-root {trust}/trusted_root.json --identity-token token --bundle FILE.sigstore.json FILE"
    );
    println!(
        "  cosign verify-blob --trusted-root {trust}/trusted_root.json --bundle FILE.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer {issuer} FILE"
    );
    println!("cosign v2:");
    println!("  cosign initialize --mirror {mirror} --root {root}");
    println!(
        "  cosign sign-blob --yes --new-bundle-format --fulcio-url {ca} --rekor-url {tlog} --timestamp-server-url {tsa} --identity-token token --bundle FILE.sigstore.json FILE"
    );
    println!(
        "  cosign verify-blob --new-bundle-format --bundle FILE.sigstore.json --certificate-identity alice@example.com --certificate-oidc-issuer {issuer} FILE"
    );
    println!("sigstore-js (STATEMENT.json is an in-toto statement):");
    println!(
        "  CI=true sigstore attest --fulcio-url {ca} --rekor-url {tlog} --tsa-server-url {} -o FILE.sigstore.json STATEMENT.json",
        config.tsa.public_url.as_str().trim_end_matches('/')
    );
    println!(
        "  sigstore verify --tuf-mirror-url {mirror} --tuf-root-path {root} --certificate-identity-email alice@example.com --certificate-issuer {issuer} FILE.sigstore.json"
    );
    println!(
        "gitsign: needs the files of `sigstack trust export` and `gitsign initialize`; see docs/clients/gitsign.md."
    );
    println!("Press Ctrl-C to stop.");
}

/// Connects to the database named by `DATABASE_URL` or `database.url`.
async fn production_pool(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    let url = database::configured_url(&config.database).context(
        "sigstack serve needs a database: set DATABASE_URL or database.url (only `sigstack up` runs a private PostgreSQL)",
    )?;
    database::connect(&url, &config.database).await
}

/// Runs one service alone until Ctrl-C or SIGTERM.
pub async fn serve(dir: &Path, service: &str) -> anyhow::Result<()> {
    let config = Config::load(dir)?;
    let mut services = JoinSet::new();
    let url = match service {
        "tlog" => start_tlog(dir, &config, production_pool(&config).await?, &mut services).await?,
        "ctlog" => {
            start_ctlog(dir, &config, production_pool(&config).await?, &mut services).await?
        }
        "ca" => start_ca(dir, &config, &mut services).await?,
        "tsa" => start_tsa(dir, &config, &mut services).await?,
        "tuf" => start_tuf(dir, &config, &mut services).await?,
        "idp" => {
            anyhow::ensure!(
                config.idp.enabled,
                "the identity provider is disabled: set enabled = true in [idp] of {}",
                dir.join(CONFIG_FILE).display()
            );
            start_idp(dir, &config, &mut services).await?
        }
        other => anyhow::bail!("unknown service {other:?}"),
    };
    println!("{service} listening on {url}");
    wait(&mut services).await
}

/// Loads a log's existing P-256 key. Unlike `init`, a service never creates one, because a new
/// key would silently start a log with a different log ID.
fn load_log_key(
    dir: &Path,
    key_file: &Path,
    log: &str,
) -> anyhow::Result<sigstack_keys::LogSigner> {
    let key_path = dir.join(key_file);
    anyhow::ensure!(
        key_path.exists(),
        "{log} key {} is missing; run `sigstack init --dir {}`",
        key_path.display(),
        dir.display()
    );
    let (signer, _) = sigstack_keys::load_or_create_p256(&key_path, &KeyPassword::from_env()?)?;
    Ok(signer)
}

async fn start_tlog(
    dir: &Path,
    config: &Config,
    pool: sqlx::PgPool,
    services: &mut Services,
) -> anyhow::Result<String> {
    let signer = load_log_key(dir, &config.tlog.key_file, "transparency log")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let registry = prometheus::Registry::new();
    let tlog = Tlog::open(config.tlog.clone(), pool, signer, clock, &registry).await?;
    spawn_server(
        "transparency log",
        config.tlog.listen,
        sigstack_tlog::router(tlog, registry),
        services,
    )
    .await
}

async fn start_ctlog(
    dir: &Path,
    config: &Config,
    pool: sqlx::PgPool,
    services: &mut Services,
) -> anyhow::Result<String> {
    let signer = load_log_key(dir, &config.ctlog.key_file, "CT log")?;
    let roots = sigstack_ctlog::load_roots(dir, &config.ctlog)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let registry = prometheus::Registry::new();
    let ctlog =
        sigstack_ctlog::CtLog::open(config.ctlog.clone(), pool, signer, roots, clock, &registry)
            .await?;
    spawn_server(
        "CT log",
        config.ctlog.listen,
        sigstack_ctlog::router(ctlog, registry),
        services,
    )
    .await
}

async fn start_ca(dir: &Path, config: &Config, services: &mut Services) -> anyhow::Result<String> {
    let password = KeyPassword::from_env()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let registry = prometheus::Registry::new();
    let ca = sigstack_ca::Ca::load(&config.ca, dir, &password, clock, &registry)?;
    spawn_server(
        "certificate authority",
        config.ca.listen,
        sigstack_ca::router(Arc::new(ca)),
        services,
    )
    .await
}

async fn start_tsa(dir: &Path, config: &Config, services: &mut Services) -> anyhow::Result<String> {
    let password = KeyPassword::from_env()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tsa = sigstack_tsa::Tsa::load(&config.tsa, dir, &password, clock)?;
    spawn_server(
        "timestamp authority",
        config.tsa.listen,
        sigstack_tsa::router(Arc::new(tsa)),
        services,
    )
    .await
}

async fn start_tuf(dir: &Path, config: &Config, services: &mut Services) -> anyhow::Result<String> {
    let password = KeyPassword::from_env()?;
    let repository = Arc::new(sigstack_tuf::TufRepository::open(
        dir,
        &password,
        &config.tuf,
    )?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let registry = prometheus::Registry::new();
    let router = sigstack_tuf::router(repository.clone(), clock.clone(), &registry)?;
    sigstack_tuf::spawn_refresher(repository, clock, config.tuf.refresh_interval());
    spawn_server("TUF repository", config.tuf.listen, router, services).await
}

async fn start_idp(dir: &Path, config: &Config, services: &mut Services) -> anyhow::Result<String> {
    let provider = identity_provider(dir, config)?;
    spawn_server(
        "identity provider",
        config.idp.listen,
        sigstack_idp::router(Arc::new(provider)),
        services,
    )
    .await
}

fn identity_provider(
    dir: &Path,
    config: &Config,
) -> anyhow::Result<sigstack_idp::IdentityProvider> {
    let password = KeyPassword::from_env()?;
    let signer = sigstack_idp::load_or_create_signer(&config.idp, dir, &password)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    sigstack_idp::IdentityProvider::new(config.idp.clone(), signer, clock, dir)
        .map_err(anyhow::Error::msg)
}

/// Prints an ID token for `subject` from the development identity provider, on the last line.
pub fn token(dir: &Path, subject: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        subject.contains('@'),
        "--subject {subject:?} must be an email address, for example alice@example.com"
    );
    let config = Config::load(dir)?;
    let key = dir.join(&config.idp.key_file);
    anyhow::ensure!(
        key.exists(),
        "identity provider key {} is missing; run `sigstack init --dir {}`",
        key.display(),
        dir.display()
    );
    let token = identity_provider(dir, &config)?
        .mint(subject)
        .map_err(anyhow::Error::msg)?;
    eprintln!(
        "ID token for {subject} from {}, valid for {} s:",
        config.idp.issuer(),
        config.idp.token_lifetime_seconds
    );
    println!("{token}");
    Ok(())
}

/// Binds `listen` and serves `router` on it until shutdown. Returns the URL it listens on.
async fn spawn_server(
    name: &'static str,
    listen: std::net::SocketAddr,
    router: axum::Router,
    services: &mut Services,
) -> anyhow::Result<String> {
    let listener = sigstack_server::bind(listen)
        .await
        .with_context(|| format!("failed to start the {name}"))?;
    let address = listener.local_addr()?;
    // NOTE: each server installs its own signal listener when it starts, so a SIGTERM that
    // arrives while `up` is still starting later services stops only the earlier ones.
    services.spawn(async move {
        sigstack_server::serve(listener, router, sigstack_server::shutdown_signal())
            .await
            .with_context(|| format!("{name} server failed"))
    });
    Ok(format!("http://{address}"))
}

/// Waits until every service stops (after a shutdown signal) or one fails.
async fn wait(services: &mut Services) -> anyhow::Result<()> {
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
