//! Benchmark driver for the TSA.
//!
//! `tsa-bench serve` runs this TSA with freshly generated material in a temporary directory, so
//! it can be measured as a separate process like any other server. `tsa-bench load` runs the
//! load generator against one or more base URLs in turn and, with two URLs, prints the
//! throughput ratio of the first to the second.
//!
//! ```text
//! cargo run --release -p sigstack-tsa --example tsa-bench -- serve --listen 127.0.0.1:3003 --seconds 300
//! cargo run --release -p sigstack-tsa --example tsa-bench -- load \
//!     --url http://127.0.0.1:3003 --url http://127.0.0.1:3103 --concurrency 64 --seconds 20
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sigstack_keys::KeyPassword;
use sigstack_server::SystemClock;
use sigstack_tsa::{LoadReport, Tsa, TsaConfig, init_material, loadgen, router};

#[derive(Parser)]
struct Arguments {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the TSA on `listen` for at most `seconds`.
    Serve {
        #[arg(long, default_value = "127.0.0.1:3003")]
        listen: SocketAddr,
        /// Stop after this many seconds, so a forgotten server does not run on.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
    },
    /// Load each URL in turn: a warm-up, then the measured run.
    Load {
        /// Base URL of a TSA. Repeat the option to compare servers in the same run.
        #[arg(long = "url", required = true)]
        urls: Vec<String>,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Length of each measured run, in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Length of the warm-up before each measured run, in seconds.
        #[arg(long, default_value_t = 3)]
        warmup_seconds: u64,
    },
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Arguments::parse().command {
        Command::Serve { listen, seconds } => {
            let dir = tempfile::tempdir()?;
            let clock = Arc::new(SystemClock);
            init_material(
                dir.path(),
                &KeyPassword::none(),
                std::time::SystemTime::now(),
            )?;
            let tsa = Tsa::load(
                &TsaConfig::default(),
                dir.path(),
                &KeyPassword::none(),
                clock,
            )?;
            let listener = sigstack_server::bind(listen).await?;
            eprintln!("serving the TSA on http://{listen} for at most {seconds} s");
            let stop = async move {
                tokio::select! {
                    () = sigstack_server::shutdown_signal() => {}
                    () = tokio::time::sleep(Duration::from_secs(seconds)) => {}
                }
            };
            sigstack_server::serve(listener, router(Arc::new(tsa)), stop).await?;
        }
        Command::Load {
            urls,
            concurrency,
            seconds,
            warmup_seconds,
        } => {
            let mut reports: Vec<LoadReport> = Vec::new();
            for url in &urls {
                loadgen(url, concurrency, Duration::from_secs(warmup_seconds)).await?;
                let report = loadgen(url, concurrency, Duration::from_secs(seconds)).await?;
                println!("{url}: {report}");
                reports.push(report);
            }
            if let [first, second] = reports.as_slice() {
                let ratio = first.timestamps_per_second() / second.timestamps_per_second();
                println!("throughput ratio {} / {}: {ratio:.2}", urls[0], urls[1]);
            }
        }
    }
    Ok(())
}
