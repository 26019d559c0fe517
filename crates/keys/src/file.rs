use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use pkcs8::der::zeroize::Zeroizing;
use pkcs8::{EncryptedPrivateKeyInfo, LineEnding, PrivateKeyInfo, SecretDocument};
use rand_core::OsRng;

use crate::{KeyError, KeyPassword, LogSigner};

/// PEM label of an unencrypted PKCS#8 key (RFC 5958 §5).
const PLAIN_LABEL: &str = "PRIVATE KEY";
/// PEM label of an encrypted PKCS#8 key (RFC 5958 §5).
const ENCRYPTED_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Writes a PKCS#8 private key (DER `PrivateKeyInfo`) as PEM with mode 0600, encrypting it when
/// a password is set. Refuses to overwrite an existing file, because replacing a log or CA key
/// would silently invalidate everything signed with it.
pub fn write_pkcs8_pem(path: &Path, der: &[u8], password: &KeyPassword) -> Result<(), KeyError> {
    let format_error = |reason: String| KeyError::Format {
        path: path.to_owned(),
        reason,
    };
    let pem: Zeroizing<String> = match password.as_bytes() {
        Some(password) => {
            let info = PrivateKeyInfo::try_from(der).map_err(|e| format_error(e.to_string()))?;
            let document = info
                .encrypt(OsRng, password)
                .map_err(|e| format_error(e.to_string()))?;
            document
                .to_pem(ENCRYPTED_LABEL, LineEnding::LF)
                .map_err(|e| format_error(e.to_string()))?
        }
        None => {
            let document =
                SecretDocument::try_from(der).map_err(|e| format_error(e.to_string()))?;
            document
                .to_pem(PLAIN_LABEL, LineEnding::LF)
                .map_err(|e| format_error(e.to_string()))?
        }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| KeyError::Write {
            path: path.to_owned(),
            source,
        })?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| KeyError::Write {
            path: path.to_owned(),
            source,
        })?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| KeyError::Write {
            path: path.to_owned(),
            source,
        })
}

/// Reads a PKCS#8 PEM key file and returns the DER `PrivateKeyInfo`, decrypting it when the file
/// contains an `ENCRYPTED PRIVATE KEY`.
pub fn read_pkcs8_pem(path: &Path, password: &KeyPassword) -> Result<SecretDocument, KeyError> {
    let pem = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?,
    );
    let format_error = |reason: String| KeyError::Format {
        path: path.to_owned(),
        reason,
    };
    let (label, document) =
        SecretDocument::from_pem(pem.trim()).map_err(|e| format_error(e.to_string()))?;
    match label {
        PLAIN_LABEL => {
            if password.is_set() {
                tracing::debug!(path = %path.display(), "key file is not encrypted although a password is set");
            }
            Ok(document)
        }
        ENCRYPTED_LABEL => {
            let password = password
                .as_bytes()
                .ok_or_else(|| KeyError::PasswordMissing {
                    path: path.to_owned(),
                })?;
            let info = EncryptedPrivateKeyInfo::try_from(document.as_bytes())
                .map_err(|e| format_error(e.to_string()))?;
            info.decrypt(password).map_err(|_| KeyError::Decrypt {
                path: path.to_owned(),
            })
        }
        other => Err(format_error(format!(
            "unexpected PEM label {other:?}, expected {PLAIN_LABEL:?} or {ENCRYPTED_LABEL:?}"
        ))),
    }
}

/// Returns whether `path` contains a PKCS#8 private key in PEM, encrypted or not, judged by its
/// first line. Chains and public keys in the same directory return false.
pub fn is_pkcs8_pem(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let first = text.lines().next().unwrap_or_default().trim();
    first == format!("-----BEGIN {PLAIN_LABEL}-----")
        || first == format!("-----BEGIN {ENCRYPTED_LABEL}-----")
}

/// Replaces the key file at `path` with the same key (`der`) under `password`, keeping its
/// owner and modification time. The new file is written next to it and renamed over it, so a crash
/// leaves either the old file or the new one.
pub fn rewrite_pkcs8_pem(path: &Path, der: &[u8], password: &KeyPassword) -> Result<(), KeyError> {
    let write_error = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(write_error)?;
    let modified = metadata.modified().map_err(write_error)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = std::path::PathBuf::from(temporary);

    // A leftover from an interrupted run contains no key that the original file lacks.
    match std::fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(write_error(error)),
    }
    write_pkcs8_pem(&temporary, der, password)?;
    std::fs::File::options()
        .write(true)
        .open(&temporary)
        .and_then(|file| file.set_modified(modified))
        .map_err(write_error)?;
    // The services may run as another user than this command (root in a container, say).
    std::os::unix::fs::chown(
        &temporary,
        Some(std::os::unix::fs::MetadataExt::uid(&metadata)),
        Some(std::os::unix::fs::MetadataExt::gid(&metadata)),
    )
    .map_err(write_error)?;

    std::fs::rename(&temporary, path).map_err(write_error)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)
            .and_then(|directory| directory.sync_all())
            .map_err(write_error)?;
    }
    Ok(())
}

