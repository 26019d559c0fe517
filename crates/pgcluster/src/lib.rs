//! A private PostgreSQL cluster run from the server binaries installed on the machine, for
//! `sigstack up` without `DATABASE_URL` and for tests.
//!
//! PostgreSQL refuses to run as root, so when this process is root the cluster runs as the
//! `postgres` system user (or `nobody` where there is none) and its directory is handed to that
//! user. The server listens on 127.0.0.1 only, on a free port, with its Unix socket inside the
//! cluster directory. A watchdog process stops the server when this process exits, however it
//! exits, so an interrupted test run leaves no server behind.
#![forbid(unsafe_code)]

mod binaries;
mod cluster;
mod testdb;

pub use cluster::{Cluster, ClusterError};
pub use testdb::TestDatabase;
