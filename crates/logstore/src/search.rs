//! The limits on keys in the search index.

/// Maximum length of a stored search key, in bytes. A B-tree entry of PostgreSQL's
/// `search_index_pkey` takes at most 2704 bytes. This leaves room for the other columns and is
/// far above any digest, fingerprint or certificate name a client searches for.
pub const MAX_SEARCH_KEY_BYTES: usize = 1024;

/// Returns whether `key` fits the search index: PostgreSQL `text` cannot contain NUL, and the
/// index caps its length.
pub fn is_storable(key: &str) -> bool {
    key.len() <= MAX_SEARCH_KEY_BYTES && !key.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_storable() {
        assert!(is_storable(
            "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        ));
    }

    #[test]
    fn nul_is_not_storable() {
        assert!(!is_storable("sha256\0"));
    }

    #[test]
    fn long_key_is_not_storable() {
        assert!(is_storable(&"a".repeat(MAX_SEARCH_KEY_BYTES)));
        assert!(!is_storable(&"a".repeat(MAX_SEARCH_KEY_BYTES + 1)));
    }
}
