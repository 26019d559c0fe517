//! Building the client trust files from the stack's keys and chains, publishing them through
//! the TUF repository, and exporting them for air-gapped verifiers.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use sigstack_keys::KeyPassword;
use sigstack_server::SystemClock;
use sigstack_trust::{
    CertificateAuthorityInput, IdentityProviderInput, LogInput, TimestampAuthorityInput,
    TrustInputs,
};

use crate::config::Config;

/// Collects what every service publishes into the trust inputs.
pub fn inputs(dir: &Path, config: &Config, password: &KeyPassword) -> anyhow::Result<TrustInputs> {
    let log = |key_file: &Path, url: String| -> anyhow::Result<LogInput> {
        let path = dir.join(key_file);
        let (signer, _) = sigstack_keys::load_or_create_p256(&path, password)?;
        Ok(LogInput {
            url,
            spki_der: signer.spki_der().to_vec(),
            valid_from: key_valid_from(&path)?,
        })
    };
    let chain = |file: &Path| -> anyhow::Result<Vec<Vec<u8>>> {
        let path = dir.join(file);
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("failed to read {}", path.display()))?;
        sigstack_trust::certificate_chain_from_pem(&pem)
            .with_context(|| format!("invalid certificate chain in {}", path.display()))
    };
    let ca_chain = chain(&config.ca.chain_file)?;
    let tsa_chain = chain(&config.tsa.chain_path)?;
    let ca_valid_from = sigstack_trust::not_before(&ca_chain[0])?;
    let tsa_valid_from = sigstack_trust::not_before(&tsa_chain[0])?;
    let identity_provider = config.idp.enabled.then(|| IdentityProviderInput {
        url: config.idp.issuer(),
        valid_from: ca_valid_from,
    });
    Ok(TrustInputs {
        operator: config.trust.operator.clone(),
        transparency_log: log(&config.tlog.key_file, trim(config.tlog.public_url.as_str()))?,
        ct_log: log(&config.ctlog.key_file, config.ctlog.log_url())?,
        certificate_authority: CertificateAuthorityInput {
            url: trim(config.ca.public_url.as_str()),
            chain_der: ca_chain,
            valid_from: ca_valid_from,
        },
        timestamp_authority: TimestampAuthorityInput {
            url: format!("{}/api/v1/timestamp", trim(config.tsa.public_url.as_str())),
            chain_der: tsa_chain,
            valid_from: tsa_valid_from,
        },
        identity_provider,
    })
}

fn trim(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Returns the start of a log key's validity, which the trust root publishes as the log's
/// `validFor.start`.
///
/// Verifiers reject an entry whose integrated time lies before that start, so it must never move
/// later. It is recorded once in `<key file>.valid-from` (RFC 3339) and read from there after. The
/// first value is the key file's modification time, which `init` sets when it creates the key.
/// A copy without timestamps (`cp -r`, a Kubernetes secret) resets that time, but the record
/// travels with the key.
fn key_valid_from(key_path: &Path) -> anyhow::Result<SystemTime> {
    let record = valid_from_record(key_path);
    match std::fs::read_to_string(&record) {
        Ok(text) => {
            return sigstack_trust::parse_rfc3339(&text).with_context(|| {
                format!(
                    "{} does not hold an RFC 3339 time (such as 2026-01-01T00:00:00Z): {:?}",
                    record.display(),
                    text.trim()
                )
            });
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("failed to read {}", record.display()));
        }
    }

    let modified = std::fs::metadata(key_path)
        .and_then(|meta| meta.modified())
        .with_context(|| {
            format!(
                "failed to read the modification time of {}",
                key_path.display()
            )
        })?;
    // Round down to whole seconds, as the trust root carries RFC 3339 seconds.
    let seconds = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let valid_from = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(seconds);

    // A read-only key directory (a mounted secret) cannot take the record. The start then
    // follows the file's time, so a warning says how to pin it.
    let text = format!("{}\n", sigstack_trust::rfc3339_seconds(valid_from));
    if let Err(error) = std::fs::write(&record, text) {
        tracing::warn!(
            record = %record.display(),
            %error,
            "could not record the log key's validity start; write the key's creation time there \
             in RFC 3339, or the trust root will move it whenever the key file's time changes"
        );
    }
    Ok(valid_from)
}

/// Returns the path of the file that pins a log key's validity start: the key path plus
/// `.valid-from`.
fn valid_from_record(key_path: &Path) -> PathBuf {
    let mut name = key_path.as_os_str().to_owned();
    name.push(".valid-from");
    PathBuf::from(name)
}

/// Writes the trust files and publishes them as TUF targets; both steps change nothing when the
/// trust material is unchanged.
pub fn publish(dir: &Path, config: &Config, password: &KeyPassword) -> anyhow::Result<()> {
    let clock = SystemClock;
    sigstack_tuf::init_repository(dir, password, &config.tuf, &clock)?;
    let inputs = inputs(dir, config, password)?;
    let report = sigstack_trust::write_trust_files(dir, &inputs)?;
    for path in &report.changed {
        tracing::info!(path = %path.display(), "wrote trust file");
    }
    let repository = sigstack_tuf::TufRepository::open(dir, password, &config.tuf)?;
    repository.publish(&sigstack_tuf::sigstore_targets(&inputs)?, &clock)?;
    Ok(())
}

/// Writes a `.tar.gz` with everything an air-gapped verifier needs: the trust files, the TUF
/// root and repository, and the PEM chains and public keys.
pub fn export(dir: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let config = Config::load(dir)?;
    let password = KeyPassword::from_env()?;
    publish(dir, &config, &password)?;

    let staging = tempfile::tempdir().context("failed to create a temporary directory")?;
    let root = staging.path().join("sigstack-trust");
    copy_tree(&dir.join("trust"), &root.join("trust"))?;
    copy_tree(&dir.join("tuf"), &root.join("tuf"))?;
    let inputs = inputs(dir, &config, &password)?;
    let keys = root.join("keys");
    std::fs::create_dir_all(&keys)?;
    std::fs::write(
        keys.join("rekor.pub"),
        pem("PUBLIC KEY", &inputs.transparency_log.spki_der),
    )?;
    std::fs::write(
        keys.join("ctfe.pub"),
        pem("PUBLIC KEY", &inputs.ct_log.spki_der),
    )?;
    std::fs::write(
        keys.join("fulcio-chain.pem"),
        inputs
            .certificate_authority
            .chain_der
            .iter()
            .map(|der| pem("CERTIFICATE", der))
            .collect::<String>(),
    )?;
    std::fs::write(
        keys.join("tsa-chain.pem"),
        inputs
            .timestamp_authority
            .chain_der
            .iter()
            .map(|der| pem("CERTIFICATE", der))
            .collect::<String>(),
    )?;

    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(out)
        .arg("-C")
        .arg(staging.path())
        .arg("sigstack-trust")
        .status()
        .context("failed to run tar")?;
    anyhow::ensure!(status.success(), "tar failed with {status}");
    Ok(out.to_path_buf())
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("failed to create {}", to.display()))?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("failed to read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("failed to copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}
