//! The Sigstore targets built from the trust inputs.

use der::pem::LineEnding;
use serde_json::json;
use sigstack_trust::{SIGNING_CONFIG_FILE, TRUSTED_ROOT_FILE, TrustInputs, render};

use crate::TufError;
use crate::repository::Target;

/// Builds the targets Sigstore clients read from a TUF repository:
///
/// - `trusted_root.json` and `signing_config.v0.2.json`, byte for byte as
///   [`sigstack_trust::write_trust_files`] writes them;
/// - the per-key PEM targets that gitsign and cosign's legacy TUF client find by
///   `custom.sigstore.usage`, named as sigstore/root-signing and sigstore/scaffolding name them:
///   `fulcio_v1.crt.pem` (CA root) and `fulcio_intermediate_v1.crt.pem` (`Fulcio`), `rekor.pub`
///   (`Rekor`), `ctfe.pub` (`CTFE`), `tsa_leaf.crt.pem`, `tsa_intermediate_<i>.crt.pem` and
///   `tsa_root.crt.pem` (`TSA`).
pub fn sigstore_targets(inputs: &TrustInputs) -> Result<Vec<Target>, TufError> {
    let files = render(inputs)?;
    let mut targets = vec![
        Target {
            name: TRUSTED_ROOT_FILE.to_owned(),
            contents: files.trusted_root.into_bytes(),
            custom: None,
        },
        Target {
            name: SIGNING_CONFIG_FILE.to_owned(),
            contents: files.signing_config.into_bytes(),
            custom: None,
        },
    ];

    let ca = &inputs.certificate_authority;
    // render() checked that the chain ends with a root, so split_last() returns it.
    if let Some((ca_root, ca_intermediates)) = ca.chain_der.split_last() {
        let pem = certificates(std::slice::from_ref(ca_root))?;
        targets.push(legacy("fulcio_v1.crt.pem", "Fulcio", &ca.url, pem));
        if !ca_intermediates.is_empty() {
            let pem = certificates(ca_intermediates)?;
            targets.push(legacy(
                "fulcio_intermediate_v1.crt.pem",
                "Fulcio",
                &ca.url,
                pem,
            ));
        }
    }

    let tlog = &inputs.transparency_log;
    targets.push(legacy(
        "rekor.pub",
        "Rekor",
        &tlog.url,
        public_key(&tlog.spki_der)?,
    ));
    let ct_log = &inputs.ct_log;
    targets.push(legacy(
        "ctfe.pub",
        "CTFE",
        &ct_log.url,
        public_key(&ct_log.spki_der)?,
    ));

    let tsa = &inputs.timestamp_authority;
    let chain = &tsa.chain_der;
    if let (Some(leaf), Some(root)) = (chain.first(), chain.last()) {
        targets.push(legacy(
            "tsa_leaf.crt.pem",
            "TSA",
            &tsa.url,
            certificates(std::slice::from_ref(leaf))?,
        ));
        let intermediates = &chain[1..chain.len() - 1];
        for (index, intermediate) in intermediates.iter().enumerate() {
            let name = format!("tsa_intermediate_{index}.crt.pem");
            targets.push(legacy(
                &name,
                "TSA",
                &tsa.url,
                certificates(std::slice::from_ref(intermediate))?,
            ));
        }
        targets.push(legacy(
            "tsa_root.crt.pem",
            "TSA",
            &tsa.url,
            certificates(std::slice::from_ref(root))?,
        ));
    }
    Ok(targets)
}

fn legacy(name: &str, usage: &str, uri: &str, contents: String) -> Target {
    Target {
        name: name.to_owned(),
        contents: contents.into_bytes(),
        custom: Some(json!({ "sigstore": { "usage": usage, "status": "Active", "uri": uri } })),
    }
}

fn certificates(chain_der: &[Vec<u8>]) -> Result<String, TufError> {
    let mut pem = String::new();
    for der in chain_der {
        pem.push_str(&encode_pem("CERTIFICATE", der)?);
    }
    Ok(pem)
}

fn public_key(spki_der: &[u8]) -> Result<String, TufError> {
    encode_pem("PUBLIC KEY", spki_der)
}

fn encode_pem(label: &'static str, der: &[u8]) -> Result<String, TufError> {
    der::pem::encode_string(label, LineEnding::LF, der).map_err(|error| {
        TufError::Internal(format!("failed to encode a {label} PEM block: {error}"))
    })
}
