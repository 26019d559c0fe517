use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::binaries::{find_bin_dir, unprivileged_account};

/// How long to wait for a started server to accept connections. initdb plus first start take a
/// few seconds on a small machine; crash recovery after an unclean stop can take longer.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Name of the database created in the cluster for sigstack.
pub const DATABASE_NAME: &str = "sigstack";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found: install the postgresql package, set SIGSTACK_PG_BIN to the directory holding initdb and postgres, or set DATABASE_URL to use an existing server"
    )]
    BinariesNotFound,
    #[error("failed to run {command}: {detail}")]
    Command { command: String, detail: String },
    #[error("failed to prepare cluster directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("PostgreSQL did not accept connections within {seconds} s; its log is {log}")]
    StartTimeout { seconds: u64, log: PathBuf },
    #[error(
        "cluster directory {path} is in use by a running PostgreSQL (postmaster.pid present); stop it first"
    )]
    InUse { path: PathBuf },
}

/// A running private PostgreSQL server. Dropping it stops the server (fast shutdown).
#[derive(Debug)]
pub struct Cluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    account: Option<(u32, u32)>,
    stopped: bool,
}

impl Cluster {
    /// Starts the cluster in `dir`, creating it with initdb on first use, and creates the
    /// `sigstack` database. When `remove_on_exit` is set, the watchdog also deletes `dir` after
    /// the server stops (for temporary test clusters).
    pub fn start(dir: &Path, remove_on_exit: bool) -> Result<Self, ClusterError> {
        let bin_dir = find_bin_dir().ok_or(ClusterError::BinariesNotFound)?;
        let account = if is_root() {
            unprivileged_account()
        } else {
            None
        };
        // pg_ctl runs with the data directory as its working directory, where a relative -D, -k
        // or -l path would point somewhere else.
        let data_dir = std::path::absolute(dir).map_err(|source| ClusterError::Directory {
            path: dir.to_path_buf(),
            source,
        })?;
        let directory_error = |source| ClusterError::Directory {
            path: data_dir.clone(),
            source,
        };

        std::fs::create_dir_all(&data_dir).map_err(directory_error)?;
        if let Some((uid, gid)) = account {
            std::os::unix::fs::chown(&data_dir, Some(uid), Some(gid)).map_err(directory_error)?;
            make_traversable(&data_dir).map_err(directory_error)?;
        }
        std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(directory_error)?;
        if data_dir.join("postmaster.pid").exists() && postmaster_alive(&data_dir) {
            return Err(ClusterError::InUse { path: data_dir });
        }

        let mut cluster = Self {
            bin_dir,
            data_dir,
            port: free_port()?,
            account,
            stopped: false,
        };
        if !cluster.data_dir.join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        cluster.launch(remove_on_exit)?;
        cluster.create_database()?;
        Ok(cluster)
    }

    /// Returns the URL of the `sigstack` database, over TCP on 127.0.0.1.
    pub fn url(&self) -> String {
        self.database_url(DATABASE_NAME)
    }

