//! `sigstack init` and `sigstack trust export` as a user runs them.

use std::path::Path;
use std::process::Command;

fn sigstack(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("SIGSTACK_KEY_PASSWORD")
        .env_remove("SIGSTACK_KEY_PASSWORD_FILE")
        .output()
        .expect("run sigstack")
}

/// Runs `sigstack trust export` of the data directory DATA into ARCHIVE and checks it succeeded.
fn trust_export(data: &Path, archive: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_sigstack"))
        .args(["trust", "export", "--dir"])
        .arg(data)
        .arg("--out")
        .arg(archive)
        .output()
        .expect("run sigstack trust export");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn init_is_idempotent_and_unique_per_directory() {
    let first = tempfile::tempdir().expect("temporary directory");
    let second = tempfile::tempdir().expect("temporary directory");
    assert!(sigstack(&["init"], first.path()).status.success());
    let trusted_root = read(&first.path().join("trust/trusted_root.json"));
    let tuf_root = read(&first.path().join("trust/root.json"));

    let again = sigstack(&["init"], first.path());
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already initialized"));
    assert_eq!(
        read(&first.path().join("trust/trusted_root.json")),
        trusted_root,
        "trust root unchanged"
    );
    assert_eq!(
        read(&first.path().join("trust/root.json")),
        tuf_root,
        "TUF root unchanged"
    );
    assert!(
        !first.path().join("tuf/2.targets.json").exists(),
        "no new TUF version without a change"
    );

    assert!(sigstack(&["init"], second.path()).status.success());
    assert_ne!(
        read(&second.path().join("trust/root.json")),
        tuf_root,
        "each stack has its own TUF root"
    );
    assert_ne!(
        read(&second.path().join("trust/trusted_root.json")),
        trusted_root
    );

    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(first.path().join("keys/ca.pem"))
            .expect("key")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "keys are readable by their owner only");
}

#[test]
fn trust_export_holds_what_verifiers_need() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let archive = dir.path().join("trust.tar.gz");
    let data = dir.path().join("data");
    assert!(sigstack(&["init"], &data).status.success());
    trust_export(&data, &archive);
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(&archive)
        .output()
        .expect("tar");
    let listing = String::from_utf8_lossy(&listing.stdout);
    for expected in [
        "sigstack-trust/trust/trusted_root.json",
        "sigstack-trust/trust/signing_config.v0.2.json",
        "sigstack-trust/trust/trust_config.json",
        "sigstack-trust/trust/root.json",
        "sigstack-trust/tuf/timestamp.json",
        "sigstack-trust/tuf/1.root.json",
        "sigstack-trust/keys/rekor.pub",
        "sigstack-trust/keys/ctfe.pub",
        "sigstack-trust/keys/fulcio-chain.pem",
        "sigstack-trust/keys/tsa-chain.pem",
    ] {
        assert!(
            listing.lines().any(|line| line == expected),
            "{expected} missing from:\n{listing}"
        );
    }
    for private in [
        "keys/ca.pem",
        "keys/tlog.pem",
        "keys/tuf-root.pem",
        "keys/tsa.pem",
    ] {
        assert!(
            !listing.lines().any(|line| line.ends_with(private)),
            "private key {private} was exported"
        );
    }
}

/// Returns the log's `validFor.start` from a trusted_root.json.
fn log_valid_from(trusted_root: &Path) -> String {
    let root: serde_json::Value = serde_json::from_str(&read(trusted_root)).expect("trusted root");
    root["tlogs"][0]["publicKey"]["validFor"]["start"]
        .as_str()
        .expect("tlogs[0] validFor.start")
        .to_owned()
}

#[test]
fn log_validity_start_survives_key_copy() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    assert!(sigstack(&["init"], &data).status.success());
    let start = log_valid_from(&data.join("trust/trusted_root.json"));
    let record = read(&data.join("keys/tlog.pem.valid-from"));
    assert_eq!(record.trim(), start);

    // What `cp -r` or a mounted secret does: the key file gets a new modification time.
    let touched = Command::new("touch")
        .args(["-d", "2030-01-01T00:00:00Z"])
        .arg(data.join("keys/tlog.pem"))
        .status()
        .expect("touch");
    assert!(touched.success());

    let archive = dir.path().join("trust.tar.gz");
    trust_export(&data, &archive);
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).expect("create directory");
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("tar");
    assert!(untar.success());
    assert_eq!(
        log_valid_from(&unpacked.join("sigstack-trust/trust/trusted_root.json")),
        start
    );
}
