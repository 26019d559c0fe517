//! The `[ca]` section of `sigstack.toml`, with its OIDC issuer tables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::pattern::MetaIssuerPattern;

/// Path of the issuing CA key that `init_material` creates, relative to the data directory.
pub const DEFAULT_KEY_PATH: &str = "keys/ca.pem";
/// Path of the PEM chain (intermediate first, root last) that `init_material` creates, relative
/// to the data directory. The CT log reads the same file to learn which roots it accepts.
pub const DEFAULT_CHAIN_PATH: &str = "trust/ca-chain.pem";
/// Audience that Sigstore clients request for their identity tokens.
pub const DEFAULT_CLIENT_ID: &str = "sigstore";
/// Default certificate lifetime, as Fulcio issues them.
pub const DEFAULT_VALIDITY_SECONDS: u64 = 600;
/// Maximum certificate lifetime the configuration accepts. Sigstore certificates are meant to be
/// short-lived: verifiers rely on a timestamp inside the validity window, not on revocation.
pub const MAX_VALIDITY_SECONDS: u64 = 24 * 60 * 60;
/// Default request body limit, Fulcio's `maxMsgSize` (4 MiB).
pub const DEFAULT_MAX_REQUEST_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Configuration of the certificate authority. Unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaConfig {
    /// Address to listen on. Default `127.0.0.1:5555`.
    pub listen: SocketAddr,
    /// Base URL that clients use, published in the trust root. It must have no path, because
    /// sigstore-python resolves `/api/v2/signingCert` against it with `urljoin`, which drops any
    /// path. Default `http://127.0.0.1:5555`.
    pub public_url: Url,
    /// Base URL of the RFC 6962 CT log, including its prefix: the CA posts precertificates to
    /// `<ct_log_url>/ct/v1/add-pre-chain`. Default `http://127.0.0.1:6962/sigstack`.
    pub ct_log_url: Option<Url>,
    /// Issue certificates without a CT log when `ct_log_url` is unset. The response then carries
    /// an empty detached SCT, as Fulcio's does, and sigstore-python rejects such certificates.
    /// Default false: start-up fails without a CT log.
    pub allow_without_ct_log: bool,
    /// PEM public key of the CT log. When set, every SCT is verified before it is embedded.
    /// Relative to the data directory unless absolute.
    pub ct_log_public_key_file: Option<PathBuf>,
    /// Issuing CA private key, PKCS#8 PEM (encrypted or not), relative to the data directory
    /// unless absolute. Default `keys/ca.pem`.
    pub key_file: PathBuf,
    /// PEM chain of the issuing CA: the certificate of `key_file` first, the root last, relative
    /// to the data directory unless absolute. Default `trust/ca-chain.pem`.
    pub chain_file: PathBuf,
    /// Lifetime of issued certificates in seconds. Default 600.
    pub validity_seconds: u64,
    /// Largest request body accepted, in bytes; larger bodies get HTTP 413.
    pub max_request_body_bytes: usize,
    /// Identity providers whose tokens the CA accepts.
    pub oidc: OidcConfig,
}

impl Default for CaConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 5555)),
            public_url: Url::parse("http://127.0.0.1:5555").expect("constant URL parses"),
            ct_log_url: Some(
                Url::parse("http://127.0.0.1:6962/sigstack").expect("constant URL parses"),
            ),
            allow_without_ct_log: false,
            ct_log_public_key_file: None,
            key_file: PathBuf::from(DEFAULT_KEY_PATH),
            chain_file: PathBuf::from(DEFAULT_CHAIN_PATH),
            validity_seconds: DEFAULT_VALIDITY_SECONDS,
            max_request_body_bytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
            oidc: OidcConfig::default(),
        }
    }
}

/// The trusted identity providers. The default trusts none.
///
/// ```toml
/// [ca.oidc.issuers."http://127.0.0.1:5556"]
/// type = "email"
///
/// [ca.oidc.meta_issuers."https://oidc.eks.*.amazonaws.com/id/*"]
/// type = "kubernetes"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// Issuers by their exact `iss` value.
    pub issuers: BTreeMap<String, IssuerConfig>,
    /// Issuers by a URL pattern in which each `*` matches one or more of `[-_a-zA-Z0-9]`.
    pub meta_issuers: BTreeMap<String, IssuerConfig>,
}

