//! Golden-file and acceptance tests of the trust files.
//!
//! The fixtures in `tests/data` are public keys and certificates made with `openssl`. The golden
//! JSON files were written by hand from the protobuf JSON mapping of `dev.sigstore.trustroot.v1`,
//! with base64 and SHA-256 values computed by `base64` and `openssl dgst`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sigstack_trust::{
    CertificateAuthorityInput, IdentityProviderInput, LogInput, SIGNING_CONFIG_FILE,
    TRUST_CONFIG_FILE, TRUSTED_ROOT_FILE, TimestampAuthorityInput, TrustError, TrustInputs,
    certificate_chain_from_pem, render, rfc3339_seconds, spki_from_pem, write_trust_files,
};

/// 2026-01-01T00:00:00Z.
const JANUARY_FIRST_2026: u64 = 1_767_225_600;
const DAY: u64 = 86_400;

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn day(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(JANUARY_FIRST_2026 + offset * DAY)
}

fn fixture_inputs() -> TrustInputs {
    TrustInputs {
        operator: "example.com".to_owned(),
        transparency_log: LogInput {
            url: "http://127.0.0.1:3000".to_owned(),
            spki_der: spki_from_pem(&data("tlog.pub.pem")).expect("tlog key"),
            valid_from: day(0),
        },
        ct_log: LogInput {
            url: "http://127.0.0.1:6962/sigstack".to_owned(),
            spki_der: spki_from_pem(&data("ctlog.pub.pem")).expect("ctlog key"),
            valid_from: day(1),
        },
        certificate_authority: CertificateAuthorityInput {
            url: "http://127.0.0.1:5555".to_owned(),
            chain_der: certificate_chain_from_pem(&data("ca-chain.pem")).expect("CA chain"),
            valid_from: day(2),
        },
        timestamp_authority: TimestampAuthorityInput {
            url: "http://127.0.0.1:3003/api/v1/timestamp".to_owned(),
            chain_der: certificate_chain_from_pem(&data("tsa-chain.pem")).expect("TSA chain"),
            // Half a second past midnight: the rendered start rounds down to whole seconds.
            valid_from: day(3) + Duration::from_millis(500),
        },
        identity_provider: Some(IdentityProviderInput {
            url: "http://127.0.0.1:5556".to_owned(),
            valid_from: day(4),
        }),
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

#[test]
fn trusted_root_matches_golden_file() {
    let files = render(&fixture_inputs()).expect("render");
    assert_eq!(
        json(&files.trusted_root),
        json(&data("trusted_root.golden.json"))
    );
}

#[test]
fn signing_config_matches_golden_file() {
    let files = render(&fixture_inputs()).expect("render");
    assert_eq!(
        json(&files.signing_config),
        json(&data("signing_config.golden.json"))
    );
}

#[test]
fn trust_config_wraps_both_documents() {
    let files = render(&fixture_inputs()).expect("render");
    let expected = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": json(&data("trusted_root.golden.json")),
        "signingConfig": json(&data("signing_config.golden.json")),
    });
    assert_eq!(json(&files.trust_config), expected);
}

#[test]
fn signing_config_without_identity_provider() {
    let mut inputs = fixture_inputs();
    inputs.identity_provider = None;
    let files = render(&inputs).expect("render");
    assert_eq!(
        json(&files.signing_config)["oidcUrls"],
        serde_json::json!([])
    );
}

#[test]
fn write_skips_unchanged_files() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let mut inputs = fixture_inputs();

    let first = write_trust_files(directory.path(), &inputs).expect("first write");
    assert_eq!(first.changed.len(), 3);
    let trust = directory.path().join("trust");
    for name in [TRUSTED_ROOT_FILE, SIGNING_CONFIG_FILE, TRUST_CONFIG_FILE] {
        assert!(trust.join(name).is_file(), "{name} missing");
    }

    let second = write_trust_files(directory.path(), &inputs).expect("second write");
    assert!(second.changed.is_empty(), "rewrote {:?}", second.changed);

    // The TSA URL is in the signing config and in the trusted root's TSA `uri`, so a new one
    // changes all three files.
    inputs.timestamp_authority.url = "http://127.0.0.1:3004/api/v1/timestamp".to_owned();
    let third = write_trust_files(directory.path(), &inputs).expect("third write");
    assert_eq!(third.changed.len(), 3);
    let written = std::fs::read_to_string(trust.join(SIGNING_CONFIG_FILE)).expect("read");
    assert!(written.contains("http://127.0.0.1:3004/api/v1/timestamp"));
}

