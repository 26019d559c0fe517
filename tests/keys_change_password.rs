//! `sigstack keys change-password` on a data directory made by `sigstack init`.

use std::path::Path;
use std::process::{Command, Output};

/// Runs sigstack with exactly the key password variables given.
fn sigstack(args: &[&str], dir: &Path, passwords: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command.args(args).arg("--dir").arg(dir);
    for name in [
        "SIGSTACK_KEY_PASSWORD",
        "SIGSTACK_KEY_PASSWORD_FILE",
        "SIGSTACK_OLD_KEY_PASSWORD",
        "SIGSTACK_OLD_KEY_PASSWORD_FILE",
    ] {
        command.env_remove(name);
    }
    command.envs(passwords.iter().copied());
    command.output().expect("run sigstack")
}

fn key_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("keys"))
        .expect("list keys")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read key file"))
        })
        .collect();
    files.sort();
    files
}

fn export_works(data: &Path, passwords: &[(&str, &str)]) -> bool {
    let archive = data.with_extension("tar.gz");
    let mut args = vec!["trust", "export", "--out"];
    let archive_text = archive.to_string_lossy().into_owned();
    args.push(&archive_text);
    sigstack(&args, data, passwords).status.success()
}

#[test]
fn encrypts_then_changes_the_password() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    assert!(sigstack(&["init"], &data, &[]).status.success());

    let encrypted = sigstack(
        &["keys", "change-password"],
        &data,
        &[("SIGSTACK_KEY_PASSWORD", "first")],
    );
    assert!(
        encrypted.status.success(),
        "{}",
        String::from_utf8_lossy(&encrypted.stderr)
    );
    assert!(String::from_utf8_lossy(&encrypted.stdout).contains("rewrote 9 key files"));
    assert!(!export_works(&data, &[]));
    assert!(export_works(&data, &[("SIGSTACK_KEY_PASSWORD", "first")]));

    let changed = sigstack(
        &["keys", "change-password"],
        &data,
        &[
            ("SIGSTACK_OLD_KEY_PASSWORD", "first"),
            ("SIGSTACK_KEY_PASSWORD", "second"),
        ],
    );
    assert!(changed.status.success());
    assert!(!export_works(&data, &[("SIGSTACK_KEY_PASSWORD", "first")]));
    assert!(export_works(&data, &[("SIGSTACK_KEY_PASSWORD", "second")]));
}

#[test]
fn wrong_old_password_changes_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    assert!(
        sigstack(&["init"], &data, &[("SIGSTACK_KEY_PASSWORD", "right")])
            .status
            .success()
    );
    let before = key_files(&data);

    let output = sigstack(
        &["keys", "change-password"],
        &data,
        &[
            ("SIGSTACK_OLD_KEY_PASSWORD", "wrong"),
            ("SIGSTACK_KEY_PASSWORD", "new"),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SIGSTACK_OLD_KEY_PASSWORD"), "{stderr}");
    assert!(stderr.contains("no key was changed"), "{stderr}");
    assert_eq!(key_files(&data), before);
}

#[test]
fn new_password_or_flag_is_required() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let data = dir.path().join("data");
    assert!(sigstack(&["init"], &data, &[]).status.success());
    let output = sigstack(&["keys", "change-password"], &data, &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--unencrypted"), "{stderr}");
}
