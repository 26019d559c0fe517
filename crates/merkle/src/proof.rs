//! Inclusion and consistency proofs (RFC 6962 §2.1.1 and §2.1.2; RFC 9162 §2.1.3 and §2.1.4 for
//! verification).

use crate::{Hash, MerkleError, NodeId, fold_range, node_hash, range_nodes, split_point};

/// A subtree `D[start:end]` whose hash is one element of a proof.
type Span = (u64, u64);

/// Lists the nodes needed for the root of a tree of `size` leaves.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// Computes the root hash of a tree of `size` leaves from stored nodes.
pub fn tree_root(size: u64, lookup: impl Fn(NodeId) -> Option<Hash>) -> Result<Hash, MerkleError> {
    hash_span((0, size), &lookup)
}

fn hash_span(span: Span, lookup: &impl Fn(NodeId) -> Option<Hash>) -> Result<Hash, MerkleError> {
    let hashes = range_nodes(span.0, span.1)
        .into_iter()
        .map(|node| lookup(node).ok_or(MerkleError::MissingNode(node)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(fold_range(&hashes))
}

/// `PATH(m, D[start:end])` of RFC 6962 §2.1.1 as subtree spans, leaf to root.
fn inclusion_spans(index: u64, size: u64) -> Result<Vec<Span>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut spans = Vec::new();
    let (mut start, mut end) = (0, size);
    // Walk from the root down, recording each sibling, then reverse into leaf-to-root order.
    while end - start > 1 {
        let k = split_point(end - start);
        if index - start < k {
            spans.push((start + k, end));
            end = start + k;
        } else {
            spans.push((start, start + k));
            start += k;
        }
    }
    spans.reverse();
    Ok(spans)
}

/// `SUBPROOF(m, D[start:end], b)` of RFC 6962 §2.1.2 as subtree spans, in proof order.
fn consistency_spans(old: u64, new: u64) -> Result<Vec<Span>, MerkleError> {
    if old > new {
        return Err(MerkleError::SizesOutOfOrder { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let mut spans = Vec::new();
    let (mut start, mut end) = (0, new);
    let mut complete = true;
    let m = old;
    loop {
        let n = end - start;
        if m - start == n {
            // SUBPROOF(m, D[m], true) = {}; with b false it is {MTH(D[start:end])}.
            if !complete {
                spans.push((start, end));
            }
            break;
        }
        let k = split_point(n);
        if m - start <= k {
            spans.push((start + k, end));
            end = start + k;
        } else {
            spans.push((start, start + k));
            start += k;
            complete = false;
        }
    }
    spans.reverse();
    Ok(spans)
}

fn nodes_of(spans: &[Span]) -> Vec<NodeId> {
    let mut nodes: Vec<NodeId> = spans
        .iter()
        .flat_map(|&(start, end)| range_nodes(start, end))
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

/// Lists the stored nodes needed for the inclusion proof of leaf `index` in a tree of `size`.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<NodeId>, MerkleError> {
    Ok(nodes_of(&inclusion_spans(index, size)?))
}

/// Computes the audit path of leaf `index` in a tree of `size` leaves, leaf to root.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    lookup: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, MerkleError> {
    inclusion_spans(index, size)?
        .into_iter()
        .map(|span| hash_span(span, &lookup))
        .collect()
}

/// Lists the stored nodes needed for the consistency proof between tree sizes `old` and `new`.
pub fn consistency_proof_nodes(old: u64, new: u64) -> Result<Vec<NodeId>, MerkleError> {
    Ok(nodes_of(&consistency_spans(old, new)?))
}

/// Computes the consistency proof between tree sizes `old` and `new`. It is empty when
/// `old == 0` or `old == new`.
pub fn consistency_proof(
    old: u64,
    new: u64,
    lookup: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, MerkleError> {
    consistency_spans(old, new)?
        .into_iter()
        .map(|span| hash_span(span, &lookup))
        .collect()
}

/// Verifies an inclusion proof with the algorithm of RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(MerkleError::WrongProofLength {
                expected: inclusion_spans(index, size)?.len(),
                actual: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(MerkleError::WrongProofLength {
            expected: inclusion_spans(index, size)?.len(),
            actual: proof.len(),
        });
    }
    if &r == root {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}

/// Verifies a consistency proof with the algorithm of RFC 9162 §2.1.4.2.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    let expected = consistency_spans(old, new)?.len();
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(MerkleError::WrongProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        return if old == 0 || old_root == new_root {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch)
        };
    }
    if proof.len() != expected {
        return Err(MerkleError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    // Step 2 of §2.1.4.2: when `old` is an exact power of two, prepend `old_root` to the proof.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let mut fn_ = old - 1;
    let mut sn = new - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (first, rest) = path.split_first().ok_or(MerkleError::WrongProofLength {
        expected,
        actual: proof.len(),
    })?;
    let mut fr = *first;
    let mut sr = *first;
    for c in rest {
        if sn == 0 {
            return Err(MerkleError::WrongProofLength {
                expected,
                actual: proof.len(),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(MerkleError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    if &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch)
    }
}
