use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer as _;

use super::*;

fn key() -> SigningKey {
    SigningKey::from_slice(&[7u8; 32]).expect("valid scalar")
}

fn sample() -> Checkpoint {
    Checkpoint {
        origin: "rekor.example.com - 42".into(),
        tree_size: 3,
        root_hash: [9u8; 32],
    }
}

#[test]
fn body_matches_rekor_layout() {
    assert_eq!(
        sample().body(),
        "rekor.example.com - 42\n3\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n"
    );
}

#[test]
fn signed_note_round_trips_and_verifies() {
    let key = key();
    let text = sample().sign("rekor.example.com", [1, 2, 3, 4], |body| {
        let signature: DerSignature = key.sign(body);
        signature.as_bytes().to_vec()
    });
    assert_eq!(text.matches("\n\n").count(), 1);
    assert!(text.contains("\n\n\u{2014} rekor.example.com "));
    let parsed = SignedCheckpoint::parse(&text).expect("parses");
    assert_eq!(parsed.checkpoint, sample());
    parsed
        .verify_ecdsa_p256("rekor.example.com", [1, 2, 3, 4], key.verifying_key())
        .expect("verifies");
    assert!(matches!(
        parsed.verify_ecdsa_p256("other", [1, 2, 3, 4], key.verifying_key()),
        Err(CheckpointError::NoMatchingSignature { .. })
    ));
}

#[test]
fn tampered_size_fails_verification() {
    let key = key();
    let text = sample().sign("n", [0; 4], |body| {
        let signature: DerSignature = key.sign(body);
        signature.as_bytes().to_vec()
    });
    let tampered = text.replacen("\n3\n", "\n4\n", 1);
    let parsed = SignedCheckpoint::parse(&tampered).expect("still parses");
    assert!(matches!(
        parsed.verify_ecdsa_p256("n", [0; 4], key.verifying_key()),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn malformed_notes_are_rejected() {
    let cases = [
        "",
        "origin\n1\nAAAA\n",
        "origin\n01\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n\u{2014} n AAAAAAA=\n",
        "origin\n-1\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n\u{2014} n AAAAAAA=\n",
        "origin\n1\nshort\n\n\u{2014} n AAAAAAA=\n",
        "origin\n1\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n- n AAAAAAA=\n",
        "origin\n1\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n\u{2014} n AAAAAAA=",
        "origin\n1\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n\u{2014} n AA==\n",
    ];
    for case in cases {
        assert!(SignedCheckpoint::parse(case).is_err(), "accepted {case:?}");
    }
}