/// Loads the ECDSA P-256 key at `path`, creating it first when the file does not exist.
/// Returns the signer and whether the key was created by this call.
pub fn load_or_create_p256(
    path: &Path,
    password: &KeyPassword,
) -> Result<(LogSigner, bool), KeyError> {
    let created = if path.exists() {
        false
    } else {
        let key = p256::SecretKey::random(&mut OsRng);
        let der =
            p256::pkcs8::EncodePrivateKey::to_pkcs8_der(&key).map_err(|e| KeyError::Format {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        write_pkcs8_pem(path, der.as_bytes(), password)?;
        tracing::info!(path = %path.display(), encrypted = password.is_set(), "created ECDSA P-256 key");
        true
    };
    let document = read_pkcs8_pem(path, password)?;
    let signer =
        LogSigner::from_pkcs8_der(document.as_bytes()).map_err(|reason| KeyError::Format {
            path: path.to_owned(),
            reason,
        })?;
    Ok((signer, created))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_survives_reload_with_mode_0600() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("keys/log.pem");
        let (first, created) = load_or_create_p256(&path, &KeyPassword::none()).expect("create");
        assert!(created);
        let (second, created) = load_or_create_p256(&path, &KeyPassword::none()).expect("reload");
        assert!(!created);
        assert_eq!(first.spki_der(), second.spki_der());
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn encrypted_key_needs_its_password() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("log.pem");
        let password = KeyPassword::new("correct horse");
        let (first, _) = load_or_create_p256(&path, &password).expect("create");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));

        let (second, _) = load_or_create_p256(&path, &password).expect("reload");
        assert_eq!(first.spki_der(), second.spki_der());

        let missing = load_or_create_p256(&path, &KeyPassword::none()).unwrap_err();
        assert!(
            matches!(missing, KeyError::PasswordMissing { .. }),
            "{missing}"
        );
        let wrong = load_or_create_p256(&path, &KeyPassword::new("wrong")).unwrap_err();
        assert!(matches!(wrong, KeyError::Decrypt { .. }), "{wrong}");
    }

    #[test]
    fn existing_key_is_never_overwritten() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("log.pem");
        load_or_create_p256(&path, &KeyPassword::none()).expect("create");
        let error = write_pkcs8_pem(&path, b"unused", &KeyPassword::none()).unwrap_err();
        assert!(
            matches!(error, KeyError::Write { .. } | KeyError::Format { .. }),
            "{error}"
        );
    }

    #[test]
    fn rewrite_changes_password_and_keeps_key() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("log.pem");
        let (first, _) = load_or_create_p256(&path, &KeyPassword::none()).expect("create");
        let before = std::fs::metadata(&path)
            .expect("metadata")
            .modified()
            .expect("mtime");
        assert!(is_pkcs8_pem(&path));

        let der = read_pkcs8_pem(&path, &KeyPassword::none()).expect("read");
        let password = KeyPassword::new("new password");
        rewrite_pkcs8_pem(&path, der.as_bytes(), &password).expect("rewrite");

        let (second, created) = load_or_create_p256(&path, &password).expect("reload");
        assert!(!created);
        assert_eq!(first.spki_der(), second.spki_der());
        let after = std::fs::metadata(&path)
            .expect("metadata")
            .modified()
            .expect("mtime");
        assert_eq!(before, after);
        let plain = load_or_create_p256(&path, &KeyPassword::none()).unwrap_err();
        assert!(matches!(plain, KeyError::PasswordMissing { .. }), "{plain}");
    }

    #[test]
    fn chains_are_not_keys() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("chain.pem");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        assert!(!is_pkcs8_pem(&path));
    }

    #[test]
    fn garbage_file_is_a_format_error() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("log.pem");
        std::fs::write(&path, "not a key").expect("write");
        let error = load_or_create_p256(&path, &KeyPassword::none()).unwrap_err();
        assert!(matches!(error, KeyError::Format { .. }), "{error}");
    }
}
