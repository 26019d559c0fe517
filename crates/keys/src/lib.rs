//! Signing keys kept as PKCS#8 PEM files.
//!
//! A key file is written once, with mode 0600, and read on every start so that the public key,
//! and with it every log ID and certificate that names it, stays the same across restarts. A key
//! may be encrypted (PKCS#5 v2 scrypt + AES-256-CBC, the `ENCRYPTED PRIVATE KEY` PEM label) with
//! a password taken from `SIGSTACK_KEY_PASSWORD` or from the file named by
//! `SIGSTACK_KEY_PASSWORD_FILE`. Nothing in this crate logs key material or passwords.
#![forbid(unsafe_code)]

mod file;
mod password;
mod signer;

pub use file::{
    is_pkcs8_pem, load_or_create_p256, read_pkcs8_pem, rewrite_pkcs8_pem, write_pkcs8_pem,
};
pub use password::KeyPassword;
pub use signer::LogSigner;

use std::path::PathBuf;

/// Errors from reading, writing or decoding key files. Each names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("failed to read key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to write key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "key file {path} is encrypted but no password was given: set SIGSTACK_KEY_PASSWORD or SIGSTACK_KEY_PASSWORD_FILE"
    )]
    PasswordMissing { path: PathBuf },
    #[error("failed to decrypt key file {path}: the password is wrong or the file is damaged")]
    Decrypt { path: PathBuf },
    #[error("key file {path} is not a PKCS#8 PEM private key: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("failed to read the key password file {path}: {source}")]
    PasswordFile {
        path: PathBuf,
        source: std::io::Error,
    },
}
