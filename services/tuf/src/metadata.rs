//! TUF 1.0 metadata documents, their OLPC canonical JSON form and ECDSA P-256 signatures.
//!
//! SPEC(TUF 1.0.31 §4.2): signatures cover the canonical JSON of `signed`; TUF uses OLPC
//! canonical JSON, not RFC 8785.

use std::collections::BTreeMap;
use std::time::SystemTime;

use olpc_cjson::CanonicalFormatter;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::TufError;

/// Specification version written into every document. python-tuf and go-tuf check only that
/// the major version is 1.
pub const SPEC_VERSION: &str = "1.0.31";
/// Key type and signature scheme of every key, as sigstore/root-signing uses them.
const KEY_TYPE: &str = "ecdsa";
const SCHEME: &str = "ecdsa-sha2-nistp256";

/// A document with its signatures: `{"signatures": [...], "signed": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub signatures: Vec<Signature>,
    pub signed: T,
}

/// One signature: the key ID and the hex DER ECDSA signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
}

/// A public key as the `keys` map of root metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// SubjectPublicKeyInfo PEM.
    pub public: String,
}

/// Key IDs and signature threshold of one top-level role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u32,
}

/// The `signed` part of `root.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub consistent_snapshot: bool,
    pub keys: BTreeMap<String, PublicKey>,
    pub roles: BTreeMap<String, RoleKeys>,
}

/// The `signed` part of `targets.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub targets: BTreeMap<String, TargetFile>,
}

/// Length, hashes and optional custom metadata of one target file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Value>,
}

/// The `signed` part of `snapshot.json` and `timestamp.json`, which differ only in `_type` and
/// in which file `meta` lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaIndex {
    #[serde(rename = "_type")]
    pub kind: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub meta: BTreeMap<String, MetaFile>,
}

/// Version, and for the snapshot entry of the timestamp also length and hash, of a metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
}

/// An ECDSA P-256 key that signs one or more roles, with its TUF key ID.
#[derive(Clone)]
pub struct RoleSigner {
    key: SigningKey,
    public: PublicKey,
    keyid: String,
}

impl std::fmt::Debug for RoleSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RoleSigner")
            .field("keyid", &self.keyid)
            .finish_non_exhaustive()
    }
}

impl RoleSigner {
    pub fn new(key: SigningKey) -> Result<Self, TufError> {
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|error| {
                TufError::Internal(format!("failed to encode a public key: {error}"))
            })?;
        let public = PublicKey {
            keytype: KEY_TYPE.to_owned(),
            scheme: SCHEME.to_owned(),
            keyval: KeyValue { public: pem },
        };
        // Key ID: SHA-256 of the canonical JSON of the key, as python-tuf and go-tuf compute it.
        // Clients treat key IDs as labels, so this choice only has to be consistent.
        let keyid = hex::encode(Sha256::digest(canonical_json(&public)?));
        Ok(Self { key, public, keyid })
    }

    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs the canonical JSON of `signed` and returns the envelope.
    pub fn sign<T: Serialize>(&self, signed: T) -> Result<Envelope<T>, TufError> {
        let message = canonical_json(&signed)?;
        let signature: DerSignature = p256::ecdsa::signature::Signer::sign(&self.key, &message);
        Ok(Envelope {
            signatures: vec![Signature {
                keyid: self.keyid.clone(),
                sig: hex::encode(signature.as_bytes()),
            }],
            signed,
        })
    }
}

/// Encodes `value` as OLPC canonical JSON.
pub fn canonical_json(value: &impl Serialize) -> Result<Vec<u8>, TufError> {
    let mut bytes = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut bytes, CanonicalFormatter::new());
    value
        .serialize(&mut serializer)
        .map_err(|error| TufError::Internal(format!("failed to encode canonical JSON: {error}")))?;
    Ok(bytes)
}

/// Returns `{"sha256": <hex>}` for `bytes`.
pub fn sha256_hashes(bytes: &[u8]) -> BTreeMap<String, String> {
    BTreeMap::from([("sha256".to_owned(), hex::encode(Sha256::digest(bytes)))])
}

/// Formats an `expires` value: RFC 3339 UTC with whole seconds, the only form python-tuf parses.
pub fn format_expires(time: SystemTime) -> String {
    sigstack_trust::rfc3339_seconds(time)
}

/// Parses an `expires` value written by [`format_expires`] or another TUF implementation.
pub fn parse_expires(text: &str) -> Result<SystemTime, TufError> {
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|error| TufError::Metadata(format!("invalid expires value {text:?}: {error}")))?;
    Ok(time.into())
}
