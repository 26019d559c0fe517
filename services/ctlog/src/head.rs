//! Signing tree heads as RFC 6962 §3.5 `TreeHeadSignature`s for the log store, and the stored
//! form from which get-sth responses are built.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sigstack_keys::LogSigner;
use sigstack_logstore::{Hash, HeadSigner, LogInfo};

use crate::rfc6962;

/// Signs tree heads. The timestamp is the integration time, raised when needed to the newest
/// SCT timestamp this process has issued, because RFC 6962 §3.5 requires that "the timestamp
/// MUST be at least as recent as the most recent SCT timestamp in the tree".
///
/// NOTE: the newest SCT timestamp is tracked per process. With several processes on one
/// database, a clock running behind another process's clock could sign a tree head older than
/// an SCT that the other process issued.
#[derive(Debug)]
pub struct TreeHeadSigner {
    signer: LogSigner,
    newest_sct_ms: AtomicU64,
}

impl TreeHeadSigner {
    pub fn new(signer: LogSigner) -> Self {
        Self {
            signer,
            newest_sct_ms: AtomicU64::new(0),
        }
    }

    /// Records the timestamp of an SCT about to be issued; call it before appending the leaf.
    pub fn observe_sct_timestamp(&self, timestamp_ms: u64) {
        self.newest_sct_ms.fetch_max(timestamp_ms, Ordering::SeqCst);
    }
}

impl HeadSigner for TreeHeadSigner {
    fn sign_head(
        &self,
        _: &LogInfo,
        tree_size: u64,
        root_hash: &Hash,
        timestamp: SystemTime,
    ) -> Result<Vec<u8>, String> {
        let now_ms = unix_millis(timestamp)?;
        let timestamp_ms = now_ms.max(self.newest_sct_ms.load(Ordering::SeqCst));
        let input = rfc6962::tree_head_signature_input(timestamp_ms, tree_size, root_hash);
        let signature = rfc6962::digitally_signed(&self.signer.sign(&input))
            .map_err(|error| error.to_string())?;
        Ok(StoredTreeHead {
            timestamp_ms,
            tree_head_signature: signature,
        }
        .encode())
    }
}

/// The signed head as the log store keeps it: `uint64 timestamp || DigitallySigned`, the
/// body of a static-ct-api `RFC6962NoteSignature`. Tree size and root hash are stored beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTreeHead {
    pub timestamp_ms: u64,
    /// The TLS-encoded `DigitallySigned` of the `TreeHeadSignature`.
    pub tree_head_signature: Vec<u8>,
}

impl StoredTreeHead {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.tree_head_signature.len());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.tree_head_signature);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let (timestamp, signature) = bytes
            .split_first_chunk::<8>()
            .ok_or_else(|| format!("stored tree head has {} bytes, fewer than 8", bytes.len()))?;
        rfc6962::check_digitally_signed(signature)
            .map_err(|error| format!("stored tree head signature: {error}"))?;
        Ok(Self {
            timestamp_ms: u64::from_be_bytes(*timestamp),
            tree_head_signature: signature.to_vec(),
        })
    }
}

/// Milliseconds since the Unix epoch, the unit of RFC 6962 timestamps.
pub fn unix_millis(time: SystemTime) -> Result<u64, String> {
    let elapsed = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the clock is before the Unix epoch".to_owned())?;
    u64::try_from(elapsed.as_millis())
        .map_err(|_| "the clock is beyond the range of RFC 6962 timestamps".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_head_round_trip() {
        let head = StoredTreeHead {
            timestamp_ms: 42,
            tree_head_signature: vec![4, 3, 0, 2, 0xaa, 0xbb],
        };
        assert_eq!(StoredTreeHead::decode(&head.encode()), Ok(head));
        assert!(StoredTreeHead::decode(&[0; 7]).is_err());
        assert!(StoredTreeHead::decode(&[0, 0, 0, 0, 0, 0, 0, 1, 4, 3, 0, 5, 1]).is_err());
    }
}
