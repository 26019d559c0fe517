//! Computing the nodes that appending leaves completes.

use crate::{Hash, MerkleError, NodeId, node_hash, range_nodes};

/// Appends `leaves` (leaf hashes) to a tree of `size` leaves and returns every complete subtree
/// the append creates, level 0 included, in no particular order.
///
/// `lookup` must return the stored nodes of the current tree's right edge, that is
/// `range_nodes(0, size)` (see [`crate::root_nodes`]): they are the left siblings that new nodes
/// pair with.
pub fn append_leaves(
    size: u64,
    leaves: &[Hash],
    lookup: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
    // The right edge, as a stack of (node, hash) from the largest subtree to the smallest.
    let mut edge: Vec<(NodeId, Hash)> = range_nodes(0, size)
        .into_iter()
        .map(|node| {
            lookup(node)
                .map(|hash| (node, hash))
                .ok_or(MerkleError::MissingNode(node))
        })
        .collect::<Result<_, _>>()?;
    let mut created = Vec::with_capacity(leaves.len() * 2);
    for (offset, leaf) in leaves.iter().enumerate() {
        let mut node = NodeId::new(0, size + offset as u64);
        let mut hash = *leaf;
        created.push((node, hash));
        // Merge with the left sibling while this node is a right child.
        while node.index & 1 == 1 {
            let Some((sibling, sibling_hash)) = edge.pop() else {
                break;
            };
            debug_assert_eq!(sibling, NodeId::new(node.level, node.index - 1));
            hash = node_hash(&sibling_hash, &hash);
            node = NodeId::new(node.level + 1, node.index >> 1);
            created.push((node, hash));
        }
        edge.push((node, hash));
    }
    Ok(created)
}
