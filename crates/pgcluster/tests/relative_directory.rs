//! A cluster started with a relative directory, as `sigstack up` gets from its default
//! `--dir ./sigstack-data`. This binary contains one test because it changes the working directory
//! of the process.

use std::path::Path;

use sigstack_pgcluster::Cluster;

#[test]
fn starts_with_relative_directory() {
    let work = tempfile::tempdir().expect("temporary directory");
    std::env::set_current_dir(work.path()).expect("enter the temporary directory");

    let cluster = Cluster::start(Path::new("./cluster-data"), false).expect("start the cluster");
    assert!(work.path().join("cluster-data/PG_VERSION").exists());
    assert!(work.path().join("cluster-data/postmaster.pid").exists());
    cluster.stop().expect("stop the cluster");
}
