//! Writing the trust files under `<data dir>/trust/`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{TrustError, TrustFiles, TrustInputs, render};

/// Directory of the client trust files, relative to the data directory.
pub const TRUST_DIR: &str = "trust";
/// File name of the trusted root, as clients and the TUF repository name it.
pub const TRUSTED_ROOT_FILE: &str = "trusted_root.json";
/// File name of the v0.2 signing config, as clients and the TUF repository name it.
pub const SIGNING_CONFIG_FILE: &str = "signing_config.v0.2.json";
/// File name of the ClientTrustConfig for `sigstore --trust-config`.
pub const TRUST_CONFIG_FILE: &str = "trust_config.json";

/// The outcome of [`write_trust_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// The rendered documents, whether or not they were written.
    pub files: TrustFiles,
    /// Paths whose content changed and were rewritten; empty when every file was up to date.
    pub changed: Vec<PathBuf>,
}

/// Renders the trust files and writes each one under `<data_dir>/trust/` whose content differs
/// from what is on disk. Each file is replaced atomically (written beside it, then renamed), so a
/// reader sees either the old or the new document.
pub fn write_trust_files(data_dir: &Path, inputs: &TrustInputs) -> Result<WriteReport, TrustError> {
    let files = render(inputs)?;
    let directory = data_dir.join(TRUST_DIR);
    std::fs::create_dir_all(&directory).map_err(|source| TrustError::Write {
        path: directory.clone(),
        source,
    })?;
    let mut changed = Vec::new();
    for (name, contents) in [
        (TRUSTED_ROOT_FILE, &files.trusted_root),
        (SIGNING_CONFIG_FILE, &files.signing_config),
        (TRUST_CONFIG_FILE, &files.trust_config),
    ] {
        let path = directory.join(name);
        if write_if_changed(&path, contents.as_bytes())? {
            changed.push(path);
        }
    }
    Ok(WriteReport { files, changed })
}

/// Replaces `path` with `contents` unless it already contains exactly those bytes. Returns whether
/// the file was written.
fn write_if_changed(path: &Path, contents: &[u8]) -> Result<bool, TrustError> {
    match std::fs::read(path) {
        Ok(existing) if existing == contents => return Ok(false),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(TrustError::Read {
                path: path.to_owned(),
                source,
            });
        }
    }
    let write_error = |source| TrustError::Write {
        path: path.to_owned(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.tmp"));
    let mut file = std::fs::File::create(&temporary).map_err(write_error)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(write_error)?;
    Ok(true)
}
