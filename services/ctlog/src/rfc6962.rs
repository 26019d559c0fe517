//! The TLS-encoded structures of RFC 6962: what the log signs for an SCT (§3.2) and a tree
//! head (§3.5), the `MerkleTreeLeaf` (§3.4), and the `extra_data` of get-entries (§4.6).
//!
//! ```text
//! struct {
//!     uint64 timestamp;
//!     LogEntryType entry_type;                 // uint16: x509_entry(0), precert_entry(1)
//!     select(entry_type) {
//!         case x509_entry: ASN.1Cert;          // opaque <1..2^24-1>
//!         case precert_entry: PreCert;         // opaque issuer_key_hash[32]; TBSCertificate <1..2^24-1>
//!     } signed_entry;
//!     CtExtensions extensions;                 // opaque <0..2^16-1>
//! } TimestampedEntry;
//! ```

use sha2::{Digest, Sha256};

/// `Version` v1 of SCTs, `MerkleTreeLeaf` and tree heads (RFC 6962 §3.2).
pub const VERSION_V1: u8 = 0;
/// `SignatureType.certificate_timestamp` (RFC 6962 §3.2).
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP: u8 = 0;
/// `SignatureType.tree_hash` (RFC 6962 §3.2).
const SIGNATURE_TYPE_TREE_HASH: u8 = 1;
/// `MerkleLeafType.timestamped_entry` (RFC 6962 §3.4).
const LEAF_TYPE_TIMESTAMPED_ENTRY: u8 = 0;
/// `HashAlgorithm.sha256` of `DigitallySigned` (RFC 5246 §7.4.1.4.1).
const HASH_ALGORITHM_SHA256: u8 = 4;
/// `SignatureAlgorithm.ecdsa` of `DigitallySigned` (RFC 5246 §7.4.1.4.1).
const SIGNATURE_ALGORITHM_ECDSA: u8 = 3;
/// Largest `opaque <..2^24-1>` value.
const MAX_UINT24: usize = (1 << 24) - 1;

/// `LogEntryType` (RFC 6962 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogEntryType {
    X509Entry,
    PrecertEntry,
}

impl LogEntryType {
    fn code(self) -> u16 {
        match self {
            Self::X509Entry => 0,
            Self::PrecertEntry => 1,
        }
    }

    /// Returns the RFC 6962 name, used as a metric label.
    pub fn name(self) -> &'static str {
        match self {
            Self::X509Entry => "x509_entry",
            Self::PrecertEntry => "precert_entry",
        }
    }
}

/// The `signed_entry` of a `TimestampedEntry`: what the SCT signature covers besides the
/// timestamp and extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedEntry {
    /// `ASN.1Cert`: the DER leaf certificate.
    X509 { certificate: Vec<u8> },
    /// `PreCert`: SHA-256 of the issuer's DER SubjectPublicKeyInfo, and the DER TBSCertificate
    /// of the precertificate with the poison extension removed.
    Precert {
        issuer_key_hash: [u8; 32],
        tbs_certificate: Vec<u8>,
    },
}

/// A value too long for its TLS length prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} has {length} bytes, more than the {max} that RFC 6962 allows")]
pub struct TooLong {
    pub field: &'static str,
    pub length: usize,
    pub max: usize,
}

impl SignedEntry {
    pub fn entry_type(&self) -> LogEntryType {
        match self {
            Self::X509 { .. } => LogEntryType::X509Entry,
            Self::Precert { .. } => LogEntryType::PrecertEntry,
        }
    }

    /// Appends `entry_type || signed_entry`, the part shared by the SCT signature input and
    /// the `MerkleTreeLeaf`.
    fn encode_with_type(&self, out: &mut Vec<u8>) -> Result<(), TooLong> {
        out.extend_from_slice(&self.entry_type().code().to_be_bytes());
        match self {
            Self::X509 { certificate } => push_uint24_prefixed(out, "ASN.1Cert", certificate),
            Self::Precert {
                issuer_key_hash,
                tbs_certificate,
            } => {
                out.extend_from_slice(issuer_key_hash);
                push_uint24_prefixed(out, "TBSCertificate", tbs_certificate)
            }
        }
    }

