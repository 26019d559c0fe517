use std::path::PathBuf;

use crate::KeyError;

/// The password that protects key files at rest, or its absence.
#[derive(Clone, Default)]
pub struct KeyPassword(Option<String>);

impl std::fmt::Debug for KeyPassword {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.is_some() { "set" } else { "unset" };
        formatter.debug_tuple("KeyPassword").field(&state).finish()
    }
}

impl KeyPassword {
    /// Reads `SIGSTACK_KEY_PASSWORD`, or else the file named by `SIGSTACK_KEY_PASSWORD_FILE`
    /// (a trailing newline is dropped). Neither set means keys are stored unencrypted.
    pub fn from_env() -> Result<Self, KeyError> {
        Self::from_env_names("SIGSTACK_KEY_PASSWORD", "SIGSTACK_KEY_PASSWORD_FILE")
    }

    /// Reads the password from the variable `value_name`, or else from the file named by the
    /// variable `file_name`, as [`KeyPassword::from_env`] does for the current password.
    pub fn from_env_names(value_name: &str, file_name: &str) -> Result<Self, KeyError> {
        if let Ok(password) = std::env::var(value_name) {
            if !password.is_empty() {
                return Ok(Self(Some(password)));
            }
        }
        if let Some(path) = std::env::var_os(file_name) {
            let path = PathBuf::from(path);
            let contents = std::fs::read_to_string(&path)
                .map_err(|source| KeyError::PasswordFile { path, source })?;
            let password = contents.trim_end_matches(['\r', '\n']).to_owned();
            return Ok(Self(Some(password)));
        }
        Ok(Self(None))
    }

    pub fn new(password: impl Into<String>) -> Self {
        Self(Some(password.into()))
    }

    pub fn none() -> Self {
        Self(None)
    }

    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        self.0.as_deref().map(str::as_bytes)
    }
}