/// The mapping from the tokens of one identity provider to a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Issuer type, which selects the claims that become the subject alternative name and
    /// the Sigstore extensions.
    #[serde(rename = "type")]
    pub issuer_type: IssuerType,
    /// The `aud` value a token must contain. Default `sigstore`.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// `email` issuers only: accept tokens whose `email_verified` claim is absent or false.
    #[serde(default)]
    pub skip_email_verification: bool,
    /// `uri` issuers: the scheme and host every `sub` must have (`https://ci.example.com`).
    /// `username` issuers: the domain appended to the user name (`example.com`).
    #[serde(default)]
    pub subject_domain: Option<String>,
    /// `spiffe` issuers: the trust domain every `sub` must belong to.
    #[serde(default)]
    pub spiffe_trust_domain: Option<String>,
    /// `email` issuers: a `$.`-path to the claim that names the issuer put in the certificate,
    /// such as `$.federated_claims.connector_id` for Dex. Default: the `iss` claim.
    #[serde(default)]
    pub issuer_claim: Option<String>,
    /// The claim a proof of possession signs, as `/api/v2/configuration` advertises it. Default
    /// `email` for `email` issuers and `sub` for the others. Informational only.
    #[serde(default)]
    pub challenge_claim: Option<String>,
    /// `github-workflow` and `gitlab-pipeline` issuers: the web URL of the forge, for GitHub
    /// Enterprise Server or a self-hosted GitLab. Default `https://github.com` and
    /// `https://gitlab.com`.
    #[serde(default)]
    pub ci_base_url: Option<Url>,
    /// PEM file of CA certificates that the identity provider's TLS certificate chains to,
    /// added to the system roots. Relative to the data directory unless absolute.
    #[serde(default)]
    pub ca_bundle_file: Option<PathBuf>,
    /// Free text for operators. The CA does not read it.
    #[serde(default)]
    pub description: Option<String>,
}

fn default_client_id() -> String {
    DEFAULT_CLIENT_ID.to_owned()
}

/// How the claims of a token become the certificate's identity, as Fulcio's issuer types do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerType {
    /// rfc822Name SAN from the `email` claim.
    Email,
    /// URI SAN equal to `sub`, within `subject_domain`.
    Uri,
    /// otherName SAN `<sub>!<subject_domain>` of type 1.3.6.1.4.1.57264.1.7.
    Username,
    /// URI SAN naming the service account of a Kubernetes token.
    Kubernetes,
    /// URI SAN equal to the SPIFFE ID in `sub`.
    Spiffe,
    /// GitHub Actions: URI SAN of the job's workflow, and the build-provenance extensions.
    GithubWorkflow,
    /// GitLab CI: URI SAN of the pipeline configuration, and the build-provenance extensions.
    GitlabPipeline,
}

impl IssuerType {
    /// Returns the name used in configuration files and in `/api/v2/configuration`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Uri => "uri",
            Self::Username => "username",
            Self::Kubernetes => "kubernetes",
            Self::Spiffe => "spiffe",
            Self::GithubWorkflow => "github-workflow",
            Self::GitlabPipeline => "gitlab-pipeline",
        }
    }

    /// Returns the claim a proof of possession signs by default.
    pub fn default_challenge_claim(self) -> &'static str {
        match self {
            Self::Email => "email",
            _ => "sub",
        }
    }
}

/// A configuration value that cannot work. Each message names the setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(
        "ca.public_url {0} has a path: serve the CA at the root of its host, because sigstore-python drops any path"
    )]
    PublicUrlPath(Url),
    #[error("ca.public_url {0} must be an http or https URL without query or fragment")]
    PublicUrlScheme(Url),
    #[error(
        "ca.ct_log_url is not set: configure the CT log URL, or set ca.allow_without_ct_log = true to issue certificates without SCTs"
    )]
    NoCtLog,
    #[error("ca.ct_log_url {0} must be an http or https URL")]
    CtLogUrl(Url),
    #[error("ca.validity_seconds is {0}: it must be between 1 and {MAX_VALIDITY_SECONDS}")]
    Validity(u64),
    #[error("OIDC issuer {issuer:?}: {reason}")]
    Issuer { issuer: String, reason: String },
}

impl CaConfig {
    /// Checks every setting that can be checked without reading files or the network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.public_url;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
            || url.host().is_none()
        {
            return Err(ConfigError::PublicUrlScheme(url.clone()));
        }
        if !matches!(url.path(), "" | "/") {
            return Err(ConfigError::PublicUrlPath(url.clone()));
        }

