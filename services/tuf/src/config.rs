//! The `[tuf]` section of `sigstack.toml`.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

const DAY_SECONDS: u64 = 24 * 60 * 60;

/// Configuration of the TUF repository and its HTTP service. Unknown keys are rejected.
///
/// Each online role is re-signed once less than half of its lifetime is left, so with the
/// defaults the timestamp is re-signed every 12 hours and the snapshot every 3.5 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TufConfig {
    /// Address the HTTP server binds. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Base URL clients use as the TUF mirror, for example `cosign initialize --mirror URL`.
    /// Default `http://127.0.0.1:8080`.
    pub public_url: Url,
    /// Lifetime of the root metadata, in seconds. Default 365 days. Renewing the root needs the
    /// offline root key.
    pub root_expiry_secs: u64,
    /// Lifetime of the targets metadata, in seconds. Default 90 days.
    pub targets_expiry_secs: u64,
    /// Lifetime of the snapshot metadata, in seconds. Default 7 days.
    pub snapshot_expiry_secs: u64,
    /// Lifetime of the timestamp metadata, in seconds. Default 1 day.
    pub timestamp_expiry_secs: u64,
    /// Seconds between two checks for metadata that needs re-signing. Default 600.
    pub refresh_interval_secs: u64,
}

impl Default for TufConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: Url::parse("http://127.0.0.1:8080")
                .unwrap_or_else(|_| unreachable!("valid literal URL")),
            root_expiry_secs: 365 * DAY_SECONDS,
            targets_expiry_secs: 90 * DAY_SECONDS,
            snapshot_expiry_secs: 7 * DAY_SECONDS,
            timestamp_expiry_secs: DAY_SECONDS,
            refresh_interval_secs: 600,
        }
    }
}

impl TufConfig {
    /// Checks what serde cannot, with one message per problem naming the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.public_url.scheme(), "http" | "https") {
            return Err(format!(
                "tuf.public_url {} must use http or https",
                self.public_url
            ));
        }
        if self.public_url.host_str().is_none_or(str::is_empty) {
            return Err(format!("tuf.public_url {} has no host", self.public_url));
        }
        for (key, value) in [
            ("root_expiry_secs", self.root_expiry_secs),
            ("targets_expiry_secs", self.targets_expiry_secs),
            ("snapshot_expiry_secs", self.snapshot_expiry_secs),
            ("timestamp_expiry_secs", self.timestamp_expiry_secs),
            ("refresh_interval_secs", self.refresh_interval_secs),
        ] {
            if value == 0 {
                return Err(format!("tuf.{key} must be greater than 0"));
            }
        }
        // The refresher must run at least once in the second half of the timestamp's lifetime,
        // or clients could see an expired timestamp between two runs.
        if self.refresh_interval_secs >= self.timestamp_expiry_secs / 2 {
            return Err(format!(
                "tuf.refresh_interval_secs {} must be below half of tuf.timestamp_expiry_secs {}",
                self.refresh_interval_secs, self.timestamp_expiry_secs
            ));
        }
        Ok(())
    }

    /// Returns the public URL without a trailing slash, the form clients take as the mirror URL.
    pub fn mirror_url(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.refresh_interval_secs)
    }

    pub(crate) fn expiry(&self) -> Expiry {
        Expiry {
            root: Duration::from_secs(self.root_expiry_secs),
            targets: Duration::from_secs(self.targets_expiry_secs),
            snapshot: Duration::from_secs(self.snapshot_expiry_secs),
            timestamp: Duration::from_secs(self.timestamp_expiry_secs),
        }
    }
}

/// Lifetimes of the four roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiry {
    pub(crate) root: Duration,
    pub(crate) targets: Duration,
    pub(crate) snapshot: Duration,
    pub(crate) timestamp: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(TufConfig::default().validate(), Ok(()));
    }

    #[test]
    fn slow_refresher_is_rejected() {
        let config = TufConfig {
            refresh_interval_secs: 43_200,
            ..TufConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert!(error.contains("refresh_interval_secs"), "{error}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let error = serde_json::from_str::<TufConfig>(r#"{"expiry": 3}"#).unwrap_err();
        assert!(error.to_string().contains("expiry"), "{error}");
    }
}
