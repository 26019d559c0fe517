"""Self-tests of verify_rekor_entry.py against a tiny Rekor v1 log built here in pure Python.

The log below computes Merkle roots and proofs with the recursive definitions of RFC 6962 §2.1,
while the verifier uses the iterative algorithms of RFC 9162, so the two check each other. Each
tampering test asserts which named checks fail, so a check that stops working shows up by name.

Run with `python3 -m pytest tests/interop` or `python3 -m unittest discover -s tests/interop`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import verify_rekor_entry as verifier  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "verify_rekor_entry.py")
HOST = "rekor.test.internal"
# 0x108e9186e8c5677a, the tree ID of the public Rekor production shard.
TREE_ID = 1193050959916656506
INTEGRATED_TIME = 1734374576


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def merkle_root(leaves: list[bytes]) -> bytes:
    """Return MTH(D[n]) of RFC 6962 §2.1 for leaf hashes `leaves`."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = largest_power_of_two_below(len(leaves))
    return verifier.node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def inclusion_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """Return PATH(m, D[n]) of RFC 6962 §2.1.1."""
    if len(leaves) <= 1:
        return []
    k = largest_power_of_two_below(len(leaves))
    if index < k:
        return inclusion_path(index, leaves[:k]) + [merkle_root(leaves[k:])]
    return inclusion_path(index - k, leaves[k:]) + [merkle_root(leaves[:k])]


def consistency_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """Return SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2."""
    n = len(leaves)
    if m == n:
        return [] if complete else [merkle_root(leaves)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return consistency_subproof(m, leaves[:k], complete) + [merkle_root(leaves[k:])]
    return consistency_subproof(m - k, leaves[k:], False) + [merkle_root(leaves[:k])]


def consistency_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """Return PROOF(m, D[n]) of RFC 6962 §2.1.2, empty for m == 0 or m == n."""
    if m == 0:
        return []
    return consistency_subproof(m, leaves, True)


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    return key.sign(message, ec.ECDSA(hashes.SHA256()))


def public_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def log_id_of(key: ec.EllipticCurvePrivateKey) -> bytes:
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def hashedrekord_body(number: int) -> bytes:
    """Return a canonical hashedrekord body whose signature and key are placeholders.

    The verifier never checks the artifact signature inside a body, so placeholders are enough.
    """
    document = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {
                "hash": {
                    "algorithm": "sha256",
                    "value": hashlib.sha256(f"artifact {number}".encode()).hexdigest(),
                }
            },
            "signature": {
                "content": base64.b64encode(f"signature {number}".encode()).decode(),
                "publicKey": {"content": base64.b64encode(b"not a real key").decode()},
            },
        },
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


class TinyLog:
    """An in-memory Rekor v1 log with one shard that produces entries in the Rekor v1 wire format."""

    def __init__(self, size: int) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.log_id = log_id_of(self.key)
        self.bodies = [hashedrekord_body(number) for number in range(size)]
        self.leaves = [verifier.leaf_hash(body) for body in self.bodies]

    @property
    def public_key_pem(self) -> bytes:
        return public_pem(self.key)

    def checkpoint(
        self,
        size: int,
        root: bytes | None = None,
        origin: str | None = None,
        name: str = HOST,
        key_hint: bytes | None = None,
        signing_key: ec.EllipticCurvePrivateKey | None = None,
    ) -> str:
        """Return a signed checkpoint. Each optional argument overrides one field for tampering."""
        root = merkle_root(self.leaves[:size]) if root is None else root
        origin = f"{HOST} - {TREE_ID}" if origin is None else origin
        key_hint = self.log_id[:4] if key_hint is None else key_hint
        note = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
        signature = sign(signing_key or self.key, note.encode())
        signature_text = base64.b64encode(key_hint + signature).decode()
        return f"{note}\n\u2014 {name} {signature_text}\n"

    def signed_entry_timestamp(self, body_text: str, log_index: int, log_id_hex: str) -> str:
        payload = json.dumps(
            {
                "body": body_text,
                "integratedTime": INTEGRATED_TIME,
                "logID": log_id_hex,
                "logIndex": log_index,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        return base64.b64encode(sign(self.key, payload)).decode()

    def entry_response(self, index: int, size: int | None = None) -> dict:
        """Return the GET /api/v1/log/entries/{id} body for leaf `index` in tree size `size`."""
        size = len(self.leaves) if size is None else size
        body_text = base64.b64encode(self.bodies[index]).decode()
        entry_id = f"{TREE_ID:016x}{self.leaves[index].hex()}"
        return {
            entry_id: {
                "body": body_text,
                "integratedTime": INTEGRATED_TIME,
                "logID": self.log_id.hex(),
                "logIndex": index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": self.checkpoint(size),
                        "hashes": [
                            node.hex() for node in inclusion_path(index, self.leaves[:size])
                        ],
                        "logIndex": index,
                        "rootHash": merkle_root(self.leaves[:size]).hex(),
                        "treeSize": size,
                    },
                    "signedEntryTimestamp": self.signed_entry_timestamp(
                        body_text, index, self.log_id.hex()
                    ),
                },
            }
        }

    def log_info(self, size: int | None = None) -> dict:
        size = len(self.leaves) if size is None else size
        return {
            "rootHash": merkle_root(self.leaves[:size]).hex(),
            "treeSize": size,
            "signedTreeHead": self.checkpoint(size),
            "treeID": str(TREE_ID),
            "inactiveShards": None,
        }