        match &self.ct_log_url {
            Some(url) if !matches!(url.scheme(), "http" | "https") => {
                return Err(ConfigError::CtLogUrl(url.clone()));
            }
            Some(_) => {}
            None if !self.allow_without_ct_log => return Err(ConfigError::NoCtLog),
            None => {}
        }

        if self.validity_seconds == 0 || self.validity_seconds > MAX_VALIDITY_SECONDS {
            return Err(ConfigError::Validity(self.validity_seconds));
        }

        for (issuer, config) in &self.oidc.issuers {
            validate_issuer(issuer, config, false).map_err(|reason| ConfigError::Issuer {
                issuer: issuer.clone(),
                reason,
            })?;
        }
        for (pattern, config) in &self.oidc.meta_issuers {
            validate_issuer(pattern, config, true).map_err(|reason| ConfigError::Issuer {
                issuer: pattern.clone(),
                reason,
            })?;
        }
        Ok(())
    }
}

/// Checks one issuer entry with Fulcio's rules for each issuer type.
fn validate_issuer(issuer: &str, config: &IssuerConfig, meta: bool) -> Result<(), String> {
    let issuer_url = if meta {
        MetaIssuerPattern::new(issuer)?;
        // A pattern is a URL once its wildcards are filled in.
        Url::parse(&issuer.replace('*', "x"))
    } else {
        Url::parse(issuer)
    }
    .map_err(|error| format!("not a URL: {error}"))?;
    if !matches!(issuer_url.scheme(), "http" | "https") {
        return Err("the issuer URL must start with http:// or https://".to_owned());
    }
    if config.client_id.is_empty() {
        return Err("client_id must not be empty".to_owned());
    }
    if config.issuer_claim.is_some() && config.issuer_type != IssuerType::Email {
        return Err("issuer_claim is allowed only for email issuers".to_owned());
    }
    if let Some(path) = &config.issuer_claim {
        if crate::principal::parse_claim_path(path).is_none() {
            return Err(format!(
                "issuer_claim {path:?} must be a path such as $.federated_claims.connector_id"
            ));
        }
    }
    let issuer_host = issuer_url.host_str().unwrap_or_default();

    match config.issuer_type {
        IssuerType::Spiffe => {
            if meta {
                return Err(
                    "spiffe issuers cannot be meta-issuers, because one pattern would map many issuers to one trust domain"
                        .to_owned(),
                );
            }
            let domain = config
                .spiffe_trust_domain
                .as_deref()
                .ok_or("spiffe issuers need spiffe_trust_domain")?;
            if !crate::principal::is_valid_trust_domain(domain) {
                return Err(format!(
                    "spiffe_trust_domain {domain:?} is not a trust domain: use lowercase letters, digits, '.', '-' and '_'"
                ));
            }
        }
        IssuerType::Uri => {
            let domain = config
                .subject_domain
                .as_deref()
                .ok_or("uri issuers need subject_domain, for example https://ci.example.com")?;
            let domain = Url::parse(domain).map_err(|error| {
                format!("subject_domain {domain:?} must be a URL with a scheme: {error}")
            })?;
            let domain_host = domain.host_str().unwrap_or_default();
            // SPEC(Fulcio config): the subject domain must share the last two DNS labels with the
            // issuer host, which proves the operator controls both.
            if domain.scheme() != issuer_url.scheme() {
                return Err(format!(
                    "subject_domain scheme {} differs from the issuer URL scheme {}",
                    domain.scheme(),
                    issuer_url.scheme()
                ));
            }
            if !same_registered_domain(domain_host, issuer_host) {
                return Err(format!(
                    "subject_domain host {domain_host} and issuer host {issuer_host} must share their last two DNS labels"
                ));
            }
        }
        IssuerType::Username => {
            let domain = config
                .subject_domain
                .as_deref()
                .ok_or("username issuers need subject_domain, for example example.com")?;
            if domain.contains("://") {
                return Err(format!(
                    "subject_domain {domain:?} must be a domain without a scheme"
                ));
            }
            if !same_registered_domain(domain, issuer_host) {
                return Err(format!(
                    "subject_domain {domain} and issuer host {issuer_host} must share their last two DNS labels"
                ));
            }
        }
        IssuerType::Email
        | IssuerType::Kubernetes
        | IssuerType::GithubWorkflow
        | IssuerType::GitlabPipeline => {}
    }
    Ok(())
}

