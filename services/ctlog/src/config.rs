//! Configuration of the certificate-transparency log (`[ctlog]` in sigstack.toml).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CtlogConfig {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Path prefix of the RFC 6962 API: `sigstack` serves `/sigstack/ct/v1/...`. Empty serves
    /// `/ct/v1/...`. Segments are separated by `/`, with no leading or trailing slash.
    pub prefix: String,
    /// The log's ECDSA P-256 PKCS#8 key file, relative to the data directory.
    pub key_file: PathBuf,
    /// PEM files, relative to the data directory, whose self-signed certificates are the roots
    /// that accepted chains must lead to. Several roots let a CA rotate.
    pub roots_files: Vec<PathBuf>,
    /// Base URL at which the CA and monitors reach the log, without the prefix.
    pub public_url: Url,
}

impl Default for CtlogConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 6962)),
            prefix: "sigstack".to_owned(),
            key_file: PathBuf::from("keys/ctlog.pem"),
            roots_files: vec![PathBuf::from("trust/ca-chain.pem")],
            public_url: Url::parse("http://127.0.0.1:6962")
                .unwrap_or_else(|_| unreachable!("valid literal URL")),
        }
    }
}

impl CtlogConfig {
    /// Checks what serde cannot, with one message per problem naming the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.public_url.host_str().is_none_or(str::is_empty) {
            return Err(format!("ctlog.public_url {} has no host", self.public_url));
        }
        if !matches!(self.public_url.scheme(), "http" | "https") {
            return Err(format!(
                "ctlog.public_url {} must use http or https",
                self.public_url
            ));
        }
        validate_prefix(&self.prefix)?;
        if self.key_file.as_os_str().is_empty() {
            return Err("ctlog.key_file is empty; name the log's PKCS#8 key file".to_owned());
        }
        if self.roots_files.is_empty() {
            return Err(
                "ctlog.roots_files is empty; name at least one PEM file with the CA's root"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Path of the RFC 6962 API below the server root: `/<prefix>/ct/v1`, or `/ct/v1` without
    /// a prefix.
    pub fn api_path(&self) -> String {
        if self.prefix.is_empty() {
            "/ct/v1".to_owned()
        } else {
            format!("/{}/ct/v1", self.prefix)
        }
    }

    /// Returns the log's URL as RFC 6962 clients (Fulcio's `--ct-log-url`) and the trust root
    /// name it: the public URL with the prefix appended and no trailing slash.
    pub fn log_url(&self) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        if self.prefix.is_empty() {
            base.to_owned()
        } else {
            format!("{base}/{}", self.prefix)
        }
    }
}

/// Accepts an empty prefix or `/`-separated segments of URL-unreserved characters, so that the
/// prefix is a literal path in every router and URL.
fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    for segment in prefix.split('/') {
        if segment.is_empty() {
            return Err(format!(
                "ctlog.prefix {prefix:?} has an empty segment; write it without leading, trailing or double slashes"
            ));
        }
        let valid = segment.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '-' | '.' | '_' | '~')
        });
        if !valid || segment == "." || segment == ".." {
            return Err(format!(
                "ctlog.prefix {prefix:?} may contain only letters, digits, '-', '.', '_', '~' and '/'"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_prefix(prefix: &str) -> CtlogConfig {
        CtlogConfig {
            prefix: prefix.to_owned(),
            ..CtlogConfig::default()
        }
    }

    #[test]
    fn default_config_is_valid() {
        let config = CtlogConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.api_path(), "/sigstack/ct/v1");
        assert_eq!(config.log_url(), "http://127.0.0.1:6962/sigstack");
    }

    #[test]
    fn prefix_forms() {
        for accepted in ["", "sigstack", "a/b", "log-2026.1_x~"] {
            assert_eq!(with_prefix(accepted).validate(), Ok(()), "{accepted:?}");
        }
        for rejected in [
            "/sigstack",
            "sigstack/",
            "a//b",
            "a b",
            "{x}",
            "..",
            "a/./b",
            "é",
        ] {
            assert!(with_prefix(rejected).validate().is_err(), "{rejected:?}");
        }
        assert_eq!(with_prefix("").api_path(), "/ct/v1");
        assert_eq!(with_prefix("").log_url(), "http://127.0.0.1:6962");
    }

    #[test]
    fn unknown_keys_rejected() {
        let parsed: Result<CtlogConfig, _> =
            serde_json::from_str(r#"{"prefix": "x", "root_file": "a.pem"}"#);
        assert!(parsed.is_err());
    }

    #[test]
    fn empty_roots_rejected() {
        let config = CtlogConfig {
            roots_files: Vec::new(),
            ..CtlogConfig::default()
        };
        assert!(config.validate().is_err());
    }
}
