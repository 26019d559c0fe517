//! A small OpenID Connect identity provider for trials and air-gapped sites: discovery, a JWKS
//! with one persistent ES256 key, and a `client_credentials` token endpoint for configured build
//! agents. `sigstack token` mints tokens with the same key, without a network call.
//!
//! Tokens are what Sigstore CAs expect from an email issuer: `aud` is `sigstore`, `sub` and
//! `email` are the identity's email address, `email_verified` is true, and they expire after ten
//! minutes by default. This provider authenticates no people: anyone who can read its key file or
//! a client secret can mint identities, so production deployments use a real identity provider.
#![forbid(unsafe_code)]

mod config;
mod jwt;
mod service;

pub use config::{IdpClient, IdpConfig};
pub use jwt::{IdTokenClaims, TokenSigner};
pub use service::{IdentityProvider, router};

use std::path::Path;

use sigstack_keys::{KeyError, KeyPassword};

/// Loads the provider's ES256 key from `data_dir/<config.key_file>`, creating it on first use.
pub fn load_or_create_signer(
    config: &IdpConfig,
    data_dir: &Path,
    password: &KeyPassword,
) -> Result<TokenSigner, KeyError> {
    let (signer, _) =
        sigstack_keys::load_or_create_p256(&data_dir.join(&config.key_file), password)?;
    Ok(TokenSigner::new(signer))
}