    /// SHA-256 of `entry_type || signed_entry`: the same for every submission of one
    /// certificate, or of one precertificate TBS by one issuer, whatever the timestamp. The
    /// log store uses it to detect a resubmission as a duplicate.
    pub fn identity(&self) -> Result<[u8; 32], TooLong> {
        let mut bytes = Vec::new();
        self.encode_with_type(&mut bytes)?;
        Ok(Sha256::digest(&bytes).into())
    }
}

/// Encodes the input of the SCT signature (RFC 6962 §3.2): `sct_version || signature_type(0) ||
/// timestamp || entry_type || signed_entry || extensions`. The log sends no extensions.
pub fn sct_signature_input(timestamp_ms: u64, entry: &SignedEntry) -> Result<Vec<u8>, TooLong> {
    encode_timestamped_entry(
        [VERSION_V1, SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP],
        timestamp_ms,
        entry,
    )
}

/// `MerkleTreeLeaf` (RFC 6962 §3.4): `version || leaf_type(timestamped_entry) ||
/// TimestampedEntry`, with empty extensions. Its hash is the Merkle leaf hash.
pub fn merkle_tree_leaf(timestamp_ms: u64, entry: &SignedEntry) -> Result<Vec<u8>, TooLong> {
    encode_timestamped_entry(
        [VERSION_V1, LEAF_TYPE_TIMESTAMPED_ENTRY],
        timestamp_ms,
        entry,
    )
}

/// Encodes two leading type bytes, then the fields of a `TimestampedEntry` with empty
/// extensions. The SCT signature input and the `MerkleTreeLeaf` differ only in those bytes.
fn encode_timestamped_entry(
    prefix: [u8; 2],
    timestamp_ms: u64,
    entry: &SignedEntry,
) -> Result<Vec<u8>, TooLong> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    entry.encode_with_type(&mut out)?;
    out.extend_from_slice(&0u16.to_be_bytes());
    Ok(out)
}

/// Encodes the input of the tree head signature (RFC 6962 §3.5): `version || signature_type(tree_hash)
/// || timestamp || tree_size || sha256_root_hash`.
pub fn tree_head_signature_input(
    timestamp_ms: u64,
    tree_size: u64,
    root_hash: &[u8; 32],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + 8 + 8 + 32);
    out.push(VERSION_V1);
    out.push(SIGNATURE_TYPE_TREE_HASH);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&tree_size.to_be_bytes());
    out.extend_from_slice(root_hash);
    out
}

/// `DigitallySigned` (RFC 5246 §4.7) for an ECDSA-with-SHA-256 DER signature:
/// `hash(sha256) || signature(ecdsa) || uint16 length || signature`.
pub fn digitally_signed(signature_der: &[u8]) -> Result<Vec<u8>, TooLong> {
    let length = u16::try_from(signature_der.len()).map_err(|_| TooLong {
        field: "signature",
        length: signature_der.len(),
        max: usize::from(u16::MAX),
    })?;
    let mut out = Vec::with_capacity(4 + signature_der.len());
    out.push(HASH_ALGORITHM_SHA256);
    out.push(SIGNATURE_ALGORITHM_ECDSA);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(signature_der);
    Ok(out)
}

/// Checks that `bytes` is one ECDSA-with-SHA-256 `DigitallySigned` and nothing more.
pub fn check_digitally_signed(bytes: &[u8]) -> Result<(), String> {
    let mut reader = Reader::new(bytes);
    let hash = reader.u8("DigitallySigned.hash")?;
    let signature = reader.u8("DigitallySigned.signature")?;
    if (hash, signature) != (HASH_ALGORITHM_SHA256, SIGNATURE_ALGORITHM_ECDSA) {
        return Err(format!(
            "DigitallySigned algorithm ({hash}, {signature}) is not (sha256, ecdsa)"
        ));
    }
    let length = usize::from(reader.u16("DigitallySigned length")?);
    reader.bytes(length, "DigitallySigned.signature")?;
    reader.finish("DigitallySigned")
}

/// `CertificateChain`, the `extra_data` of an `x509_entry` (RFC 6962 §4.6): the certificates
/// after the leaf, each `opaque <1..2^24-1>`, in one `<0..2^24-1>` vector.
pub fn certificate_chain(chain: &[Vec<u8>]) -> Result<Vec<u8>, TooLong> {
    let mut out = Vec::new();
    push_certificate_vector(&mut out, chain)?;
    Ok(out)
}