#[test]
fn time_rounds_down_to_seconds() {
    assert_eq!(
        rfc3339_seconds(day(0) + Duration::from_millis(999)),
        "2026-01-01T00:00:00Z"
    );
    assert_eq!(
        rfc3339_seconds(day(31) + Duration::from_secs(3_723)),
        "2026-02-01T01:02:03Z"
    );
}

#[test]
fn ca_url_with_path_is_rejected() {
    let mut inputs = fixture_inputs();
    inputs.certificate_authority.url = "http://127.0.0.1:5555/fulcio".to_owned();
    let error = render(&inputs).unwrap_err();
    assert!(
        matches!(error, TrustError::InvalidUrl { field: "CA", .. }),
        "{error}"
    );
}

#[test]
fn tsa_base_url_is_rejected() {
    let mut inputs = fixture_inputs();
    inputs.timestamp_authority.url = "http://127.0.0.1:3003".to_owned();
    let error = render(&inputs).unwrap_err();
    assert!(
        matches!(error, TrustError::InvalidUrl { field: "TSA", .. }),
        "{error}"
    );
}

#[test]
fn trailing_slash_is_rejected() {
    let mut inputs = fixture_inputs();
    inputs.transparency_log.url = "http://127.0.0.1:3000/".to_owned();
    let error = render(&inputs).unwrap_err();
    assert!(matches!(error, TrustError::InvalidUrl { .. }), "{error}");
}

#[test]
fn empty_operator_is_rejected() {
    let mut inputs = fixture_inputs();
    inputs.operator = " ".to_owned();
    assert!(matches!(render(&inputs), Err(TrustError::EmptyOperator)));
}

#[test]
fn certificate_as_log_key_is_rejected() {
    let mut inputs = fixture_inputs();
    inputs.ct_log.spki_der = inputs.certificate_authority.chain_der[0].clone();
    let error = render(&inputs).unwrap_err();
    assert!(
        matches!(
            error,
            TrustError::UnsupportedKey {
                field: "CT log",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn reversed_chain_is_rejected() {
    let mut inputs = fixture_inputs();
    inputs.certificate_authority.chain_der.reverse();
    let error = render(&inputs).unwrap_err();
    assert!(
        matches!(error, TrustError::Chain { field: "CA", .. }),
        "{error}"
    );
}

#[test]
fn tsa_chain_without_root_is_rejected() {
    let mut inputs = fixture_inputs();
    inputs.timestamp_authority.chain_der.truncate(1);
    let error = render(&inputs).unwrap_err();
    assert!(
        matches!(error, TrustError::Chain { field: "TSA", .. }),
        "{error}"
    );
}

/// Python interpreter with sigstore-python installed: `SIGSTACK_PYTHON`, or the virtualenv the
/// interop runner keeps under `$SIGSTACK_CACHE` (default `~/.cache/sigstack`).
fn sigstore_python() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("SIGSTACK_PYTHON") {
        return Some(PathBuf::from(python));
    }
    let cache = std::env::var_os("SIGSTACK_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache/sigstack"))
        })?;
    let python = cache.join("venv/bin/python");
    let has_sigstore = Command::new(&python)
        .args(["-c", "import sigstore"])
        .output()
        .is_ok_and(|output| output.status.success());
    has_sigstore.then_some(python)
}

#[test]
fn sigstore_python_accepts_trust_files() {
    let Some(python) = sigstore_python() else {
        // NOTE: without sigstore-python this test checks nothing; tests/interop/run installs it.
        eprintln!("skipped: no Python with the sigstore package (set SIGSTACK_PYTHON)");
        return;
    };
    let directory = tempfile::tempdir().expect("temporary directory");
    write_trust_files(directory.path(), &fixture_inputs()).expect("write");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/trust_check_files.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(directory.path().join("trust"))
        .output()
        .expect("run sigstore-python");
    assert!(
        output.status.success(),
        "sigstore-python rejected the trust files:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
