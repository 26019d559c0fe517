//! Differential tests: the stored-node algorithms against a direct transcription of the recursive
//! definitions in RFC 6962 §2.1, for every tree size up to `MAX_SIZE`, and against `ct-merkle`.

use std::collections::HashMap;

use sigstack_merkle::{
    EMPTY_ROOT, Hash, MerkleError, NodeId, append_leaves, consistency_proof,
    consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes, leaf_hash, node_hash,
    root_nodes, tree_root, verify_consistency, verify_inclusion,
};

/// Every size from 0 to this is checked, with all inclusion and consistency proofs.
const MAX_SIZE: u64 = 300;

/// `MTH(D[n])` of RFC 6962 §2.1, recursively over leaf hashes.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = largest_power_below(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn largest_power_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `PATH(m, D[n])` of RFC 6962 §2.1.1.
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = largest_power_below(n);
    if m < k {
        let mut proof = path(m, &leaves[..k]);
        proof.push(mth(&leaves[k..]));
        proof
    } else {
        let mut proof = path(m - k, &leaves[k..]);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

/// `SUBPROOF(m, D[n], b)` of RFC 6962 §2.1.2.
fn subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![mth(leaves)]
        };
    }
    let k = largest_power_below(n);
    if m <= k {
        let mut proof = subproof(m, &leaves[..k], complete);
        proof.push(mth(&leaves[k..]));
        proof
    } else {
        let mut proof = subproof(m - k, &leaves[k..], false);
        proof.push(mth(&leaves[..k]));
        proof
    }
}

fn leaves(count: u64) -> Vec<Hash> {
    (0..count)
        .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
        .collect()
}

/// Builds the stored-node map by appending leaves in uneven batches, as a log does.
fn store(all: &[Hash]) -> HashMap<NodeId, Hash> {
    let mut nodes = HashMap::new();
    let mut size = 0u64;
    let mut batch = 1usize;
    while (size as usize) < all.len() {
        let end = (size as usize + batch).min(all.len());
        let created = append_leaves(size, &all[size as usize..end], |id| nodes.get(&id).copied())
            .expect("right edge is stored");
        nodes.extend(created);
        size = end as u64;
        batch = batch % 7 + 1;
    }
    nodes
}

#[test]
fn roots_match_reference_for_every_size() {
    let all = leaves(MAX_SIZE);
    let nodes = store(&all);
    for size in 0..=MAX_SIZE {
        let lookup = |id| nodes.get(&id).copied();
        let root = tree_root(size, lookup).expect("root nodes are stored");
        assert_eq!(root, mth(&all[..size as usize]), "root of size {size}");
        assert!(root_nodes(size).len() <= 64);
    }
}

#[test]
fn inclusion_proofs_match_reference_and_verify() {
    let all = leaves(MAX_SIZE);
    let nodes = store(&all);
    let lookup = |id| nodes.get(&id).copied();
    for size in 1..=MAX_SIZE {
        let root = mth(&all[..size as usize]);
        for index in 0..size {
            let proof = inclusion_proof(index, size, lookup).expect("proof nodes are stored");
            assert_eq!(
                proof,
                path(index as usize, &all[..size as usize]),
                "path({index}, {size})"
            );
            verify_inclusion(&all[index as usize], index, size, &proof, &root)
                .unwrap_or_else(|e| panic!("inclusion of {index} in {size}: {e}"));
            let needed = inclusion_proof_nodes(index, size).expect("valid request");
            assert!(needed.iter().all(|id| nodes.contains_key(id)));
        }
    }
}

