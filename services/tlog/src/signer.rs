//! Signing Rekor v1 checkpoints for the log store.

use std::time::SystemTime;

use sigstack_checkpoint::Checkpoint;
use sigstack_keys::LogSigner;
use sigstack_logstore::{Hash, HeadSigner, LogInfo};

/// Signs tree heads as Rekor v1 checkpoints: one ECDSA signature line whose key hint is the first
/// four bytes of the log ID.
#[derive(Debug)]
pub struct CheckpointSigner {
    pub signer: LogSigner,
}

impl HeadSigner for CheckpointSigner {
    fn sign_head(
        &self,
        log: &LogInfo,
        tree_size: u64,
        root_hash: &Hash,
        _: SystemTime,
    ) -> Result<Vec<u8>, String> {
        let key_id = self.signer.key_id();
        let key_hint = [key_id[0], key_id[1], key_id[2], key_id[3]];
        let checkpoint = Checkpoint {
            origin: log.origin.clone(),
            tree_size,
            root_hash: *root_hash,
        };
        let note = checkpoint.sign(&log.signer_name, key_hint, |body| self.signer.sign(body));
        Ok(note.into_bytes())
    }
}
