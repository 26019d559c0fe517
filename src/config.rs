//! `sigstack.toml`: one file per deployment, with `SIGSTACK_<SECTION>__<KEY>` environment
//! overrides. Unknown keys are rejected so that a typo never silently falls back to a default.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sigstack_ca::CaConfig;
use sigstack_ctlog::CtlogConfig;
use sigstack_idp::IdpConfig;
use sigstack_tlog::TlogConfig;
use sigstack_tsa::TsaConfig;
use sigstack_tuf::TufConfig;

/// File name of the configuration inside the data directory.
pub const CONFIG_FILE: &str = "sigstack.toml";

/// Prefix of configuration override variables; `__` separates section and key.
const ENV_PREFIX: &str = "SIGSTACK_";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub trust: TrustConfig,
    pub tlog: TlogConfig,
    pub ctlog: CtlogConfig,
    pub ca: CaConfig,
    pub tsa: TsaConfig,
    pub tuf: TufConfig,
    pub idp: IdpConfig,
}

/// Settings of the client trust files that apply to the whole deployment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// Organisation or domain that runs the stack; it fills every `operator` field.
    pub operator: String,
}

impl Default for TrustConfig {
    fn default() -> Self {
        Self {
            operator: "sigstack.local".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// PostgreSQL URL. `DATABASE_URL` takes precedence. When neither is set, `sigstack up` runs a
    /// private cluster under the data directory.
    pub url: Option<String>,
    /// Connections each service keeps in its pool.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
        }
    }
}

impl Config {
    /// Reads `dir/sigstack.toml`, applies environment overrides and validates the result.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "failed to read {}; run `sigstack init --dir {}` first",
                path.display(),
                dir.display()
            )
        })?;
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        let mut config = Self::from_table(table, &path, std::env::vars())?;
        config.trust_development_idp()?;
        Ok(config)
    }

    /// Applies the environment overrides in `vars` to `table` and validates the result. `path`
    /// names the file in error messages, together with the variables that changed it.
    fn from_table(
        mut table: toml::Table,
        path: &Path,
        vars: impl Iterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let overrides = apply_env_overrides(&mut table, vars)?;
        let source = if overrides.is_empty() {
            path.display().to_string()
        } else {
            format!("{} with {}", path.display(), overrides.join(", "))
        };
        let config: Config = Config::deserialize(table)
            .with_context(|| format!("invalid configuration in {source}"))?;
        config.tlog.validate().map_err(anyhow::Error::msg)?;
        config.idp.validate().map_err(anyhow::Error::msg)?;
        config.ctlog.validate().map_err(anyhow::Error::msg)?;
        config.tuf.validate().map_err(anyhow::Error::msg)?;
        Ok(config)
    }

    /// Makes the CA accept tokens of the enabled identity provider as an email issuer, under the
    /// provider's current public URL. Without this, changing `[idp] public_url` after `init`
    /// would leave the CA trusting only the old issuer.
    fn trust_development_idp(&mut self) -> anyhow::Result<()> {
        if !self.idp.enabled || self.ca.oidc.issuers.contains_key(&self.idp.issuer()) {
            return Ok(());
        }
        let issuer: sigstack_ca::IssuerConfig = toml::from_str("type = \"email\"")
            .context("failed to build the identity provider's issuer entry")?;
        self.ca.oidc.issuers.insert(self.idp.issuer(), issuer);
        Ok(())
    }

    /// Writes the default configuration, documented, to `dir/sigstack.toml`. Environment
    /// overrides set now are written into the file, so later commands need not repeat them.
    pub fn write_default(dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join(CONFIG_FILE);
        // A new data directory is for trying the stack out, so the development identity
        // provider is on; a hand-written production configuration leaves it off.
        let mut defaults = Config::default();
        defaults.idp.enabled = true;
        let table = toml::Table::try_from(&defaults)
            .context("failed to encode the default configuration")?;
        let mut config = Self::from_table(table, &path, std::env::vars())?;
        config.trust_development_idp()?;
        let body = toml::to_string_pretty(&config)
            .context("failed to encode the default configuration")?;
        let text = format!(
            "# sigstack configuration. Every key may be overridden by an environment variable\n\
             # SIGSTACK_<SECTION>__<KEY>, for example SIGSTACK_TLOG__PUBLIC_URL.\n\
             # public_url values go into the trust root: set them to the URLs clients will use.\n\
             # While [idp] is enabled, the CA also trusts it as an email issuer at its public_url.\n\n{body}"
        );
        std::fs::write(&path, text)
            .with_context(|| format!("failed to write {}", path.display()))?;
        Ok(path)
    }
}