    /// Returns the URL of another database in this cluster.
    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server with a fast shutdown and waits for it to exit.
    pub fn stop(mut self) -> Result<(), ClusterError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), ClusterError> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let mut command = self.command("pg_ctl");
        command
            .arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w"]);
        run(command, "pg_ctl stop")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        if let Some((uid, gid)) = self.account {
            command.uid(uid).gid(gid);
        }
        command.env_remove("PGDATA").current_dir(&self.data_dir);
        command
    }

    fn initdb(&self) -> Result<(), ClusterError> {
        let mut command = self.command("initdb");
        command
            .arg("-D")
            .arg(&self.data_dir)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ])
            .arg("--no-instructions");
        run(command, "initdb")
    }

    fn launch(&mut self, remove_on_exit: bool) -> Result<(), ClusterError> {
        let log = self.data_dir.join("server.log");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200 -c shared_buffers=128MB",
            self.port,
            self.data_dir.display()
        );
        let mut command = self.command("pg_ctl");
        command
            .arg("start")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(options)
            .args(["-w", "-t", &START_TIMEOUT.as_secs().to_string()]);
        run(command, "pg_ctl start")?;
        self.spawn_watchdog(remove_on_exit)?;

        let deadline = Instant::now() + START_TIMEOUT;
        while TcpListener::bind(("127.0.0.1", self.port)).is_ok() {
            if Instant::now() > deadline {
                return Err(ClusterError::StartTimeout {
                    seconds: START_TIMEOUT.as_secs(),
                    log,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tracing::info!(port = self.port, dir = %self.data_dir.display(), "started private PostgreSQL");
        Ok(())
    }

    /// Starts a detached shell that stops this server once this process is gone.
    ///
    /// The watchdog is given the postmaster's PID now, rather than reading `postmaster.pid` when
    /// it fires: by then a restarted stack may own the directory, and its new server must not be
    /// stopped by the old watchdog.
    fn spawn_watchdog(&self, remove_on_exit: bool) -> Result<(), ClusterError> {
        let postmaster = std::fs::read_to_string(self.data_dir.join("postmaster.pid"))
            .ok()
            .and_then(|contents| contents.lines().next().map(str::trim).map(str::to_owned))
            .filter(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| ClusterError::Command {
                command: "read postmaster.pid".to_owned(),
                detail: "the started server wrote no PID".to_owned(),
            })?;
        let cleanup = if remove_on_exit { "rm -rf \"$3\"" } else { ":" };
        let script = format!(
            "while kill -0 \"$1\" 2>/dev/null; do sleep 1; done; \
             if kill -0 \"$2\" 2>/dev/null; then kill -INT \"$2\" 2>/dev/null; \
             while kill -0 \"$2\" 2>/dev/null; do sleep 0.2; done; fi; {cleanup}"
        );
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(script)
            .arg("sigstack-pg-watchdog")
            .arg(std::process::id().to_string())
            .arg(&postmaster)
            .arg(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        command
            .spawn()
            .map(drop)
            .map_err(|error| ClusterError::Command {
                command: "sh (watchdog)".to_owned(),
                detail: error.to_string(),
            })
    }

    fn create_database(&self) -> Result<(), ClusterError> {
        let mut command = self.command("psql");
        command
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-tAc"])
            .arg(format!(
                "SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'"
            ));
        let output = command.output().map_err(|error| ClusterError::Command {
            command: "psql".to_owned(),
            detail: error.to_string(),
        })?;
        if String::from_utf8_lossy(&output.stdout).trim() == "1" {
            return Ok(());
        }
        let mut command = self.command("createdb");
        command
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(DATABASE_NAME);
        run(command, "createdb")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(error) = self.stop_inner() {
            tracing::warn!(%error, "failed to stop private PostgreSQL");
        }
    }
}

fn run(mut command: Command, name: &str) -> Result<(), ClusterError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| ClusterError::Command {
            command: name.to_owned(),
            detail: error.to_string(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(ClusterError::Command {
        command: name.to_owned(),
        detail: format!(
            "{}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            String::from_utf8_lossy(&output.stdout).trim()
        ),
    })
}

fn is_root() -> bool {
    // The effective uid is the owner of /proc/self; no libc call needed.
    std::fs::metadata("/proc/self")
        .map(|meta| std::os::unix::fs::MetadataExt::uid(&meta) == 0)
        .unwrap_or(false)
}

fn postmaster_alive(data_dir: &Path) -> bool {
    let Ok(contents) = std::fs::read_to_string(data_dir.join("postmaster.pid")) else {
        return false;
    };
    let Some(pid) = contents
        .lines()
        .next()
        .and_then(|line| line.trim().parse::<u32>().ok())
    else {
        return false;
    };
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Lets the unprivileged server account reach `dir` through its parents, which temporary
/// directories create with mode 0700.
fn make_traversable(dir: &Path) -> std::io::Result<()> {
    for ancestor in dir.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() || ancestor == Path::new("/") {
            break;
        }
        let mode = std::fs::metadata(ancestor)?.permissions().mode();
        if mode & 0o001 == 0 {
            std::fs::set_permissions(ancestor, std::fs::Permissions::from_mode(mode | 0o011))?;
        }
    }
    Ok(())
}

fn free_port() -> Result<u16, ClusterError> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| ClusterError::Command {
            command: "bind".to_owned(),
            detail: error.to_string(),
        })
}
