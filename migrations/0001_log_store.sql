-- Append-only verifiable logs (RFC 6962 Merkle trees), shared by the transparency log and the
-- certificate-transparency log. Rows in leaves, tree_nodes and checkpoints are only ever
-- inserted; logs.tree_size only grows. Integration takes a row lock on the log's logs row, which
-- serializes writers across service processes.

CREATE TABLE logs (
    tree_id     BIGINT PRIMARY KEY CHECK (tree_id > 0),
    -- Which service owns the log, e.g. 'rekor' or 'ct'.
    name        TEXT NOT NULL UNIQUE,
    -- Checkpoint origin line and signer name, fixed when the log is created.
    origin      TEXT NOT NULL,
    signer_name TEXT NOT NULL,
    tree_size   BIGINT NOT NULL CHECK (tree_size >= 0),
    root_hash   BYTEA NOT NULL CHECK (length(root_hash) = 32),
    -- The signed tree head for tree_size, in the owner's format (a checkpoint note or an STH).
    signed_head BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE leaves (
    tree_id         BIGINT NOT NULL REFERENCES logs (tree_id),
    leaf_index      BIGINT NOT NULL CHECK (leaf_index >= 0),
    -- SHA-256(0x00 || leaf_value), the level-0 node of the tree.
    leaf_hash       BYTEA NOT NULL CHECK (length(leaf_hash) = 32),
    -- What makes two submissions the same entry: the leaf hash for the transparency log, the
    -- certificate hash for the CT log (whose leaves carry a timestamp).
    identity        BYTEA NOT NULL,
    leaf_value      BYTEA NOT NULL,
    extra_data      BYTEA,
    -- Milliseconds since the Unix epoch at which the batch holding the leaf was integrated.
    integrated_time BIGINT NOT NULL,
    PRIMARY KEY (tree_id, leaf_index)
);
CREATE UNIQUE INDEX leaves_identity ON leaves (tree_id, identity);
CREATE INDEX leaves_leaf_hash ON leaves (tree_id, leaf_hash);

-- Hashes of complete subtrees above the leaves: node (level, node_index) covers leaves
-- [node_index * 2^level, (node_index + 1) * 2^level). Level 0 lives in leaves.leaf_hash.
CREATE TABLE tree_nodes (
    tree_id    BIGINT NOT NULL REFERENCES logs (tree_id),
    level      SMALLINT NOT NULL CHECK (level BETWEEN 1 AND 63),
    node_index BIGINT NOT NULL CHECK (node_index >= 0),
    hash       BYTEA NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (tree_id, level, node_index)
);

-- Every signed tree head the log ever published, so monitors and tests can check that each is
-- consistent with every later one.
CREATE TABLE signed_heads (
    tree_id     BIGINT NOT NULL REFERENCES logs (tree_id),
    tree_size   BIGINT NOT NULL CHECK (tree_size >= 0),
    root_hash   BYTEA NOT NULL CHECK (length(root_hash) = 32),
    signed_head BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tree_id, tree_size)
);

-- Search keys (artifact hash, public key fingerprint, email, subject), written in the same
-- transaction as the leaf they point to.
CREATE TABLE search_index (
    tree_id    BIGINT NOT NULL REFERENCES logs (tree_id),
    lookup_key TEXT NOT NULL,
    leaf_index BIGINT NOT NULL,
    PRIMARY KEY (tree_id, lookup_key, leaf_index)
);