/// Applies `SIGSTACK_<SECTION>__<KEY>=value` variables. A value is read as a TOML literal when it
/// parses as one (numbers, booleans) and as a string otherwise.
/// Returns the names of the variables applied.
fn apply_env_overrides(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<Vec<String>> {
    let mut applied = Vec::new();
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let Some((section, key)) = rest.split_once("__") else {
            continue;
        };
        let (section, key) = (section.to_lowercase(), key.to_lowercase());
        let parsed = format!("value = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut table| table.remove("value"))
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let section_table = entry
            .as_table_mut()
            .with_context(|| format!("{name}: [{section}] in the configuration is not a table"))?;
        section_table.insert(key, parsed);
        applied.push(name);
    }
    applied.sort();
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_set_typed_values() {
        let mut table = toml::Table::new();
        let vars = vec![
            (
                "SIGSTACK_TLOG__MAX_BODY_BYTES".to_owned(),
                "2048".to_owned(),
            ),
            (
                "SIGSTACK_TLOG__PUBLIC_URL".to_owned(),
                "https://rekor.example.com".to_owned(),
            ),
            ("SIGSTACK_KEY_PASSWORD".to_owned(), "ignored".to_owned()),
        ];
        apply_env_overrides(&mut table, vars.into_iter()).expect("overrides apply");
        let config = Config::deserialize(table).expect("valid config");
        assert_eq!(config.tlog.max_body_bytes, 2048);
        assert_eq!(
            config.tlog.public_url.as_str(),
            "https://rekor.example.com/"
        );
    }

    #[test]
    fn override_errors_name_the_variable() {
        let vars = vec![(
            "SIGSTACK_TLOG__PUBLICURL".to_owned(),
            "https://rekor.example.com".to_owned(),
        )];
        let error = Config::from_table(
            toml::Table::new(),
            Path::new("sigstack.toml"),
            vars.into_iter(),
        )
        .expect_err("unknown key");
        let message = format!("{error:#}");
        assert!(message.contains("SIGSTACK_TLOG__PUBLICURL"), "{message}");
        assert!(message.contains("publicurl"), "{message}");
    }

    #[test]
    fn enabled_idp_is_trusted_at_its_current_url() {
        let vars = vec![
            ("SIGSTACK_IDP__ENABLED".to_owned(), "true".to_owned()),
            (
                "SIGSTACK_IDP__PUBLIC_URL".to_owned(),
                "http://idp.internal:5556".to_owned(),
            ),
        ];
        let mut config = Config::from_table(
            toml::Table::new(),
            Path::new("sigstack.toml"),
            vars.into_iter(),
        )
        .expect("valid config");
        config.trust_development_idp().expect("issuer added");
        assert!(
            config
                .ca
                .oidc
                .issuers
                .contains_key("http://idp.internal:5556")
        );
    }

    #[test]
    fn disabled_idp_is_not_trusted() {
        let mut config = Config::default();
        config.trust_development_idp().expect("nothing to add");
        assert!(config.ca.oidc.issuers.is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let table: toml::Table =
            toml::from_str("[tlog]\nlisten_adress = \"127.0.0.1:1\"").expect("toml");
        let error = Config::deserialize(table).expect_err("typo must be rejected");
        assert!(error.to_string().contains("listen_adress"), "{error}");
    }

    #[test]
    fn default_config_round_trips() {
        let text = toml::to_string_pretty(&Config::default()).expect("encode");
        let table: toml::Table = toml::from_str(&text).expect("decode");
        Config::deserialize(table).expect("default config is valid");
    }
}