/// Compares the last two DNS labels of two host names.
fn same_registered_domain(first: &str, second: &str) -> bool {
    let last_two = |host: &str| {
        let labels: Vec<&str> = host.split('.').collect();
        labels[labels.len().saturating_sub(2)..].join(".")
    };
    !first.is_empty() && last_two(first) == last_two(second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> CaConfig {
        toml::from_str(text).expect("configuration parses")
    }

    #[test]
    fn defaults_trust_no_issuer() {
        let config = CaConfig::default();
        assert!(config.oidc.issuers.is_empty());
        assert!(config.oidc.meta_issuers.is_empty());
        assert_eq!(config.validity_seconds, 600);
        config.validate().expect("defaults are valid");
    }

    #[test]
    fn issuer_tables_parse() {
        let config = parse(
            r#"
            [oidc.issuers."http://127.0.0.1:5556"]
            type = "email"

            [oidc.issuers."https://token.actions.githubusercontent.com"]
            type = "github-workflow"

            [oidc.meta_issuers."https://oidc.eks.*.amazonaws.com/id/*"]
            type = "kubernetes"
            client_id = "sigstore-eks"
            "#,
        );
        config.validate().expect("valid");
        let email = &config.oidc.issuers["http://127.0.0.1:5556"];
        assert_eq!(email.issuer_type, IssuerType::Email);
        assert_eq!(email.client_id, "sigstore");
        assert!(!email.skip_email_verification);
        let eks = &config.oidc.meta_issuers["https://oidc.eks.*.amazonaws.com/id/*"];
        assert_eq!(eks.client_id, "sigstore-eks");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let error = toml::from_str::<CaConfig>(
            r#"
            [oidc.issuers."http://127.0.0.1:5556"]
            type = "email"
            clientid = "x"
            "#,
        )
        .expect_err("unknown key");
        assert!(error.to_string().contains("clientid"), "{error}");
    }

    #[test]
    fn public_url_with_path_is_rejected() {
        let config = CaConfig {
            public_url: Url::parse("https://ca.example.com/fulcio").expect("url"),
            ..CaConfig::default()
        };
        let error = config.validate().expect_err("path");
        assert!(matches!(error, ConfigError::PublicUrlPath(_)), "{error}");
        let root = CaConfig {
            public_url: Url::parse("https://ca.example.com/").expect("url"),
            ..CaConfig::default()
        };
        root.validate().expect("a bare slash is no path");
    }

    #[test]
    fn missing_ct_log_needs_explicit_switch() {
        let config = CaConfig {
            ct_log_url: None,
            ..CaConfig::default()
        };
        assert_eq!(config.validate(), Err(ConfigError::NoCtLog));
        let allowed = CaConfig {
            allow_without_ct_log: true,
            ..config
        };
        allowed.validate().expect("explicitly allowed");
    }

    #[test]
    fn validity_bounds() {
        for seconds in [0, MAX_VALIDITY_SECONDS + 1] {
            let config = CaConfig {
                validity_seconds: seconds,
                ..CaConfig::default()
            };
            assert_eq!(config.validate(), Err(ConfigError::Validity(seconds)));
        }
    }

    #[test]
    fn issuer_type_rules() {
        let cases = [
            (
                r#"[oidc.issuers."https://spiffe.example.com"]
                type = "spiffe""#,
                "spiffe_trust_domain",
            ),
            (
                r#"[oidc.issuers."https://accounts.example.com"]
                type = "uri"
                subject_domain = "https://other.org""#,
                "last two DNS labels",
            ),
            (
                r#"[oidc.issuers."https://accounts.example.com"]
                type = "username"
                subject_domain = "https://example.com""#,
                "without a scheme",
            ),
            (
                r#"[oidc.issuers."https://accounts.example.com"]
                type = "uri"
                issuer_claim = "$.x""#,
                "only for email",
            ),
            (
                r#"[oidc.meta_issuers."https://*.example.com"]
                type = "spiffe"
                spiffe_trust_domain = "example.com""#,
                "meta-issuers",
            ),
            (
                r#"[oidc.meta_issuers."https://example.com/**"]
                type = "email""#,
                "adjacent",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).validate().expect_err(text);
            assert!(error.to_string().contains(expected), "{text}: {error}");
        }

        parse(
            r#"[oidc.issuers."https://accounts.example.com"]
            type = "uri"
            subject_domain = "https://ci.example.com""#,
        )
        .validate()
        .expect("uri issuer with a matching domain");
        parse(
            r#"[oidc.issuers."https://accounts.example.com"]
            type = "username"
            subject_domain = "example.com""#,
        )
        .validate()
        .expect("username issuer with a matching domain");
    }
}