/// `PrecertChainEntry`, the `extra_data` of a `precert_entry` (RFC 6962 §4.6): the submitted
/// precertificate, then the certificates after it as in [`certificate_chain`].
pub fn precert_chain_entry(precertificate: &[u8], chain: &[Vec<u8>]) -> Result<Vec<u8>, TooLong> {
    let mut out = Vec::new();
    push_uint24_prefixed(&mut out, "pre_certificate", precertificate)?;
    push_certificate_vector(&mut out, chain)?;
    Ok(out)
}

fn push_certificate_vector(out: &mut Vec<u8>, chain: &[Vec<u8>]) -> Result<(), TooLong> {
    let mut vector = Vec::new();
    for certificate in chain {
        push_uint24_prefixed(&mut vector, "ASN.1Cert", certificate)?;
    }
    push_uint24_prefixed(out, "certificate_chain", &vector)
}

fn push_uint24_prefixed(
    out: &mut Vec<u8>,
    field: &'static str,
    value: &[u8],
) -> Result<(), TooLong> {
    if value.len() > MAX_UINT24 {
        return Err(TooLong {
            field,
            length: value.len(),
            max: MAX_UINT24,
        });
    }
    let length = (value.len() as u32).to_be_bytes();
    out.extend_from_slice(&length[1..]);
    out.extend_from_slice(value);
    Ok(())
}

/// A `MerkleTreeLeaf` read back from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedLeaf {
    pub timestamp_ms: u64,
    pub entry: SignedEntry,
    pub extensions: Vec<u8>,
}

/// Parses a `MerkleTreeLeaf` of version v1 with a `timestamped_entry`. Stored bytes are
/// checked as strictly as network bytes: any error is a message, never a panic.
pub fn parse_merkle_tree_leaf(bytes: &[u8]) -> Result<ParsedLeaf, String> {
    let mut reader = Reader::new(bytes);
    let version = reader.u8("MerkleTreeLeaf.version")?;
    if version != VERSION_V1 {
        return Err(format!("MerkleTreeLeaf version {version} is not v1"));
    }
    let leaf_type = reader.u8("MerkleTreeLeaf.leaf_type")?;
    if leaf_type != LEAF_TYPE_TIMESTAMPED_ENTRY {
        return Err(format!(
            "MerkleTreeLeaf leaf_type {leaf_type} is not timestamped_entry"
        ));
    }
    let timestamp_ms = reader.u64("TimestampedEntry.timestamp")?;
    let entry = match reader.u16("TimestampedEntry.entry_type")? {
        0 => SignedEntry::X509 {
            certificate: reader.uint24_prefixed("ASN.1Cert")?.to_vec(),
        },
        1 => {
            let issuer_key_hash: [u8; 32] = reader
                .bytes(32, "PreCert.issuer_key_hash")?
                .try_into()
                .map_err(|_| "PreCert.issuer_key_hash is not 32 bytes".to_owned())?;
            let tbs_certificate = reader.uint24_prefixed("PreCert.tbs_certificate")?.to_vec();
            SignedEntry::Precert {
                issuer_key_hash,
                tbs_certificate,
            }
        }
        other => return Err(format!("unknown LogEntryType {other}")),
    };
    let extensions_length = usize::from(reader.u16("CtExtensions length")?);
    let extensions = reader.bytes(extensions_length, "CtExtensions")?.to_vec();
    reader.finish("MerkleTreeLeaf")?;
    Ok(ParsedLeaf {
        timestamp_ms,
        entry,
        extensions,
    })
}

