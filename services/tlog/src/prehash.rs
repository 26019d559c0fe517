//! A digest "hasher" that returns a SHA-512 value computed elsewhere, so that Ed25519ph
//! (RFC 8032 §5.1) can be verified from the digest alone: a hashedrekord entry carries the
//! artifact's SHA-512, never the artifact, and ed25519-dalek's prehashed API takes a hasher.

use sha2::digest::consts::U64;
use sha2::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Reset, Update};

#[derive(Clone)]
pub(crate) struct Sha512Digest([u8; 64]);

impl Default for Sha512Digest {
    fn default() -> Self {
        Self([0; 64])
    }
}

impl Sha512Digest {
    pub(crate) fn from_slice(digest: &[u8]) -> Option<Self> {
        digest.try_into().ok().map(Self)
    }
}

impl HashMarker for Sha512Digest {}

impl OutputSizeUser for Sha512Digest {
    type OutputSize = U64;
}

/// Ignores input: the digest is already final.
impl Update for Sha512Digest {
    fn update(&mut self, _data: &[u8]) {}
}

impl FixedOutput for Sha512Digest {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(&self.0);
    }
}

impl Reset for Sha512Digest {
    fn reset(&mut self) {}
}
