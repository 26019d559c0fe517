//! Configuration of the identity provider (`[idp]` in sigstack.toml).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

/// Default lifetime of issued tokens, in seconds. Sigstore CAs issue certificates only while the
/// token is valid, and ten minutes is what public identity providers typically grant.
pub const DEFAULT_TOKEN_LIFETIME_SECONDS: u64 = 600;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdpConfig {
    /// Runs the provider. `sigstack init` turns it on for trials; leave it off in production.
    pub enabled: bool,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Issuer URL (`iss`), as clients and the CA reach it. It must have no trailing slash, because
    /// OpenID Connect compares issuers as exact strings.
    pub public_url: Url,
    /// The ES256 key file, relative to the data directory.
    pub key_file: PathBuf,
    /// Lifetime of issued tokens, in seconds.
    pub token_lifetime_seconds: u64,
    /// Build agents allowed to use the `client_credentials` grant. An empty list is left out of
    /// the generated file, so that `[[idp.clients]]` tables can be appended to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<IdpClient>,
}

/// A build agent that may request tokens for one identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpClient {
    pub client_id: String,
    /// The client secret. Prefer `client_secret_file` so the secret stays out of the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// File holding the client secret (trailing newline ignored), relative to the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// Email address the agent's tokens carry as `sub` and `email`.
    pub email: String,
}

impl Default for IdpConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 5556)),
            public_url: Url::parse("http://127.0.0.1:5556")
                .unwrap_or_else(|_| unreachable!("valid literal URL")),
            key_file: PathBuf::from("keys/idp.pem"),
            token_lifetime_seconds: DEFAULT_TOKEN_LIFETIME_SECONDS,
            clients: Vec::new(),
        }
    }
}

impl IdpConfig {
    /// Checks what serde cannot, naming the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.public_url.scheme(), "http" | "https")
            || self.public_url.host_str().is_none()
        {
            return Err(format!(
                "idp.public_url {} must be an http or https URL with a host",
                self.public_url
            ));
        }
        if self.token_lifetime_seconds == 0 || self.token_lifetime_seconds > 3600 {
            return Err(format!(
                "idp.token_lifetime_seconds {} must be between 1 and 3600",
                self.token_lifetime_seconds
            ));
        }
        for client in &self.clients {
            if client.client_secret.is_some() == client.client_secret_file.is_some() {
                return Err(format!(
                    "idp client {:?} must set exactly one of client_secret and client_secret_file",
                    client.client_id
                ));
            }
            if !client.email.contains('@') {
                return Err(format!(
                    "idp client {:?} has email {:?}, which is not an email address",
                    client.client_id, client.email
                ));
            }
        }
        Ok(())
    }

    /// Returns the issuer string: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }
}
