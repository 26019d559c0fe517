//! `sigstack`: initialize, run and benchmark a self-hosted Sigstore stack.
#![forbid(unsafe_code)]

mod config;
mod database;
mod keys;
mod stack;
mod trust;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sigstack",
    version,
    about = "A self-hosted, private Sigstore stack"
)]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create keys and sigstack.toml in the data directory without starting anything.
    Init {
        /// Data directory.
        #[arg(long, default_value = "./sigstack-data")]
        dir: PathBuf,
    },
    /// Start every service (creating keys and configuration on first run) until Ctrl-C.
    Up {
        /// Data directory.
        #[arg(long, default_value = "./sigstack-data")]
        dir: PathBuf,
    },
    /// Print an ID token from the development identity provider, on the last line of output.
    Token {
        /// Data directory.
        #[arg(long, default_value = "./sigstack-data")]
        dir: PathBuf,
        /// Email address the token identifies (`sub` and `email`).
        #[arg(long)]
        subject: String,
    },
    /// Run one service, for production deployments with one process per service.
    Serve {
        #[arg(value_enum)]
        service: Service,
        /// Data directory holding sigstack.toml and the keys.
        #[arg(long, default_value = "./sigstack-data")]
        dir: PathBuf,
    },
    /// Client trust material.
    Trust {
        #[command(subcommand)]
        command: TrustCommand,
    },
    /// Private key files.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Exit 0 when a GET of a URL returns a 2xx status within 5 seconds (container health checks).
    Probe {
        /// URL to GET, for example http://127.0.0.1:3000/readyz.
        url: String,
    },
    /// Drive load at a running service and print throughput and latency.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Service {
    /// The Rekor v1 compatible transparency log (needs DATABASE_URL or database.url).
    Tlog,
    /// The RFC 6962 certificate-transparency log (needs DATABASE_URL or database.url).
    Ctlog,
    /// The Fulcio-compatible certificate authority.
    Ca,
    /// The RFC 3161 timestamp authority.
    Tsa,
    /// The TUF repository that publishes the trust root.
    Tuf,
    /// The development OpenID Connect identity provider.
    Idp,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Re-encrypt every private key from SIGSTACK_OLD_KEY_PASSWORD (unset: unencrypted) to
    /// SIGSTACK_KEY_PASSWORD. Stop the services first and start them with the new password.
    ChangePassword {
        /// Data directory.
        #[arg(long, default_value = "./sigstack-data")]
        dir: PathBuf,
        /// Store the keys without a password instead of under SIGSTACK_KEY_PASSWORD.
        #[arg(long)]
        unencrypted: bool,
    },
}

#[derive(Debug, Subcommand)]
enum TrustCommand {
    /// Write a .tar.gz with the trust root, signing config, TUF repository, chains and keys.
    Export {
        /// Data directory.
        #[arg(long, default_value = "./sigstack-data")]
        dir: PathBuf,
        /// Archive to write.
        #[arg(long, default_value = "sigstack-trust.tar.gz")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BenchTarget {
    /// Request RFC 3161 timestamps from a timestamp authority.
    Tsa {
        /// Base URL of the timestamp authority.
        #[arg(long, default_value = "http://127.0.0.1:3003")]
        url: String,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Submit signed hashedrekord entries to a transparency log.
    Tlog {
        /// Base URL of the log.
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    sigstack_server::init_tracing(cli.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init { dir } => {
            let created = stack::init(&dir)?;
            if created {
                println!("initialized {}", dir.display());
            } else {
                println!("{} is already initialized; nothing changed", dir.display());
            }
            Ok(())
        }
        Command::Up { dir } => stack::up(&dir).await,
        Command::Serve { service, dir } => {
            let name = match service {
                Service::Tlog => "tlog",
                Service::Ctlog => "ctlog",
                Service::Ca => "ca",
                Service::Tsa => "tsa",
                Service::Tuf => "tuf",
                Service::Idp => "idp",
            };
            stack::serve(&dir, name).await
        }
        Command::Trust {
            command: TrustCommand::Export { dir, out },
        } => {
            let path = trust::export(&dir, &out)?;
            println!("wrote {}", path.display());
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::ChangePassword { dir, unencrypted },
        } => {
            let rewritten = keys::change_password(&dir, unencrypted)?;
            println!(
                "rewrote {rewritten} key files in {}",
                dir.join("keys").display()
            );
            Ok(())
        }
        Command::Token { dir, subject } => stack::token(&dir, &subject),
        Command::Probe { url } => {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?;
            let status = client.get(&url).send().await?.status();
            anyhow::ensure!(status.is_success(), "{url} returned {status}");
            Ok(())
        }
        Command::Bench {
            target:
                BenchTarget::Tsa {
                    url,
                    concurrency,
                    seconds,
                },
        } => {
            let report =
                sigstack_tsa::loadgen(&url, concurrency, Duration::from_secs(seconds)).await?;
            println!("{report}");
            Ok(())
        }
        Command::Bench {
            target:
                BenchTarget::Tlog {
                    url,
                    concurrency,
                    seconds,
                },
        } => {
            anyhow::ensure!(concurrency > 0, "--concurrency must be at least 1");
            let report =
                sigstack_tlog::loadgen::run(&url, concurrency, Duration::from_secs(seconds))
                    .await
                    .map_err(anyhow::Error::msg)?;
            println!("{report}");
            anyhow::ensure!(
                report.created > 0,
                "no entry was created; is the log running at {url}?"
            );
            Ok(())
        }
    }
}
