//! Loading the accepted roots from the PEM files named by `ctlog.roots_files`.

use std::path::{Path, PathBuf};

use x509_cert::Certificate;

use crate::CtlogConfig;
use crate::chain::is_self_signed;

#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    #[error(
        "failed to read CT log roots file {path}: {source}; set ctlog.roots_files to the PEM files that contain the CA's root certificates"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CT log roots file {path} is not a PEM certificate chain: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error(
        "CT log roots file {path} contains no self-signed certificate; it must contain the CA's root"
    )]
    NoRoot { path: PathBuf },
}

/// Reads every file of `config.roots_files`, relative to `data_dir` unless absolute, and
/// returns the self-signed certificates in them, in file order. Other certificates in the
/// files (the CA writes its intermediate first) are skipped. A file without a self-signed
/// certificate is an error.
pub fn load_roots(data_dir: &Path, config: &CtlogConfig) -> Result<Vec<Certificate>, RootsError> {
    let mut roots = Vec::new();
    for file in &config.roots_files {
        let path = data_dir.join(file);
        let pem = std::fs::read(&path).map_err(|source| RootsError::Read {
            path: path.clone(),
            source,
        })?;
        let certificates =
            Certificate::load_pem_chain(&pem).map_err(|error| RootsError::Parse {
                path: path.clone(),
                reason: error.to_string(),
            })?;
        let before = roots.len();
        roots.extend(certificates.into_iter().filter(is_self_signed));
        if roots.len() == before {
            return Err(RootsError::NoRoot { path });
        }
    }
    Ok(roots)
}
