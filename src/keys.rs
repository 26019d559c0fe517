//! `sigstack keys change-password`: re-encrypts every private key of a data directory under a
//! new password.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sigstack_keys::KeyPassword;

/// Variable with the current password while it changes.
const OLD_PASSWORD: &str = "SIGSTACK_OLD_KEY_PASSWORD";
/// Variable that names a file holding the current password.
const OLD_PASSWORD_FILE: &str = "SIGSTACK_OLD_KEY_PASSWORD_FILE";

/// Re-encrypts the private keys in `dir/keys` from the password in `SIGSTACK_OLD_KEY_PASSWORD`
/// (none: the keys are unencrypted) to the one in `SIGSTACK_KEY_PASSWORD`, or stores them
/// unencrypted when `unencrypted` is set. Returns how many files it rewrote.
pub fn change_password(dir: &Path, unencrypted: bool) -> anyhow::Result<usize> {
    let old = KeyPassword::from_env_names(OLD_PASSWORD, OLD_PASSWORD_FILE)?;
    let new = KeyPassword::from_env()?;
    anyhow::ensure!(
        new.is_set() || unencrypted,
        "no new password: set SIGSTACK_KEY_PASSWORD or SIGSTACK_KEY_PASSWORD_FILE, or pass \
         --unencrypted to store the keys without one"
    );
    anyhow::ensure!(
        !(new.is_set() && unencrypted),
        "--unencrypted was given together with a new password in SIGSTACK_KEY_PASSWORD or \
         SIGSTACK_KEY_PASSWORD_FILE: drop one of them"
    );
    let keys = private_keys(&dir.join("keys"))?;

    // Decrypt every key before writing any, so a wrong old password changes nothing. A key that
    // opens only with the new password was rewritten by an earlier run that stopped part way.
    let mut pending = Vec::new();
    for path in &keys {
        match sigstack_keys::read_pkcs8_pem(path, &old) {
            Ok(der) => pending.push((path, der)),
            Err(old_error) => {
                if new.is_set() && sigstack_keys::read_pkcs8_pem(path, &new).is_ok() {
                    tracing::info!(path = %path.display(), "key is already under the new password");
                    continue;
                }
                return Err(old_error).with_context(|| {
                    format!("set {OLD_PASSWORD} or {OLD_PASSWORD_FILE} to the current key password; no key was changed")
                });
            }
        }
    }

    // Each file is replaced by a rename, so a crash here leaves every key readable with either
    // the old or the new password, and running the command again finishes the change.
    for (path, der) in &pending {
        sigstack_keys::rewrite_pkcs8_pem(path, der.as_bytes(), &new)?;
        tracing::info!(path = %path.display(), encrypted = new.is_set(), "rewrote key");
    }
    Ok(pending.len())
}

/// Lists the PKCS#8 private key files in `keys_dir`, in name order.
fn private_keys(keys_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(keys_dir).with_context(|| {
        format!(
            "failed to list {}: is this a data directory made by `sigstack init`?",
            keys_dir.display()
        )
    })?;
    let mut keys = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("failed to list {}", keys_dir.display()))?
            .path();
        if path.extension().is_some_and(|extension| extension == "pem")
            && sigstack_keys::is_pkcs8_pem(&path)
        {
            keys.push(path);
        }
    }
    keys.sort();
    anyhow::ensure!(
        !keys.is_empty(),
        "no private keys in {}",
        keys_dir.display()
    );
    Ok(keys)
}
