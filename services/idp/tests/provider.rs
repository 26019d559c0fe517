//! The identity provider against its HTTP API: discovery, JWKS, and tokens that verify with the
//! published key.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier as _;
use serde_json::Value;
use sigstack_idp::{IdentityProvider, IdpClient, IdpConfig, TokenSigner};
use sigstack_server::FixedClock;

const NOW: u64 = 1_900_000_000;

async fn start(config: IdpConfig) -> (String, Arc<IdentityProvider>) {
    let key = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).expect("scalar");
    let signer = TokenSigner::new(sigstack_keys::LogSigner::new(key).expect("signer"));
    let clock = Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(NOW)));
    let provider = Arc::new(
        IdentityProvider::new(config, signer, clock, std::path::Path::new(".")).expect("provider"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let router = sigstack_idp::router(provider.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, provider)
}

fn config_with_client() -> IdpConfig {
    IdpConfig {
        enabled: true,
        clients: vec![IdpClient {
            client_id: "ci-agent".into(),
            client_secret: Some("s3cret".into()),
            client_secret_file: None,
            email: "ci@example.com".into(),
        }],
        ..IdpConfig::default()
    }
}

/// Verifies an ES256 JWS with a JWK, written out here independently of the provider's code.
fn verify_with_jwk(token: &str, jwk: &Value) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS has three parts");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], jwk["kid"]);
    let x = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().expect("x"))
        .expect("b64");
    let y = URL_SAFE_NO_PAD
        .decode(jwk["y"].as_str().expect("y"))
        .expect("b64");
    let mut point = vec![0x04];
    point.extend(x);
    point.extend(y);
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("JWK is a P-256 point");
    let signature =
        p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64"))
            .expect("r||s");
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("signature verifies");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("claims json")
}

#[tokio::test]
async fn client_credentials_token_verifies_with_jwks() {
    let (base, _) = start(config_with_client()).await;
    let client = reqwest::Client::new();
    let discovery: Value = client
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["issuer"], "http://127.0.0.1:5556");
    assert_eq!(discovery["jwks_uri"], "http://127.0.0.1:5556/keys");
    let jwks: Value = client
        .get(format!("{base}/keys"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");

    let response = client
        .post(format!("{base}/token"))
        .basic_auth("ci-agent", Some("s3cret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let claims = verify_with_jwk(
        body["id_token"].as_str().expect("id_token"),
        &jwks["keys"][0],
    );
    assert_eq!(claims["iss"], "http://127.0.0.1:5556");
    assert_eq!(claims["aud"], "sigstore");
    assert_eq!(claims["sub"], "ci@example.com");
    assert_eq!(claims["email"], "ci@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["exp"], NOW + 600);
}

#[tokio::test]
async fn token_endpoint_rejects_bad_requests() {
    let (base, _) = start(config_with_client()).await;
    let client = reqwest::Client::new();
    let post = |body: &'static str, secret: &'static str| {
        client
            .post(format!("{base}/token"))
            .basic_auth("ci-agent", Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let wrong_secret = post("grant_type=client_credentials", "wrong")
        .await
        .expect("request");
    assert_eq!(wrong_secret.status(), 401);
    let body: Value = wrong_secret.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");
    let wrong_grant = post("grant_type=password", "s3cret")
        .await
        .expect("request");
    assert_eq!(wrong_grant.status(), 400);
    let form_auth = client
        .post(format!("{base}/token"))
        .body("grant_type=client_credentials&client_id=ci-agent&client_secret=s3cret")
        .send()
        .await
        .expect("request");
    assert_eq!(form_auth.status(), 200);
}

#[tokio::test]
async fn minted_token_carries_the_subject() {
    let (base, provider) = start(IdpConfig {
        enabled: true,
        ..IdpConfig::default()
    })
    .await;
    let jwks: Value = reqwest::get(format!("{base}/keys"))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let claims = verify_with_jwk(
        &provider.mint("alice@example.com").expect("mint"),
        &jwks["keys"][0],
    );
    assert_eq!(claims["sub"], "alice@example.com");
    assert_eq!(claims["nbf"], NOW);
}

#[test]
fn config_requires_one_secret_source() {
    let mut config = config_with_client();
    config.clients[0].client_secret_file = Some("secret.txt".into());
    assert!(config.validate().is_err());
}