/// A bounds-checked cursor over TLS-encoded bytes.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn bytes(&mut self, length: usize, field: &str) -> Result<&'a [u8], String> {
        if self.rest.len() < length {
            return Err(format!(
                "{field} needs {length} bytes, {} remain",
                self.rest.len()
            ));
        }
        let (taken, rest) = self.rest.split_at(length);
        self.rest = rest;
        Ok(taken)
    }

    fn u8(&mut self, field: &str) -> Result<u8, String> {
        Ok(self.bytes(1, field)?[0])
    }

    fn u16(&mut self, field: &str) -> Result<u16, String> {
        let bytes = self.bytes(2, field)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u64(&mut self, field: &str) -> Result<u64, String> {
        let mut array = [0u8; 8];
        array.copy_from_slice(self.bytes(8, field)?);
        Ok(u64::from_be_bytes(array))
    }

    fn uint24_prefixed(&mut self, field: &str) -> Result<&'a [u8], String> {
        let length = self.bytes(3, field)?;
        let length =
            (usize::from(length[0]) << 16) | (usize::from(length[1]) << 8) | usize::from(length[2]);
        self.bytes(length, field)
    }

    fn finish(&self, structure: &str) -> Result<(), String> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} trailing bytes after {structure}",
                self.rest.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn precert_entry() -> SignedEntry {
        SignedEntry::Precert {
            issuer_key_hash: [7; 32],
            tbs_certificate: vec![0x30, 0x03, 1, 2, 3],
        }
    }

    #[test]
    fn sct_input_layout() {
        let input = sct_signature_input(0x0102_0304_0506_0708, &precert_entry()).expect("encode");
        let mut expected = vec![0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1];
        expected.extend_from_slice(&[7; 32]);
        expected.extend_from_slice(&[0, 0, 5, 0x30, 0x03, 1, 2, 3, 0, 0]);
        assert_eq!(input, expected);
    }

    #[test]
    fn merkle_leaf_round_trip() {
        for entry in [
            precert_entry(),
            SignedEntry::X509 {
                certificate: vec![0x30, 0],
            },
        ] {
            let leaf = merkle_tree_leaf(1_700_000_000_123, &entry).expect("encode");
            assert_eq!(&leaf[..2], &[0, 0], "version v1, timestamped_entry");
            let parsed = parse_merkle_tree_leaf(&leaf).expect("parse");
            assert_eq!(parsed.timestamp_ms, 1_700_000_000_123);
            assert_eq!(parsed.entry, entry);
            assert!(parsed.extensions.is_empty());
        }
    }

    #[test]
    fn truncated_leaf_rejected() {
        let leaf = merkle_tree_leaf(5, &precert_entry()).expect("encode");
        for length in 0..leaf.len() {
            assert!(
                parse_merkle_tree_leaf(&leaf[..length]).is_err(),
                "prefix of {length} bytes"
            );
        }
        let mut longer = leaf.clone();
        longer.push(0);
        assert!(parse_merkle_tree_leaf(&longer).is_err());
    }

    #[test]
    fn tree_head_input_layout() {
        let input = tree_head_signature_input(1, 2, &[9; 32]);
        assert_eq!(
            &input[..18],
            &[0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]
        );
        assert_eq!(&input[18..], &[9; 32]);
    }

    #[test]
    fn chain_vectors() {
        let chain = vec![vec![0xaa], vec![0xbb, 0xcc]];
        assert_eq!(
            certificate_chain(&chain).expect("encode"),
            vec![0, 0, 9, 0, 0, 1, 0xaa, 0, 0, 2, 0xbb, 0xcc]
        );
        assert_eq!(
            precert_chain_entry(&[0x11], &chain[..1]).expect("encode"),
            vec![0, 0, 1, 0x11, 0, 0, 4, 0, 0, 1, 0xaa]
        );
    }

    #[test]
    fn identity_ignores_timestamp_but_not_type() {
        let certificate = SignedEntry::X509 {
            certificate: vec![1, 2, 3],
        };
        let precert = SignedEntry::Precert {
            issuer_key_hash: [0; 32],
            tbs_certificate: vec![1, 2, 3],
        };
        assert_ne!(certificate.identity(), precert.identity());
        assert_eq!(certificate.identity(), certificate.clone().identity());
    }

    #[test]
    fn digitally_signed_checked() {
        let encoded = digitally_signed(&[1, 2, 3]).expect("encode");
        assert_eq!(encoded, vec![4, 3, 0, 3, 1, 2, 3]);
        assert_eq!(check_digitally_signed(&encoded), Ok(()));
        assert!(check_digitally_signed(&encoded[..6]).is_err());
        assert!(check_digitally_signed(&[4, 1, 0, 0]).is_err());
    }
}
