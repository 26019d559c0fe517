//! Checkpoints (signed tree heads) as signed notes, in the form Rekor v1 publishes them.
//!
//! A checkpoint body is three lines (C2SP tlog-checkpoint): the origin, the decimal tree size and
//! the base64 root hash. A signed note (C2SP signed-note) appends a blank line and signature lines
//! `— <name> <base64(key hint || signature)>`. Rekor v1 signs with ECDSA P-256 over SHA-256 of the
//! body and uses the first four bytes of SHA-256(DER SubjectPublicKeyInfo) as the key hint.
//! This crate does no I/O.
#![forbid(unsafe_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{DerSignature, VerifyingKey};

/// The em dash that starts every signature line (U+2014, then a space).
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Most signature lines accepted when parsing, to bound work on untrusted input (C2SP
/// signed-note suggests verifiers accept at most 100).
pub const MAX_SIGNATURES: usize = 100;

/// An unsigned checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub tree_size: u64,
    pub root_hash: [u8; 32],
}

/// One signature line of a signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_hint: [u8; 4],
    pub signature: Vec<u8>,
}

/// A parsed signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// Extension lines between the root hash and the blank line (Rekor once added
    /// `Timestamp: ...`); kept so the signed text can be rebuilt exactly.
    pub extensions: Vec<String>,
    pub signatures: Vec<NoteSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("checkpoint has no signature from {name:?} with the expected key")]
    NoMatchingSignature { name: String },
    #[error("checkpoint signature from {name:?} does not verify")]
    BadSignature { name: String },
}

impl Checkpoint {
    /// Formats the signed text: origin, size and base64 root, each ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            STANDARD.encode(self.root_hash)
        )
    }

    /// Signs the body and returns the whole signed note. `sign` receives the body bytes and
    /// returns the signature (for Rekor v1, DER ECDSA over SHA-256).
    pub fn sign(
        &self,
        name: &str,
        key_hint: [u8; 4],
        sign: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> String {
        let body = self.body();
        let mut blob = key_hint.to_vec();
        blob.extend(sign(body.as_bytes()));
        format!(
            "{body}\n{SIGNATURE_PREFIX}{name} {}\n",
            STANDARD.encode(blob)
        )
    }
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint note.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let (body, signatures) = text.split_once("\n\n").ok_or(CheckpointError::Malformed(
            "no blank line before the signatures",
        ))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|line| !line.is_empty())
            .ok_or(CheckpointError::Malformed("empty origin"))?;
        let size = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing tree size"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(CheckpointError::Malformed(
                "tree size is not a decimal number",
            ));
        }
        let tree_size = size
            .parse()
            .map_err(|_| CheckpointError::Malformed("tree size is too large"))?;
        let root = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root_hash: [u8; 32] = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(CheckpointError::Malformed(
                "root hash is not 32 bytes of base64",
            ))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Malformed(
                "empty line inside the checkpoint body",
            ));
        }

        let signature_lines = signatures
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed(
                "note does not end with a newline",
            ))?;
        let mut parsed = Vec::new();
        for line in signature_lines.split('\n') {
            if parsed.len() == MAX_SIGNATURES {
                return Err(CheckpointError::Malformed("too many signature lines"));
            }
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or(CheckpointError::Malformed(
                    "signature line does not start with an em dash",
                ))?;
            let (name, encoded) = rest
                .split_once(' ')
                .ok_or(CheckpointError::Malformed("signature line has no key name"))?;
            let blob = STANDARD
                .decode(encoded)
                .map_err(|_| CheckpointError::Malformed("signature is not base64"))?;
            if name.is_empty() || blob.len() < 5 {
                return Err(CheckpointError::Malformed("signature line is too short"));
            }
            let (hint, signature) = blob.split_at(4);
            parsed.push(NoteSignature {
                name: name.to_owned(),
                key_hint: [hint[0], hint[1], hint[2], hint[3]],
                signature: signature.to_vec(),
            });
        }
        Ok(Self {
            checkpoint: Checkpoint {
                origin: origin.to_owned(),
                tree_size,
                root_hash,
            },
            extensions,
            signatures: parsed,
        })
    }

    /// Rebuilds the exact text the signatures cover.
    pub fn signed_text(&self) -> String {
        let mut text = self.checkpoint.body();
        for extension in &self.extensions {
            text.push_str(extension);
            text.push('\n');
        }
        text
    }

    /// Verifies the signature line from `name` whose key hint matches `key_hint` with an ECDSA
    /// P-256 key, as Rekor v1 clients do.
    pub fn verify_ecdsa_p256(
        &self,
        name: &str,
        key_hint: [u8; 4],
        key: &VerifyingKey,
    ) -> Result<(), CheckpointError> {
        let signature = self
            .signatures
            .iter()
            .find(|sig| sig.name == name && sig.key_hint == key_hint)
            .ok_or_else(|| CheckpointError::NoMatchingSignature {
                name: name.to_owned(),
            })?;
        let der = DerSignature::from_bytes(&signature.signature).map_err(|_| {
            CheckpointError::BadSignature {
                name: name.to_owned(),
            }
        })?;
        key.verify(self.signed_text().as_bytes(), &der)
            .map_err(|_| CheckpointError::BadSignature {
                name: name.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests;
