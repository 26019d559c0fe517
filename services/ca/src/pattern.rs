//! Meta-issuer URL patterns, such as `https://oidc.eks.*.amazonaws.com/id/*`.

/// A meta-issuer pattern.
///
/// SPEC(Fulcio `config.MetaRegex`, after GHSA-59jp-pj84-45mr): the pattern is regex-quoted, each
/// `*` becomes `[-_a-zA-Z0-9]+`, and the result is anchored with `^…$`. So a `*` never matches
/// `.`, `/`, `:` or `?`, and the whole issuer URL must match, not a part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaIssuerPattern {
    /// The literal text between wildcards; there is one more literal than wildcards.
    literals: Vec<String>,
}

impl MetaIssuerPattern {
    /// Parses `pattern`. It needs at least one `*`, and no two `*` may be adjacent, because two
    /// adjacent wildcards match the same strings as one.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let literals: Vec<String> = pattern.split('*').map(str::to_owned).collect();
        if literals.len() < 2 {
            return Err("a meta-issuer pattern needs at least one '*'".to_owned());
        }
        if literals[1..literals.len() - 1].iter().any(String::is_empty) {
            return Err("a meta-issuer pattern must not have adjacent '*'".to_owned());
        }
        Ok(Self { literals })
    }

    /// Returns whether `issuer` matches the whole pattern.
    pub fn matches(&self, issuer: &str) -> bool {
        let Some((first, rest)) = self.literals.split_first() else {
            return false;
        };
        match issuer.strip_prefix(first.as_str()) {
            Some(remainder) => match_wildcards(remainder, rest),
            None => false,
        }
    }
}

/// Matches `text` against `*L1*L2…*Ln`, where `literals` contains L1 to Ln.
fn match_wildcards(text: &str, literals: &[String]) -> bool {
    let Some((literal, rest)) = literals.split_first() else {
        return text.is_empty();
    };
    // The wildcard takes a run of one or more allowed characters; try every length, because the
    // literal that follows may itself begin with allowed characters.
    let run = text
        .bytes()
        .take_while(|byte| is_wildcard_byte(*byte))
        .count();
    (1..=run).any(|length| {
        text[length..]
            .strip_prefix(literal.as_str())
            .is_some_and(|remainder| match_wildcards(remainder, rest))
    })
}

fn is_wildcard_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> MetaIssuerPattern {
        MetaIssuerPattern::new(text).expect("valid pattern")
    }

    #[test]
    fn eks_pattern() {
        let eks = pattern("https://oidc.eks.*.amazonaws.com/id/*");
        assert!(eks.matches("https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123"));
        assert!(eks.matches("https://oidc.eks.eu_west-2.amazonaws.com/id/1"));
        // The wildcard never crosses '.', '/', ':' or '?'.
        assert!(!eks.matches("https://oidc.eks.us.east.amazonaws.com/id/1"));
        assert!(!eks.matches("https://oidc.eks.us-east-1.amazonaws.com/id/1/2"));
        assert!(!eks.matches("https://oidc.eks.us-east-1.amazonaws.com/id/a:b"));
        assert!(!eks.matches("https://oidc.eks.us-east-1.amazonaws.com/id/1?x=1"));
        // Anchored at both ends, and a wildcard matches at least one character.
        assert!(!eks.matches("https://oidc.eks..amazonaws.com/id/1"));
        assert!(!eks.matches("https://oidc.eks.us-east-1.amazonaws.com/id/"));
        assert!(!eks.matches("xhttps://oidc.eks.us-east-1.amazonaws.com/id/1"));
    }

    #[test]
    fn ssrf_through_query_is_rejected() {
        let eks = pattern("https://oidc.eks.*.amazonaws.com/id/*");
        assert!(
            !eks.matches("https://evil.example/?x=https://oidc.eks.us-east-1.amazonaws.com/id/1")
        );
        let leading = pattern("*.example.com");
        assert!(!leading.matches("https://evil.example/?x=a.example.com"));
    }

    #[test]
    fn wildcard_followed_by_allowed_characters() {
        let tricky = pattern("https://*-oidc.example.com/*x");
        assert!(tricky.matches("https://a-b-oidc.example.com/yyx"));
        assert!(!tricky.matches("https://-oidc.example.com/yyx"));
        assert!(!tricky.matches("https://a-oidc.example.com/x"));
    }

    #[test]
    fn pattern_syntax() {
        assert!(MetaIssuerPattern::new("https://example.com").is_err());
        assert!(MetaIssuerPattern::new("https://example.com/**").is_err());
        assert!(MetaIssuerPattern::new("*").is_ok());
        assert!(pattern("*").matches("abc"));
        assert!(!pattern("*").matches(""));
    }
}
