#!/usr/bin/env python3
"""Verify CT log outputs independently of the Rust code, with Python `cryptography`.

Usage: verify_ct.py CASE.json

CASE.json contains `public_key_pem` (the log key), `entry_type` (`precert` or `x509`), `chain`
(the submitted chain, base64 DER, leaf first), `root` (base64 DER of the configured root) and
any of:
  `sct`:   an add-chain or add-pre-chain response, checked against RFC 6962 section 3.2;
  `sth`:   a get-sth response, checked against RFC 6962 section 3.5;
  `entry`: one get-entries element, checked against RFC 6962 sections 3.4 and 4.6;
  `final_certificate`: base64 DER of the certificate issued from the precertificate with the
    SCT embedded. Its TBSCertificate without the SCT list must equal the logged one, and the
    SCT must verify over it as clients verify an embedded SCT.
Every byte string that is signed or compared is rebuilt here from the certificates. Exits 1 and
prints the failed check on the first mismatch.
"""

import base64
import hashlib
import json
import struct
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


class Mismatch(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Mismatch(message)


def uint24(data):
    return len(data).to_bytes(3, "big") + data


def spki_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


POISON_OID_DER = bytes.fromhex("060a2b06010401d679020403")  # OID 1.3.6.1.4.1.11129.2.4.3


def der_element(data, offset):
    """Return (tag, header length, total length) of the DER element at `offset`."""
    tag = data[offset]
    first = data[offset + 1]
    if first < 0x80:
        return tag, 2, 2 + first
    count = first & 0x7F
    length = int.from_bytes(data[offset + 2 : offset + 2 + count], "big")
    return tag, 2 + count, 2 + count + length


def der_header(tag, length):
    if length < 0x80:
        return bytes([tag, length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(encoded)]) + encoded


def children(data):
    """Split the content of a constructed DER element into its child elements."""
    offset, parts = 0, []
    while offset < len(data):
        _, _, total = der_element(data, offset)
        parts.append(data[offset : offset + total])
        offset += total
    return parts


def tbs_without_poison(certificate_der):
    """The TBSCertificate of a precertificate with the poison extension removed (RFC 6962
    section 3.2), rebuilt with a DER walker of its own."""
    _, header, _ = der_element(certificate_der, 0)
    tbs = children(certificate_der[header:])[0]
    _, tbs_header, _ = der_element(tbs, 0)
    fields = children(tbs[tbs_header:])
    rebuilt = []
    for field in fields:
        if field[0] != 0xA3:  # [3] EXPLICIT Extensions
            rebuilt.append(field)
            continue
        _, explicit_header, _ = der_element(field, 0)
        sequence = field[explicit_header:]
        _, sequence_header, _ = der_element(sequence, 0)
        extensions = children(sequence[sequence_header:])
        kept = [extension for extension in extensions if POISON_OID_DER not in extension[:16]]
        expect(len(kept) == len(extensions) - 1, "precertificate has no poison extension")
        if kept:
            content = b"".join(kept)
            inner = der_header(0x30, len(content)) + content
            rebuilt.append(der_header(0xA3, len(inner)) + inner)
    content = b"".join(rebuilt)
    return der_header(0x30, len(content)) + content


def signed_entry(case):
    """entry_type (uint16) || signed_entry, rebuilt from the submitted chain."""
    chain = [base64.b64decode(item) for item in case["chain"]]
    if case["entry_type"] == "x509":
        return struct.pack(">H", 0) + uint24(chain[0])
    issuer_der = chain[1] if len(chain) > 1 else base64.b64decode(case["root"])
    issuer = x509.load_der_x509_certificate(issuer_der)
    issuer_key_hash = hashlib.sha256(spki_der(issuer.public_key())).digest()
    return struct.pack(">H", 1) + issuer_key_hash + uint24(tbs_without_poison(chain[0]))


def parse_digitally_signed(data, what):
    expect(len(data) >= 4, f"{what}: DigitallySigned shorter than 4 bytes")
    hash_algorithm, signature_algorithm, length = struct.unpack(">BBH", data[:4])
    expect(hash_algorithm == 4, f"{what}: hash algorithm {hash_algorithm} is not sha256 (4)")
    expect(signature_algorithm == 3, f"{what}: signature algorithm {signature_algorithm} is not ecdsa (3)")
    expect(len(data) == 4 + length, f"{what}: DigitallySigned length {length} does not match {len(data) - 4}")
    return data[4:]


def verify(public_key, signature, message, what):
    try:
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Mismatch(f"{what}: signature does not verify")


def check_sct(case, public_key):
    sct = case["sct"]
    expect(sct["sct_version"] == 0, "sct: sct_version is not v1 (0)")
    log_id = hashlib.sha256(spki_der(public_key)).digest()
    expect(base64.b64decode(sct["id"]) == log_id, "sct: id is not SHA-256 of the log key's SubjectPublicKeyInfo")
    expect(sct["extensions"] == "", "sct: extensions are not empty")
    message = struct.pack(">BBQ", 0, 0, sct["timestamp"]) + signed_entry(case) + struct.pack(">H", 0)
    signature = parse_digitally_signed(base64.b64decode(sct["signature"]), "sct")
    verify(public_key, signature, message, "sct")
    print("sct ok")


def check_sth(case, public_key):
    sth = case["sth"]
    root_hash = base64.b64decode(sth["sha256_root_hash"])
    expect(len(root_hash) == 32, "sth: sha256_root_hash is not 32 bytes")
    message = struct.pack(">BBQQ", 0, 1, sth["timestamp"], sth["tree_size"]) + root_hash
    signature = parse_digitally_signed(base64.b64decode(sth["tree_head_signature"]), "sth")
    verify(public_key, signature, message, "sth")
    print("sth ok")


def check_entry(case):
    entry = case["entry"]
    leaf_input = base64.b64decode(entry["leaf_input"])
    expect(leaf_input[:2] == b"\x00\x00", "entry: MerkleTreeLeaf does not start with version v1, timestamped_entry")
    (timestamp,) = struct.unpack(">Q", leaf_input[2:10])
    if "timestamp" in case:
        expect(timestamp == case["timestamp"], f"entry: timestamp {timestamp} is not the SCT's {case['timestamp']}")
    expected_leaf = b"\x00\x00" + struct.pack(">Q", timestamp) + signed_entry(case) + struct.pack(">H", 0)
    expect(leaf_input == expected_leaf, "entry: leaf_input differs from the MerkleTreeLeaf rebuilt from the chain")

    chain = [base64.b64decode(item) for item in case["chain"]]
    root = base64.b64decode(case["root"])
    issuers = chain[1:] if chain[-1] == root else chain[1:] + [root]
    certificate_chain = uint24(b"".join(uint24(certificate) for certificate in issuers))
    if case["entry_type"] == "precert":
        expected_extra = uint24(chain[0]) + certificate_chain
    else:
        expected_extra = certificate_chain
    expect(base64.b64decode(entry["extra_data"]) == expected_extra, "entry: extra_data differs from the chain ending at the root")
    print("entry ok")


def check_final_certificate(case, public_key):
    final = x509.load_der_x509_certificate(base64.b64decode(case["final_certificate"]))
    # `tbs_precertificate_bytes` is the TBSCertificate without the embedded SCT list extension.
    final_tbs = final.tbs_precertificate_bytes
    leaf_input = base64.b64decode(case["entry"]["leaf_input"])
    expect(leaf_input[10:12] == b"\x00\x01", "final: logged entry is not a precert_entry")
    logged_length = int.from_bytes(leaf_input[44:47], "big")
    logged_tbs = leaf_input[47 : 47 + logged_length]
    expect(final_tbs == logged_tbs, "final: TBSCertificate without the SCT list differs from the logged one")
    issuer = x509.load_der_x509_certificate(base64.b64decode(case["chain"][1]))
    issuer_key_hash = hashlib.sha256(spki_der(issuer.public_key())).digest()
    sct = case["sct"]
    message = (
        struct.pack(">BBQH", 0, 0, sct["timestamp"], 1)
        + issuer_key_hash
        + uint24(final_tbs)
        + struct.pack(">H", 0)
    )
    signature = parse_digitally_signed(base64.b64decode(sct["signature"]), "final")
    verify(public_key, signature, message, "final: embedded SCT")
    print("final ok")


def main():
    with open(sys.argv[1]) as file:
        case = json.load(file)
    public_key = serialization.load_pem_public_key(case["public_key_pem"].encode())
    try:
        if "sct" in case:
            check_sct(case, public_key)
        if "sth" in case:
            check_sth(case, public_key)
        if "entry" in case:
            check_entry(case)
        if "final_certificate" in case:
            check_final_certificate(case, public_key)
    except Mismatch as error:
        print(f"FAILED: {error}")
        sys.exit(1)


if __name__ == "__main__":
    main()
