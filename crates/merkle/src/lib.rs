//! RFC 6962 (and RFC 9162 §2.1) Merkle tree hashing, inclusion proofs and consistency proofs,
//! computed from stored hashes of complete subtrees.
//!
//! A log stores the hash of every complete subtree: node `(level, index)` is the root of leaves
//! `index << level .. (index + 1) << level`. Any RFC 6962 subtree hash `MTH(D[a:b])` is a fold of
//! at most 64 such nodes, so roots and proofs need O(log n) stored hashes and never a scan.
//!
//! Each operation comes in two halves: a function that lists the [`NodeId`]s it needs, so a store
//! can fetch them in one query, and a function that computes the result from a lookup. This
//! crate does no I/O.
#![forbid(unsafe_code)]

mod append;
mod proof;

pub use append::append_leaves;
pub use proof::{
    consistency_proof, consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes, root_nodes,
    tree_root, verify_consistency, verify_inclusion,
};

use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// The root hash of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Hashes a leaf: `MTH({d}) = SHA-256(0x00 || d)` (RFC 6962 §2.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// Hashes an interior node: `SHA-256(0x01 || left || right)` (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// A complete subtree: the root of leaves `index << level .. (index + 1) << level`.
/// Level 0 nodes are leaf hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// Returns the index of the first leaf under this node.
    pub const fn start(self) -> u64 {
        self.index << self.level
    }
}

/// Errors for proof requests that make no sense for the tree, and for proofs that fail to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {old} is larger than tree size {new}")]
    SizesOutOfOrder { old: u64, new: u64 },
    #[error("stored hash of node (level {}, index {}) is missing", .0.level, .0.index)]
    MissingNode(NodeId),
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength { expected: usize, actual: usize },
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
}

/// Lists the complete subtrees whose fold is `MTH(D[start:end])`, largest first.
///
/// `start` must be a multiple of the largest power of two below `end - start`, which holds for
/// every subtree that RFC 6962's recursive definition produces (and for `start == 0`).
pub(crate) fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut position = start;
    while position < end {
        // The largest power of two that fits in what is left, and is aligned at `position`.
        let remaining = end - position;
        let mut level = 63 - remaining.leading_zeros();
        if position != 0 {
            level = level.min(position.trailing_zeros());
        }
        nodes.push(NodeId::new(level as u8, position >> level));
        position += 1 << level;
    }
    nodes
}

/// Folds the hashes of [`range_nodes`] into `MTH(D[start:end])`: RFC 6962 pairs the largest left
/// subtree with the hash of everything to its right, so the fold runs right to left.
pub(crate) fn fold_range(hashes: &[Hash]) -> Hash {
    match hashes.split_last() {
        None => EMPTY_ROOT,
        Some((last, rest)) => rest
            .iter()
            .rev()
            .fold(*last, |right, left| node_hash(left, &right)),
    }
}

/// Largest power of two strictly less than `n`, for `n >= 2` (the split point `k` of RFC 6962 §2.1).
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}
