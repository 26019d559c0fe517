#!/usr/bin/env python3
"""Independent verifier of Rekor v1 transparency log responses.

This module is written from the Rekor v1 wire contract and the RFCs it builds on, not from the
sigstack server code, so that it can catch a server that is consistently wrong. It needs only the
standard library and the `cryptography` package.

Modes:

    verify_rekor_entry.py entry --public-key KEY.pem [--expect-origin-host HOST]
                                [--expect-tree-id ID] ENTRY.json
        Verify a LogEntry: the 201 body of POST /api/v1/log/entries or the 200 body of
        GET /api/v1/log/entries/... (a JSON object with exactly one 80-hex key).

    verify_rekor_entry.py loginfo --public-key KEY.pem [--expect-origin-host HOST] LOGINFO.json
        Verify the signed tree head in the body of GET /api/v1/log.

    verify_rekor_entry.py consistency --old-size N --old-root HEX --new-size N --new-root HEX
                                      (--hashes HEX ... | --proof-json PROOF.json)
        Verify an RFC 9162 consistency proof, for example the body of GET /api/v1/log/proof.

KEY.pem is the log's public key as GET /api/v1/log/publicKey serves it. A file name of "-" reads
standard input. Each check is printed on its own line. The exit status is 0 when every check
passes, 1 when any check fails and 2 when the input cannot be read or parsed.

Sources: RFC 6962 §2.1 (Merkle tree hashing), RFC 9162 §2.1.3.2 and §2.1.4.2 (proof verification),
RFC 8785 (JSON canonicalization) and Rekor's pkg/util/signed_note.go (checkpoint signature lines).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import hashlib
import json
import re
import sys
from typing import Any, Callable, Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

HASH_SIZE = 32
TREE_ID_HEX_LENGTH = 16
ENTRY_ID_PATTERN = re.compile(r"[0-9a-f]{80}")
HEX_HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
# Rekor v1 origins are "<hostname> - <decimal tree ID>". sigstore-go uses this shape to tell a v1
# checkpoint from a v2 one.
ORIGIN_PATTERN = re.compile(r"(?P<host>.+) - (?P<tree_id>[0-9]+)")
DECIMAL_PATTERN = re.compile(r"0|[1-9][0-9]*")
# The signature line of a signed note starts with U+2014 EM DASH and a space.
SIGNATURE_LINE_PREFIX = "\u2014 "
KEY_HINT_SIZE = 4
MAX_TREE_ID = 2**63 - 1


class CheckFailed(Exception):
    """A verification check did not pass. The message names the value that was wrong."""


class InputError(Exception):
    """An input file could not be read or parsed, so no check could run."""


# --- RFC 6962 / RFC 9162 Merkle tree ---------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion_proof(
    leaf_index: int, tree_size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> None:
    """Verify an inclusion proof of `leaf` (a leaf hash) by RFC 9162 §2.1.3.2.

    Raises CheckFailed when the proof has the wrong length or does not lead to `root`.
    """
    if tree_size < 1:
        raise CheckFailed(f"tree size {tree_size} is not positive")
    if not 0 <= leaf_index < tree_size:
        raise CheckFailed(f"leaf index {leaf_index} is outside the tree of size {tree_size}")

    fn = leaf_index
    sn = tree_size - 1
    computed = leaf
    for sibling in proof:
        if sn == 0:
            raise CheckFailed(f"proof has {len(proof)} hashes, more than the path to the root")
        if fn & 1 or fn == sn:
            computed = node_hash(sibling, computed)
            # A left child that is the last node of its level moves up without a sibling.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            computed = node_hash(computed, sibling)
        fn >>= 1
        sn >>= 1

    if sn != 0:
        raise CheckFailed(f"proof has {len(proof)} hashes, fewer than the path to the root")
    if computed != root:
        raise CheckFailed(
            f"computed root {computed.hex()} does not equal the expected root {root.hex()}"
        )


def verify_consistency_proof(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    """Verify that the tree `new_size`/`new_root` extends `old_size`/`old_root` (RFC 9162 §2.1.4.2).

    Equal sizes need an empty proof and equal roots. Size 0 is consistent with any tree when the
    proof is empty, because sigstack returns an empty proof for `firstSize=0`.
    Raises CheckFailed when the proof does not hold.
    """
    if old_size < 0 or new_size < 0:
        raise CheckFailed(f"tree sizes must not be negative: {old_size}, {new_size}")
    if old_size > new_size:
        raise CheckFailed(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise CheckFailed(f"proof between equal sizes must be empty, it has {len(proof)} hashes")
        if old_root != new_root:
            raise CheckFailed(
                f"roots differ at equal size {old_size}: {old_root.hex()} and {new_root.hex()}"
            )
        return
    if old_size == 0:
        if proof:
            raise CheckFailed(f"proof from the empty tree must be empty, it has {len(proof)} hashes")
        return
    if not proof:
        raise CheckFailed(f"proof from size {old_size} to {new_size} must not be empty")

    path = list(proof)
    # When the old tree is a complete subtree, its root is the first node of the path.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)

    fn = old_size - 1
    sn = new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1

    old_computed = path[0]
    new_computed = path[0]
    for node in path[1:]:
        if sn == 0:
            raise CheckFailed(f"proof has {len(proof)} hashes, more than the consistency path")
        if fn & 1 or fn == sn:
            old_computed = node_hash(node, old_computed)
            new_computed = node_hash(node, new_computed)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new_computed = node_hash(new_computed, node)
        fn >>= 1
        sn >>= 1

    if sn != 0:
        raise CheckFailed(f"proof has {len(proof)} hashes, fewer than the consistency path")
    if old_computed != old_root:
        raise CheckFailed(
            f"computed old root {old_computed.hex()} does not equal {old_root.hex()}"
        )
    if new_computed != new_root:
        raise CheckFailed(
            f"computed new root {new_computed.hex()} does not equal {new_root.hex()}"
        )


# --- Keys, signatures, encodings ---------------------------------------------------------------


def load_log_public_key(pem: bytes) -> ec.EllipticCurvePublicKey:
    """Load the log's PEM public key, which Rekor v1 clients require to be ECDSA P-256."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as error:
        raise InputError(f"invalid PEM public key: {error}") from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InputError(f"log public key must be ECDSA P-256, got {type(key).__name__}")
    return key


