//! Configuration of the transparency log (`[tlog]` in sigstack.toml).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

/// Default request body limit: 32 MiB. The Rekor v1 API bounds entries only by the body size.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlogConfig {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Base URL clients use to reach the log; it goes into the trust root. Its host becomes the
    /// checkpoint origin and signer name when the log is created, and stays fixed after that.
    pub public_url: Url,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// The log's ECDSA P-256 PKCS#8 key file, relative to the data directory.
    pub key_file: PathBuf,
}

impl Default for TlogConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: Url::parse("http://127.0.0.1:3000")
                .unwrap_or_else(|_| unreachable!("valid literal URL")),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            key_file: PathBuf::from("keys/tlog.pem"),
        }
    }
}

impl TlogConfig {
    /// Checks what serde cannot, with one message per problem naming the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.public_url.host_str().is_none_or(str::is_empty) {
            return Err(format!("tlog.public_url {} has no host", self.public_url));
        }
        if !matches!(self.public_url.scheme(), "http" | "https") {
            return Err(format!(
                "tlog.public_url {} must use http or https",
                self.public_url
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(format!(
                "tlog.max_body_bytes {} is below the 1024-byte minimum",
                self.max_body_bytes
            ));
        }
        Ok(())
    }

    /// Returns the host of the public URL: checkpoint origin prefix and signature-line name. sigstore-js
    /// requires the name to be a substring of the log's URL in the trusted root.
    pub fn public_host(&self) -> String {
        self.public_url.host_str().unwrap_or("localhost").to_owned()
    }
}