#[test]
fn consistency_proofs_match_reference_and_verify() {
    let all = leaves(MAX_SIZE);
    let nodes = store(&all);
    let lookup = |id| nodes.get(&id).copied();
    for new in 0..=MAX_SIZE {
        let new_root = mth(&all[..new as usize]);
        for old in 0..=new {
            let old_root = mth(&all[..old as usize]);
            let proof = consistency_proof(old, new, lookup).expect("proof nodes are stored");
            let expected = if old == 0 || old == new {
                Vec::new()
            } else {
                subproof(old as usize, &all[..new as usize], true)
            };
            assert_eq!(proof, expected, "consistency {old} -> {new}");
            verify_consistency(old, new, &old_root, &new_root, &proof)
                .unwrap_or_else(|e| panic!("consistency {old} -> {new}: {e}"));
            assert!(consistency_proof_nodes(old, new).is_ok());
        }
    }
}

#[test]
fn tampered_inclusion_proof_fails() {
    let all = leaves(37);
    let nodes = store(&all);
    let lookup = |id| nodes.get(&id).copied();
    let root = mth(&all);
    let mut proof = inclusion_proof(5, 37, lookup).expect("proof");
    proof[1][0] ^= 1;
    assert_eq!(
        verify_inclusion(&all[5], 5, 37, &proof, &root),
        Err(MerkleError::RootMismatch)
    );
    let short = &proof[..proof.len() - 1];
    assert!(matches!(
        verify_inclusion(&all[5], 5, 37, short, &root),
        Err(MerkleError::WrongProofLength { .. })
    ));
    assert!(
        verify_inclusion(
            &all[6],
            5,
            37,
            &inclusion_proof(5, 37, lookup).expect("proof"),
            &root
        )
        .is_err()
    );
}

#[test]
fn tampered_consistency_proof_fails() {
    let all = leaves(100);
    let nodes = store(&all);
    let lookup = |id| nodes.get(&id).copied();
    let old_root = mth(&all[..41]);
    let new_root = mth(&all);
    let mut proof = consistency_proof(41, 100, lookup).expect("proof");
    verify_consistency(41, 100, &old_root, &new_root, &proof).expect("valid proof");
    proof[0][31] ^= 0x80;
    assert!(verify_consistency(41, 100, &old_root, &new_root, &proof).is_err());
    let forked = mth(&leaves(41)[..40]);
    let proof = consistency_proof(41, 100, lookup).expect("proof");
    assert!(verify_consistency(41, 100, &forked, &new_root, &proof).is_err());
}

#[test]
fn out_of_range_requests_are_errors() {
    let lookup = |_| Some(EMPTY_ROOT);
    assert_eq!(
        inclusion_proof(3, 3, lookup),
        Err(MerkleError::IndexOutOfRange { index: 3, size: 3 })
    );
    assert_eq!(
        consistency_proof(4, 3, lookup),
        Err(MerkleError::SizesOutOfOrder { old: 4, new: 3 })
    );
    assert_eq!(
        tree_root(2, |_| None),
        Err(MerkleError::MissingNode(NodeId::new(1, 0)))
    );
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    use sha2::Digest;
    let expected: Hash = sha2::Sha256::digest(b"").into();
    assert_eq!(EMPTY_ROOT, expected);
    assert_eq!(tree_root(0, |_| None), Ok(EMPTY_ROOT));
}

#[test]
fn agrees_with_ct_merkle() {
    let mut oracle =
        ct_merkle::mem_backed_tree::MemoryBackedTree::<sha2_next::Sha256, Vec<u8>>::new();
    let data: Vec<Vec<u8>> = (0..130u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let hashes: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
    let nodes = store(&hashes);
    let lookup = |id| nodes.get(&id).copied();
    for (i, item) in data.iter().enumerate() {
        oracle.push(item.clone());
        let size = i as u64 + 1;
        let root = tree_root(size, lookup).expect("root");
        assert_eq!(
            oracle.root().as_bytes().as_slice(),
            root.as_slice(),
            "root of size {size}"
        );
        for index in (0..size).step_by(7) {
            let ours = inclusion_proof(index, size, lookup).expect("proof");
            let theirs = oracle.prove_inclusion(index as usize);
            let flat: Vec<u8> = ours.concat();
            assert_eq!(
                theirs.as_bytes(),
                flat.as_slice(),
                "inclusion {index} in {size}"
            );
        }
    }
}