def compute_log_id(key: ec.EllipticCurvePublicKey) -> bytes:
    """Return SHA-256 of the key's DER SubjectPublicKeyInfo, the Rekor v1 log ID."""
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def verify_ecdsa_p256(key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> bool:
    """Return whether `signature` is a valid DER ECDSA signature over SHA-256(`message`)."""
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def decode_base64(text: Any, field: str) -> bytes:
    """Decode standard padded base64, raising CheckFailed that names `field`."""
    if not isinstance(text, str):
        raise CheckFailed(f"{field} must be a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise CheckFailed(f"{field} is not valid base64: {error}") from error


def decode_hex_hash(text: Any, field: str) -> bytes:
    """Decode a 64-character lowercase hex SHA-256 hash, raising CheckFailed that names `field`."""
    if not isinstance(text, str) or not HEX_HASH_PATTERN.fullmatch(text):
        raise CheckFailed(f"{field} must be 64 lowercase hex characters, got {text!r}")
    return bytes.fromhex(text)


def canonical_json(value: Any) -> bytes:
    """Serialize `value` as RFC 8785 (JCS) canonical JSON.

    json.dumps with sorted keys and no whitespace matches RFC 8785 for the values signed here:
    ASCII object keys (so code-point order equals UTF-16 order), integers, and strings whose only
    escapes are the ones both define. It is not RFC 8785 for floats, which RFC 8785 formats as
    ECMAScript does.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def parse_tree_id_hex(text: str) -> int:
    """Parse a 16-hex tree ID prefix as Rekor does (a positive int64), raising CheckFailed."""
    tree_id = int(text, 16)
    if tree_id == 0:
        raise CheckFailed(f"tree ID {text} is zero")
    if tree_id > MAX_TREE_ID:
        raise CheckFailed(f"tree ID {text} does not fit in a signed 64-bit integer")
    return tree_id


# --- Checkpoints -------------------------------------------------------------------------------


@dataclasses.dataclass
class Checkpoint:
    """A parsed Rekor v1 checkpoint: the signed note text and its one signature line."""

    note: str
    origin: str
    origin_host: str
    origin_tree_id: str
    size: int
    root: bytes
    signature_name: str
    key_hint: bytes
    signature: bytes


def parse_checkpoint(text: Any) -> Checkpoint:
    """Parse `<origin>\\n<size>\\n<b64 root>\\n\\n— <name> <b64(hint || sig)>\\n` strictly.

    Raises CheckFailed for extension lines, more than one blank line or signature line, or a
    malformed field.
    """
    if not isinstance(text, str):
        raise CheckFailed(f"checkpoint must be a string, got {type(text).__name__}")
    # sigstore-python rejects a checkpoint with more than one blank line anywhere.
    blank_lines = text.count("\n\n")
    if blank_lines != 1:
        raise CheckFailed(f"checkpoint must contain exactly one blank line, found {blank_lines}")

    note_body, signature_block = text.split("\n\n")
    note = note_body + "\n"
    note_lines = note_body.split("\n")
    if len(note_lines) != 3:
        raise CheckFailed(
            f"checkpoint note must have 3 lines (origin, size, root), found {len(note_lines)}"
        )
    origin, size_text, root_text = note_lines

    origin_match = ORIGIN_PATTERN.fullmatch(origin)
    if origin_match is None:
        raise CheckFailed(f"checkpoint origin {origin!r} does not match '<host> - <tree ID>'")
    if not DECIMAL_PATTERN.fullmatch(size_text):
        raise CheckFailed(f"checkpoint size {size_text!r} is not a decimal integer")
    root = decode_base64(root_text, "checkpoint root hash")
    if len(root) != HASH_SIZE:
        raise CheckFailed(f"checkpoint root hash has {len(root)} bytes, expected {HASH_SIZE}")

    if not signature_block.endswith("\n"):
        raise CheckFailed("checkpoint signature line does not end with a newline")
    signature_lines = signature_block[:-1].split("\n")
    if len(signature_lines) != 1:
        raise CheckFailed(
            f"checkpoint must have exactly one signature line, found {len(signature_lines)}"
        )
    signature_line = signature_lines[0]
    if not signature_line.startswith(SIGNATURE_LINE_PREFIX):
        raise CheckFailed(f"checkpoint signature line {signature_line!r} does not start with '— '")
    fields = signature_line[len(SIGNATURE_LINE_PREFIX):].split(" ")
    if len(fields) != 2 or not fields[0]:
        raise CheckFailed(
            f"checkpoint signature line {signature_line!r} is not '— <name> <base64>'"
        )
    signature_name, signature_text = fields
    signature_blob = decode_base64(signature_text, "checkpoint signature")
    if len(signature_blob) <= KEY_HINT_SIZE:
        raise CheckFailed(f"checkpoint signature has only {len(signature_blob)} bytes")

    return Checkpoint(
        note=note,
        origin=origin,
        origin_host=origin_match.group("host"),
        origin_tree_id=origin_match.group("tree_id"),
        size=int(size_text),
        root=root,
        signature_name=signature_name,
        key_hint=signature_blob[:KEY_HINT_SIZE],
        signature=signature_blob[KEY_HINT_SIZE:],
    )


# --- Reporting ---------------------------------------------------------------------------------


@dataclasses.dataclass
class CheckResult:
    """The outcome of one named check."""

    name: str
    passed: bool
    detail: str


class Report:
    """Runs named checks and collects their results, so that one failure does not hide others."""

    def __init__(self) -> None:
        self.results: list[CheckResult] = []

    def check(self, name: str, function: Callable[[], str | None]) -> None:
        """Run `function`, which returns a detail string or raises CheckFailed."""
        try:
            detail = function() or ""
        except CheckFailed as error:
            self.results.append(CheckResult(name, False, str(error)))
        else:
            self.results.append(CheckResult(name, True, detail))

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    def failed_names(self) -> list[str]:
        return [result.name for result in self.results if not result.passed]

    def print(self, stream=None) -> None:
        stream = stream or sys.stdout
        for result in self.results:
            status = "ok  " if result.passed else "FAIL"
            suffix = f": {result.detail}" if result.detail else ""
            print(f"{status} {result.name}{suffix}", file=stream)
        failed = len(self.failed_names())
        print(f"{len(self.results) - failed} checks passed, {failed} failed", file=stream)


def require(container: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Return `container[key]`, raising CheckFailed when it is missing or of the wrong JSON type."""
    if not isinstance(container, dict):
        raise CheckFailed(f"{where} must be a JSON object")
    if key not in container:
        raise CheckFailed(f"{where}.{key} is missing")
    value = container[key]
    # JSON true and false load as Python bools, which are ints too, so reject them explicitly.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise CheckFailed(f"{where}.{key} has JSON type {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


# --- Entry verification ------------------------------------------------------------------------


def verify_entry(
    response: Any,
    public_key_pem: bytes,
    expect_origin_host: str | None = None,
    expect_tree_id: int | None = None,
) -> Report:
    """Verify a Rekor v1 LogEntry response against the log's PEM public key.

    Returns a Report with one result per check. Raises InputError only for an unusable key.
    """
    key = load_log_public_key(public_key_pem)
    expected_log_id = compute_log_id(key)
    report = Report()

    # Each check reads what earlier checks parsed. A value stays None when its own check failed,
    # and every check that needs it then fails with "not checked" instead of a second cause.
    state: dict[str, Any] = {}

    def needs(*names: str) -> list[Any]:
        missing = [name for name in names if state.get(name) is None]
        if missing:
            raise CheckFailed(f"not checked because {', '.join(missing)} could not be read")
        return [state[name] for name in names]

    def check_single_key() -> str:
        if not isinstance(response, dict):
            raise CheckFailed(f"response must be a JSON object, got {type(response).__name__}")
        if len(response) != 1:
            raise CheckFailed(f"response must have exactly one key, found {len(response)}")
        ((entry_id, entry),) = response.items()
        state["entry_id"] = entry_id
        state["entry"] = entry
        return entry_id

    def check_entry_id_format() -> str:
        (entry_id,) = needs("entry_id")
        if not ENTRY_ID_PATTERN.fullmatch(entry_id):
            raise CheckFailed(f"entry ID {entry_id!r} is not 80 lowercase hex characters")
        state["entry_id_ok"] = entry_id
        return "80 lowercase hex"

    def check_tree_id() -> str:
        (entry_id,) = needs("entry_id_ok")
        tree_id = parse_tree_id_hex(entry_id[:TREE_ID_HEX_LENGTH])
        state["tree_id"] = tree_id
        if expect_tree_id is not None and tree_id != expect_tree_id:
            raise CheckFailed(f"tree ID {tree_id} does not equal the expected {expect_tree_id}")
        return f"tree ID {tree_id}"

    def check_fields() -> str:
        (entry,) = needs("entry")
        body_text = require(entry, "body", str, "entry")
        integrated_time = require(entry, "integratedTime", int, "entry")
        log_id = require(entry, "logID", str, "entry")
        log_index = require(entry, "logIndex", int, "entry")
        verification = require(entry, "verification", dict, "entry")
        set_text = require(verification, "signedEntryTimestamp", str, "verification")
        proof = require(verification, "inclusionProof", dict, "verification")
        proof_index = require(proof, "logIndex", int, "inclusionProof")
        tree_size = require(proof, "treeSize", int, "inclusionProof")
        root_text = require(proof, "rootHash", str, "inclusionProof")
        # Clients such as sigstore-python iterate `hashes`, so null is a failure, not an empty list.
        hash_texts = require(proof, "hashes", list, "inclusionProof")
        checkpoint_text = require(proof, "checkpoint", str, "inclusionProof")
        if integrated_time <= 0:
            raise CheckFailed(f"integratedTime {integrated_time} is not a positive Unix time")
        if log_index < 0 or proof_index < 0:
            raise CheckFailed(f"log indexes must not be negative: {log_index}, {proof_index}")

        state["body"] = decode_base64(body_text, "body")
        state["proof_hashes"] = [
            decode_hex_hash(text, f"inclusionProof.hashes[{position}]")
            for position, text in enumerate(hash_texts)
        ]
        state["root"] = decode_hex_hash(root_text, "inclusionProof.rootHash")
        state["signed_entry_timestamp"] = decode_base64(set_text, "signedEntryTimestamp")
        state.update(
            body_text=body_text,
            integrated_time=integrated_time,
            log_id=log_id,
            log_index=log_index,
            proof_index=proof_index,
            tree_size=tree_size,
            checkpoint_text=checkpoint_text,
        )
        return f"logIndex {log_index}, integratedTime {integrated_time}"

    def check_uuid() -> str:
        entry_id, body = needs("entry_id_ok", "body")
        expected_uuid = leaf_hash(body).hex()
        if entry_id[TREE_ID_HEX_LENGTH:] != expected_uuid:
            raise CheckFailed(
                f"entry UUID {entry_id[TREE_ID_HEX_LENGTH:]} does not equal "
                f"SHA-256(0x00 || body) {expected_uuid}"
            )
        return expected_uuid

    def check_body_canonical() -> str:
        (body,) = needs("body")
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckFailed(f"body is not JSON: {error}") from error
        if not isinstance(document, dict):
            raise CheckFailed("body is not a JSON object")
        if canonical_json(document) != body:
            raise CheckFailed("body is JSON but not in RFC 8785 canonical form")
        return f"kind {document.get('kind')!r} apiVersion {document.get('apiVersion')!r}"

    def check_log_id() -> str:
        (log_id,) = needs("log_id")
        if log_id != expected_log_id.hex():
            raise CheckFailed(
                f"logID {log_id} does not equal SHA-256 of the key's SPKI {expected_log_id.hex()}"
            )
        return log_id

    def check_signed_entry_timestamp() -> str:
        body_text, integrated_time, log_id, log_index, signature = needs(
            "body_text", "integrated_time", "log_id", "log_index", "signed_entry_timestamp"
        )
        payload = canonical_json(
            {
                "body": body_text,
                "integratedTime": integrated_time,
                "logID": log_id,
                "logIndex": log_index,
            }
        )
        if not verify_ecdsa_p256(key, signature, payload):
            raise CheckFailed("signedEntryTimestamp does not verify with the log key")
        return "ECDSA P-256 SHA-256 over the canonical JSON payload"

    def check_inclusion_proof() -> str:
        body, proof_index, tree_size, proof_hashes, root = needs(
            "body", "proof_index", "tree_size", "proof_hashes", "root"
        )
        verify_inclusion_proof(proof_index, tree_size, leaf_hash(body), proof_hashes, root)
        return f"leaf {proof_index} in tree size {tree_size}, {len(proof_hashes)} hashes"

    def check_checkpoint_format() -> str:
        (text,) = needs("checkpoint_text")
        checkpoint = parse_checkpoint(text)
        state["checkpoint"] = checkpoint
        return checkpoint.origin

    def check_checkpoint_tree_id() -> str:
        checkpoint, tree_id = needs("checkpoint", "tree_id")
        if checkpoint.origin_tree_id != str(tree_id):
            raise CheckFailed(
                f"origin tree ID {checkpoint.origin_tree_id} does not equal the entry ID's "
                f"tree ID {tree_id}"
            )
        return f"tree ID {tree_id}"

    def check_checkpoint_tree_head() -> str:
        checkpoint, tree_size, root = needs("checkpoint", "tree_size", "root")
        if checkpoint.size != tree_size:
            raise CheckFailed(
                f"checkpoint size {checkpoint.size} does not equal treeSize {tree_size}"
            )
        if checkpoint.root != root:
            raise CheckFailed(
                f"checkpoint root {checkpoint.root.hex()} does not equal rootHash {root.hex()}"
            )
        return f"size {tree_size}"

    report.check("response.single-key", check_single_key)
    report.check("entry-id.format", check_entry_id_format)
    report.check("entry-id.tree-id", check_tree_id)
    report.check("entry.fields", check_fields)
    report.check("entry-id.uuid", check_uuid)
    report.check("body.canonical", check_body_canonical)
    report.check("log-id", check_log_id)
    report.check("signed-entry-timestamp", check_signed_entry_timestamp)
    report.check("inclusion-proof", check_inclusion_proof)
    report.check("checkpoint.format", check_checkpoint_format)
    report.check("checkpoint.tree-id", check_checkpoint_tree_id)
    report.check("checkpoint.tree-head", check_checkpoint_tree_head)
    add_checkpoint_signature_checks(
        report, key, expected_log_id, lambda: needs("checkpoint")[0], expect_origin_host
    )
    return report


def add_checkpoint_signature_checks(
    report: Report,
    key: ec.EllipticCurvePublicKey,
    log_id: bytes,
    get_checkpoint: Callable[[], Checkpoint],
    expect_origin_host: str | None,
) -> None:
    """Add the key hint, signature and optional host checks of a parsed checkpoint to `report`."""

    def check_key_hint() -> str:
        checkpoint = get_checkpoint()
        if checkpoint.key_hint != log_id[:KEY_HINT_SIZE]:
            raise CheckFailed(
                f"key hint {checkpoint.key_hint.hex()} does not equal the first 4 bytes of the "
                f"log ID {log_id[:KEY_HINT_SIZE].hex()}"
            )
        return checkpoint.key_hint.hex()

    def check_signature() -> str:
        checkpoint = get_checkpoint()
        if not verify_ecdsa_p256(key, checkpoint.signature, checkpoint.note.encode("utf-8")):
            raise CheckFailed("checkpoint signature does not verify with the log key")
        return "ECDSA P-256 SHA-256 over the note text"

    def check_host() -> str:
        checkpoint = get_checkpoint()
        if checkpoint.origin_host != expect_origin_host:
            raise CheckFailed(
                f"origin host {checkpoint.origin_host!r} does not equal the expected "
                f"{expect_origin_host!r}"
            )
        if checkpoint.signature_name != expect_origin_host:
            raise CheckFailed(
                f"signature name {checkpoint.signature_name!r} does not equal the expected "
                f"{expect_origin_host!r}"
            )
        return expect_origin_host

    report.check("checkpoint.key-hint", check_key_hint)
    report.check("checkpoint.signature", check_signature)
    if expect_origin_host is not None:
        report.check("checkpoint.origin-host", check_host)


def verify_log_info(
    log_info: Any, public_key_pem: bytes, expect_origin_host: str | None = None
) -> Report:
    """Verify the signed tree head in a GET /api/v1/log response against the log's public key."""
    key = load_log_public_key(public_key_pem)
    log_id = compute_log_id(key)
    report = Report()
    state: dict[str, Any] = {}

    def get_checkpoint() -> Checkpoint:
        if state.get("checkpoint") is None:
            raise CheckFailed("not checked because the checkpoint could not be read")
        return state["checkpoint"]

    def check_fields() -> str:
        state["tree_size"] = require(log_info, "treeSize", int, "loginfo")
        state["root"] = decode_hex_hash(
            require(log_info, "rootHash", str, "loginfo"), "loginfo.rootHash"
        )
        tree_id = require(log_info, "treeID", str, "loginfo")
        if not DECIMAL_PATTERN.fullmatch(tree_id):
            raise CheckFailed(f"loginfo.treeID {tree_id!r} is not a decimal integer")
        state["tree_id"] = tree_id
        state["checkpoint_text"] = require(log_info, "signedTreeHead", str, "loginfo")
        if "inactiveShards" in log_info and not isinstance(
            log_info["inactiveShards"], (list, type(None))
        ):
            raise CheckFailed("loginfo.inactiveShards must be a list or null")
        return f"treeSize {state['tree_size']}, treeID {tree_id}"

    def check_format() -> str:
        if state.get("checkpoint_text") is None:
            raise CheckFailed("not checked because the fields could not be read")
        state["checkpoint"] = parse_checkpoint(state["checkpoint_text"])
        return state["checkpoint"].origin

    def check_tree_head() -> str:
        checkpoint = get_checkpoint()
        if checkpoint.size != state["tree_size"] or checkpoint.root != state["root"]:
            raise CheckFailed(
                f"checkpoint size and root ({checkpoint.size}, {checkpoint.root.hex()}) do not "
                f"equal loginfo treeSize and rootHash ({state['tree_size']}, {state['root'].hex()})"
            )
        if checkpoint.origin_tree_id != state["tree_id"]:
            raise CheckFailed(
                f"origin tree ID {checkpoint.origin_tree_id} does not equal treeID "
                f"{state['tree_id']}"
            )
        return f"size {checkpoint.size}"

    report.check("loginfo.fields", check_fields)
    report.check("checkpoint.format", check_format)
    report.check("checkpoint.tree-head", check_tree_head)
    add_checkpoint_signature_checks(report, key, log_id, get_checkpoint, expect_origin_host)
    return report


def verify_consistency(
    old_size: int,
    old_root_hex: str,
    new_size: int,
    new_root_hex: str,
    proof_hexes: Iterable[Any],
    proof_root_hex: str | None = None,
) -> Report:
    """Verify a consistency proof given as hex strings, with one result per check.

    `proof_root_hex` is the `rootHash` of a GET /api/v1/log/proof body, checked against the new root.
    """
    report = Report()

    def check() -> str:
        old_root = decode_hex_hash(old_root_hex, "old root")
        new_root = decode_hex_hash(new_root_hex, "new root")
        if proof_root_hex is not None and decode_hex_hash(proof_root_hex, "rootHash") != new_root:
            raise CheckFailed(
                f"proof rootHash {proof_root_hex} does not equal the new root {new_root_hex}"
            )
        proof = [
            decode_hex_hash(text, f"hashes[{position}]")
            for position, text in enumerate(proof_hexes)
        ]
        verify_consistency_proof(old_size, new_size, old_root, new_root, proof)
        return f"size {old_size} -> {new_size}, {len(proof)} hashes"

    report.check("consistency-proof", check)
    return report


# --- Command line ------------------------------------------------------------------------------


def read_input(path: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error}") from error


def read_json(path: str) -> Any:
    try:
        return json.loads(read_input(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path} is not valid JSON: {error}") from error


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Verify Rekor v1 log entries, signed tree heads and consistency proofs."
    )
    modes = parser.add_subparsers(dest="mode", required=True)

    entry = modes.add_parser("entry", help="verify a LogEntry response")
    entry.add_argument("entry", help="LogEntry JSON file, or - for standard input")
    entry.add_argument("--public-key", required=True, help="log public key PEM file")
    entry.add_argument(
        "--expect-origin-host", help="required checkpoint origin host and signature name"
    )
    entry.add_argument("--expect-tree-id", type=int, help="required tree ID (decimal)")

    log_info = modes.add_parser("loginfo", help="verify a GET /api/v1/log response")
    log_info.add_argument("loginfo", help="LogInfo JSON file, or - for standard input")
    log_info.add_argument("--public-key", required=True, help="log public key PEM file")
    log_info.add_argument(
        "--expect-origin-host", help="required checkpoint origin host and signature name"
    )

    consistency = modes.add_parser("consistency", help="verify a consistency proof")
    consistency.add_argument("--old-size", type=int, required=True, help="older tree size")
    consistency.add_argument("--old-root", required=True, help="older root hash (hex)")
    consistency.add_argument("--new-size", type=int, required=True, help="newer tree size")
    consistency.add_argument(
        "--new-root", help="newer root hash (hex), by default the rootHash of --proof-json"
    )
    source = consistency.add_mutually_exclusive_group(required=True)
    source.add_argument("--hashes", nargs="*", metavar="HEX", help="proof hashes in order")
    source.add_argument(
        "--proof-json", help="GET /api/v1/log/proof body ({rootHash, hashes}), or - for stdin"
    )
    return parser.parse_args(argv)


def run(arguments: argparse.Namespace) -> Report:
    if arguments.mode == "entry":
        return verify_entry(
            read_json(arguments.entry),
            read_input(arguments.public_key),
            arguments.expect_origin_host,
            arguments.expect_tree_id,
        )
    if arguments.mode == "loginfo":
        return verify_log_info(
            read_json(arguments.loginfo),
            read_input(arguments.public_key),
            arguments.expect_origin_host,
        )

    proof_root = None
    proof_hashes = arguments.hashes
    if arguments.proof_json is not None:
        document = read_json(arguments.proof_json)
        if not isinstance(document, dict) or not isinstance(document.get("hashes"), list):
            raise InputError(f"{arguments.proof_json} is missing the 'hashes' list")
        proof_hashes = document["hashes"]
        proof_root = document.get("rootHash")
    new_root = arguments.new_root if arguments.new_root is not None else proof_root
    if new_root is None:
        raise InputError("--new-root is required unless --proof-json has a rootHash")
    return verify_consistency(
        arguments.old_size, arguments.old_root, arguments.new_size, new_root, proof_hashes,
        proof_root,
    )


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        report = run(arguments)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report.print()
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