def only_entry(response: dict) -> dict:
    """Return the LogEntryAnon object of a one-key response, for in-place tampering."""
    (entry,) = response.values()
    return entry


class MerkleProofTest(unittest.TestCase):
    def test_inclusion_accepts_every_leaf(self) -> None:
        leaves = [verifier.leaf_hash(bytes([number])) for number in range(17)]
        for size in range(1, len(leaves) + 1):
            root = merkle_root(leaves[:size])
            for index in range(size):
                with self.subTest(index=index, size=size):
                    path = inclusion_path(index, leaves[:size])
                    verifier.verify_inclusion_proof(index, size, leaves[index], path, root)

    def test_inclusion_rejects_tampering(self) -> None:
        leaves = [verifier.leaf_hash(bytes([number])) for number in range(11)]
        root = merkle_root(leaves)
        path = inclusion_path(5, leaves)
        tampered_paths = {
            "flipped hash": [path[0][:-1] + bytes([path[0][-1] ^ 1])] + path[1:],
            "missing hash": path[:-1],
            "extra hash": path + [path[0]],
            "reversed": list(reversed(path)),
        }
        for label, tampered in tampered_paths.items():
            with self.subTest(label):
                with self.assertRaises(verifier.CheckFailed):
                    verifier.verify_inclusion_proof(5, 11, leaves[5], tampered, root)
        with self.assertRaises(verifier.CheckFailed):
            verifier.verify_inclusion_proof(4, 11, leaves[5], path, root)
        with self.assertRaises(verifier.CheckFailed):
            verifier.verify_inclusion_proof(11, 11, leaves[5], path, root)

    def test_inclusion_rejects_short_path_for_claimed_size(self) -> None:
        # A one-leaf tree's root is the leaf itself, so only the path length exposes a size of 2.
        leaf = verifier.leaf_hash(b"only")
        with self.assertRaises(verifier.CheckFailed):
            verifier.verify_inclusion_proof(0, 2, leaf, [], leaf)

    def test_consistency_accepts_every_pair(self) -> None:
        leaves = [verifier.leaf_hash(bytes([number])) for number in range(17)]
        for new_size in range(0, len(leaves) + 1):
            new_root = merkle_root(leaves[:new_size])
            for old_size in range(0, new_size + 1):
                with self.subTest(old_size=old_size, new_size=new_size):
                    verifier.verify_consistency_proof(
                        old_size,
                        new_size,
                        merkle_root(leaves[:old_size]),
                        new_root,
                        consistency_proof(old_size, leaves[:new_size]),
                    )

    def test_consistency_rejects_short_path_for_claimed_size(self) -> None:
        # The proof from 4 to 8 also rebuilds both roots when the new size is claimed to be 16.
        leaves = [verifier.leaf_hash(bytes([number])) for number in range(8)]
        proof = consistency_proof(4, leaves)
        old_root = merkle_root(leaves[:4])
        new_root = merkle_root(leaves)
        verifier.verify_consistency_proof(4, 8, old_root, new_root, proof)
        with self.assertRaises(verifier.CheckFailed):
            verifier.verify_consistency_proof(4, 16, old_root, new_root, proof)

    def test_consistency_rejects_tampering(self) -> None:
        leaves = [verifier.leaf_hash(bytes([number])) for number in range(13)]
        old_root = merkle_root(leaves[:6])
        new_root = merkle_root(leaves)
        proof = consistency_proof(6, leaves)
        flipped = [proof[0][:-1] + bytes([proof[0][-1] ^ 1])] + proof[1:]
        cases = {
            "flipped hash": (6, 13, old_root, new_root, flipped),
            "missing hash": (6, 13, old_root, new_root, proof[:-1]),
            "extra hash": (6, 13, old_root, new_root, proof + [proof[0]]),
            "wrong old root": (6, 13, new_root, new_root, proof),
            "wrong new root": (6, 13, old_root, old_root, proof),
            "wrong old size": (5, 13, old_root, new_root, proof),
            "empty proof": (6, 13, old_root, new_root, []),
            "old larger than new": (13, 6, new_root, old_root, proof),
            "equal sizes, different roots": (6, 6, old_root, new_root, []),
            "equal sizes, nonempty proof": (6, 6, old_root, old_root, proof),
            "from empty tree, nonempty proof": (0, 13, old_root, new_root, proof),
        }
        for label, arguments in cases.items():
            with self.subTest(label):
                with self.assertRaises(verifier.CheckFailed):
                    verifier.verify_consistency_proof(*arguments)


class EntryVerificationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.log = TinyLog(7)

    def verify(self, response: dict, **options) -> verifier.Report:
        return verifier.verify_entry(response, self.log.public_key_pem, **options)

    def assert_failed_exactly(self, report: verifier.Report, expected: list[str]) -> None:
        self.assertFalse(report.passed)
        self.assertEqual(report.failed_names(), expected)

    def test_valid_entries_pass(self) -> None:
        for size in range(1, 8):
            for index in range(size):
                with self.subTest(index=index, size=size):
                    report = self.verify(
                        self.log.entry_response(index, size),
                        expect_origin_host=HOST,
                        expect_tree_id=TREE_ID,
                    )
                    self.assertEqual(report.failed_names(), [])
                    self.assertIn("checkpoint.origin-host", [r.name for r in report.results])

    def test_one_leaf_tree_has_empty_hashes(self) -> None:
        response = self.log.entry_response(0, 1)
        self.assertEqual(only_entry(response)["verification"]["inclusionProof"]["hashes"], [])
        self.assertTrue(self.verify(response).passed)

    def test_flipped_set_byte_fails(self) -> None:
        response = self.log.entry_response(3)
        verification = only_entry(response)["verification"]
        signature = bytearray(base64.b64decode(verification["signedEntryTimestamp"]))
        signature[-1] ^= 0x01
        verification["signedEntryTimestamp"] = base64.b64encode(signature).decode()
        self.assert_failed_exactly(self.verify(response), ["signed-entry-timestamp"])

    def test_set_over_other_index_fails(self) -> None:
        response = self.log.entry_response(3)
        entry = only_entry(response)
        entry["verification"]["signedEntryTimestamp"] = self.log.signed_entry_timestamp(
            entry["body"], 4, entry["logID"]
        )
        self.assert_failed_exactly(self.verify(response), ["signed-entry-timestamp"])

    def test_wrong_proof_hash_fails(self) -> None:
        response = self.log.entry_response(2)
        proof = only_entry(response)["verification"]["inclusionProof"]
        proof["hashes"][1] = hashlib.sha256(b"wrong").hexdigest()
        self.assert_failed_exactly(self.verify(response), ["inclusion-proof"])

    def test_null_hashes_fails(self) -> None:
        response = self.log.entry_response(0, 1)
        only_entry(response)["verification"]["inclusionProof"]["hashes"] = None
        report = self.verify(response)
        self.assertIn("entry.fields", report.failed_names())
        self.assertIn("inclusion-proof", report.failed_names())

    def test_wrong_root_in_checkpoint_fails(self) -> None:
        response = self.log.entry_response(4)
        proof = only_entry(response)["verification"]["inclusionProof"]
        proof["checkpoint"] = self.log.checkpoint(7, root=hashlib.sha256(b"wrong").digest())
        self.assert_failed_exactly(self.verify(response), ["checkpoint.tree-head"])

    def test_wrong_size_in_checkpoint_fails(self) -> None:
        response = self.log.entry_response(4)
        proof = only_entry(response)["verification"]["inclusionProof"]
        proof["checkpoint"] = self.log.checkpoint(6, root=merkle_root(self.log.leaves))
        self.assert_failed_exactly(self.verify(response), ["checkpoint.tree-head"])

    def test_wrong_key_hint_fails(self) -> None:
        response = self.log.entry_response(1)
        proof = only_entry(response)["verification"]["inclusionProof"]
        proof["checkpoint"] = self.log.checkpoint(7, key_hint=b"\x00\x01\x02\x03")
        self.assert_failed_exactly(self.verify(response), ["checkpoint.key-hint"])

    def test_checkpoint_signed_by_other_key_fails(self) -> None:
        response = self.log.entry_response(1)
        proof = only_entry(response)["verification"]["inclusionProof"]
        other_key = ec.generate_private_key(ec.SECP256R1())
        proof["checkpoint"] = self.log.checkpoint(7, signing_key=other_key)
        self.assert_failed_exactly(self.verify(response), ["checkpoint.signature"])

    def test_two_signature_lines_fail(self) -> None:
        response = self.log.entry_response(5)
        proof = only_entry(response)["verification"]["inclusionProof"]
        checkpoint = proof["checkpoint"]
        signature_line = checkpoint.split("\n\n")[1]
        proof["checkpoint"] = checkpoint + signature_line
        report = self.verify(response)
        self.assertEqual(report.failed_names()[0], "checkpoint.format")
        details = {result.name: result.detail for result in report.results}
        self.assertIn("exactly one signature line", details["checkpoint.format"])

    def test_two_blank_lines_fail(self) -> None:
        response = self.log.entry_response(5)
        proof = only_entry(response)["verification"]["inclusionProof"]
        proof["checkpoint"] = proof["checkpoint"] + "\n"
        self.assertEqual(self.verify(response).failed_names()[0], "checkpoint.format")

    def test_extension_line_fails(self) -> None:
        response = self.log.entry_response(5)
        proof = only_entry(response)["verification"]["inclusionProof"]
        note, signature_line = proof["checkpoint"].split("\n\n")
        proof["checkpoint"] = f"{note}\nTimestamp: 1\n\n{signature_line}"
        self.assertEqual(self.verify(response).failed_names()[0], "checkpoint.format")

    def test_origin_without_tree_id_fails(self) -> None:
        response = self.log.entry_response(5)
        proof = only_entry(response)["verification"]["inclusionProof"]
        proof["checkpoint"] = self.log.checkpoint(7, origin=HOST)
        self.assertEqual(self.verify(response).failed_names()[0], "checkpoint.format")

    def test_wrong_tree_id_in_origin_fails(self) -> None:
        response = self.log.entry_response(6)
        proof = only_entry(response)["verification"]["inclusionProof"]
        proof["checkpoint"] = self.log.checkpoint(7, origin=f"{HOST} - {TREE_ID + 1}")
        self.assert_failed_exactly(self.verify(response), ["checkpoint.tree-id"])

    def test_unexpected_origin_host_fails(self) -> None:
        response = self.log.entry_response(6)
        report = self.verify(response, expect_origin_host="rekor.other.internal")
        self.assert_failed_exactly(report, ["checkpoint.origin-host"])

    def test_signature_name_differs_from_host_fails(self) -> None:
        response = self.log.entry_response(6)
        proof = only_entry(response)["verification"]["inclusionProof"]
        proof["checkpoint"] = self.log.checkpoint(7, name="rekor.other.internal")
        self.assertTrue(self.verify(response).passed)
        report = self.verify(response, expect_origin_host=HOST)
        self.assert_failed_exactly(report, ["checkpoint.origin-host"])

    def test_unexpected_tree_id_fails(self) -> None:
        report = self.verify(self.log.entry_response(0), expect_tree_id=TREE_ID + 1)
        self.assert_failed_exactly(report, ["entry-id.tree-id"])

    def test_body_not_matching_uuid_fails(self) -> None:
        response = self.log.entry_response(2)
        entry = only_entry(response)
        entry["body"] = base64.b64encode(self.log.bodies[3]).decode()
        entry["verification"]["signedEntryTimestamp"] = self.log.signed_entry_timestamp(
            entry["body"], 2, entry["logID"]
        )
        self.assert_failed_exactly(self.verify(response), ["entry-id.uuid", "inclusion-proof"])

    def test_noncanonical_body_fails(self) -> None:
        log = TinyLog(1)
        log.bodies[0] = json.dumps(json.loads(log.bodies[0]), indent=1).encode()
        log.leaves[0] = verifier.leaf_hash(log.bodies[0])
        report = verifier.verify_entry(log.entry_response(0), log.public_key_pem)
        self.assert_failed_exactly(report, ["body.canonical"])

    def test_wrong_log_id_fails(self) -> None:
        response = self.log.entry_response(2)
        entry = only_entry(response)
        entry["logID"] = hashlib.sha256(b"other key").hexdigest()
        entry["verification"]["signedEntryTimestamp"] = self.log.signed_entry_timestamp(
            entry["body"], 2, entry["logID"]
        )
        self.assert_failed_exactly(self.verify(response), ["log-id"])

    def test_other_log_key_fails(self) -> None:
        other_key = ec.generate_private_key(ec.SECP256R1())
        report = verifier.verify_entry(self.log.entry_response(2), public_pem(other_key))
        self.assert_failed_exactly(
            report,
            ["log-id", "signed-entry-timestamp", "checkpoint.key-hint", "checkpoint.signature"],
        )

    def test_two_keys_fail(self) -> None:
        response = self.log.entry_response(2)
        response.update(self.log.entry_response(3))
        report = self.verify(response)
        self.assertEqual(report.failed_names()[0], "response.single-key")

    def test_uppercase_entry_id_fails(self) -> None:
        ((entry_id, entry),) = self.log.entry_response(2).items()
        report = self.verify({entry_id.upper(): entry})
        self.assertEqual(report.failed_names()[0], "entry-id.format")

    def test_64_hex_entry_id_fails(self) -> None:
        ((entry_id, entry),) = self.log.entry_response(2).items()
        report = self.verify({entry_id[16:]: entry})
        self.assertEqual(report.failed_names()[0], "entry-id.format")

    def test_zero_tree_id_fails(self) -> None:
        ((entry_id, entry),) = self.log.entry_response(2).items()
        report = self.verify({"0" * 16 + entry_id[16:]: entry})
        self.assertEqual(report.failed_names()[0], "entry-id.tree-id")

    def test_tree_id_beyond_int64_fails(self) -> None:
        ((entry_id, entry),) = self.log.entry_response(2).items()
        report = self.verify({"8" + "0" * 15 + entry_id[16:]: entry})
        self.assertEqual(report.failed_names()[0], "entry-id.tree-id")

    def test_missing_field_fails(self) -> None:
        for field in ("body", "integratedTime", "logID", "logIndex", "verification"):
            with self.subTest(field):
                response = self.log.entry_response(2)
                del only_entry(response)[field]
                self.assertEqual(self.verify(response).failed_names()[0], "entry.fields")

    def test_boolean_log_index_fails(self) -> None:
        response = self.log.entry_response(1)
        only_entry(response)["logIndex"] = True
        self.assertEqual(self.verify(response).failed_names()[0], "entry.fields")

    def test_rsa_log_key_rejected(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with self.assertRaises(verifier.InputError):
            verifier.verify_entry(self.log.entry_response(0), pem)

    def test_tampered_response_leaves_input_unchanged(self) -> None:
        response = self.log.entry_response(2)
        snapshot = copy.deepcopy(response)
        self.verify(response)
        self.assertEqual(response, snapshot)


class LogInfoVerificationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.log = TinyLog(5)

    def test_valid_log_info_passes(self) -> None:
        report = verifier.verify_log_info(
            self.log.log_info(), self.log.public_key_pem, expect_origin_host=HOST
        )
        self.assertEqual(report.failed_names(), [])

    def test_root_mismatch_fails(self) -> None:
        log_info = self.log.log_info()
        log_info["rootHash"] = merkle_root(self.log.leaves[:4]).hex()
        report = verifier.verify_log_info(log_info, self.log.public_key_pem)
        self.assertEqual(report.failed_names(), ["checkpoint.tree-head"])

    def test_tree_id_mismatch_fails(self) -> None:
        log_info = self.log.log_info()
        log_info["treeID"] = str(TREE_ID + 1)
        report = verifier.verify_log_info(log_info, self.log.public_key_pem)
        self.assertEqual(report.failed_names(), ["checkpoint.tree-head"])

    def test_wrong_key_hint_fails(self) -> None:
        log_info = self.log.log_info()
        log_info["signedTreeHead"] = self.log.checkpoint(5, key_hint=b"\xff\xff\xff\xff")
        report = verifier.verify_log_info(log_info, self.log.public_key_pem)
        self.assertEqual(report.failed_names(), ["checkpoint.key-hint"])


class CommandLineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.log = TinyLog(6)
        cls.directory = tempfile.TemporaryDirectory()
        cls.key_path = cls.write("key.pem", cls.log.public_key_pem)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.directory.cleanup()

    @classmethod
    def write(cls, name: str, content: bytes) -> str:
        path = os.path.join(cls.directory.name, name)
        with open(path, "wb") as file:
            file.write(content)
        return path

    def run_script(self, *arguments: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, SCRIPT, *arguments], input=stdin, capture_output=True, check=False
        )

    def test_entry_mode_passes(self) -> None:
        path = self.write("entry.json", json.dumps(self.log.entry_response(4)).encode())
        result = self.run_script(
            "entry", path, "--public-key", self.key_path,
            "--expect-origin-host", HOST, "--expect-tree-id", str(TREE_ID),
        )
        self.assertEqual(result.returncode, 0, result.stdout.decode())
        self.assertIn(b"15 checks passed, 0 failed", result.stdout)

    def test_entry_mode_reads_stdin(self) -> None:
        entry = json.dumps(self.log.entry_response(1)).encode()
        result = self.run_script("entry", "-", "--public-key", self.key_path, stdin=entry)
        self.assertEqual(result.returncode, 0, result.stdout.decode())

    def test_entry_mode_reports_failure(self) -> None:
        response = self.log.entry_response(4)
        only_entry(response)["verification"]["inclusionProof"]["rootHash"] = "00" * 32
        path = self.write("tampered.json", json.dumps(response).encode())
        result = self.run_script("entry", path, "--public-key", self.key_path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"FAIL inclusion-proof", result.stdout)
        self.assertIn(b"FAIL checkpoint.tree-head", result.stdout)

    def test_invalid_key_exits_2(self) -> None:
        path = self.write("entry2.json", json.dumps(self.log.entry_response(0)).encode())
        bad_key = self.write("bad.pem", b"not a key")
        result = self.run_script("entry", path, "--public-key", bad_key)
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"invalid PEM public key", result.stderr)

    def test_invalid_json_exits_2(self) -> None:
        path = self.write("broken.json", b"{")
        result = self.run_script("entry", path, "--public-key", self.key_path)
        self.assertEqual(result.returncode, 2)

    def test_loginfo_mode_passes(self) -> None:
        path = self.write("loginfo.json", json.dumps(self.log.log_info()).encode())
        result = self.run_script("loginfo", path, "--public-key", self.key_path)
        self.assertEqual(result.returncode, 0, result.stdout.decode())

    def test_consistency_hashes_mode(self) -> None:
        proof = [node.hex() for node in consistency_proof(3, self.log.leaves)]
        arguments = [
            "consistency",
            "--old-size", "3", "--old-root", merkle_root(self.log.leaves[:3]).hex(),
            "--new-size", "6", "--new-root", merkle_root(self.log.leaves).hex(),
            "--hashes", *proof,
        ]
        self.assertEqual(self.run_script(*arguments).returncode, 0)
        arguments[-1] = "00" * 32
        result = self.run_script(*arguments)
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"FAIL consistency-proof", result.stdout)

    def test_consistency_equal_sizes_without_hashes(self) -> None:
        root = merkle_root(self.log.leaves).hex()
        result = self.run_script(
            "consistency", "--old-size", "6", "--old-root", root,
            "--new-size", "6", "--new-root", root, "--hashes",
        )
        self.assertEqual(result.returncode, 0, result.stdout.decode())

    def test_consistency_proof_json_mode(self) -> None:
        body = {
            "rootHash": merkle_root(self.log.leaves).hex(),
            "hashes": [node.hex() for node in consistency_proof(2, self.log.leaves)],
        }
        arguments = [
            "consistency", "--old-size", "2", "--old-root", merkle_root(self.log.leaves[:2]).hex(),
            "--new-size", "6", "--proof-json", "-",
        ]
        result = self.run_script(*arguments, stdin=json.dumps(body).encode())
        self.assertEqual(result.returncode, 0, result.stdout.decode())

        mismatched = arguments[:-2] + ["--new-root", "11" * 32, "--proof-json", "-"]
        result = self.run_script(*mismatched, stdin=json.dumps(body).encode())
        self.assertEqual(result.returncode, 1)


if __name__ == "__main__":
    unittest.main()
