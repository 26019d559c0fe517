#!/usr/bin/env python3
"""Independent checks of a certificate issued by the sigstack CA, with pyca/cryptography.

Usage:
  verify_certificate.py make-csr OUT_DIR
      Write key.pem and csr.pem the way sigstore-python 4.x builds its request: an ECDSA P-256
      key, an empty subject, a critical basicConstraints CA:FALSE, signed with SHA-256.
  verify_certificate.py check EXPECTATIONS_JSON
      Check the chain, the certificate profile and the embedded SCT. EXPECTATIONS_JSON names
      the PEM chain (leaf, intermediate, root), the CT log key, and the expected identity.
      Prints "ok" and exits 0, or prints the failed check and exits 1.
"""

import datetime
import hashlib
import json
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, ObjectIdentifier
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store

SIGSTORE_ISSUER = "1.3.6.1.4.1.57264.1.1"
SIGSTORE_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
SIGSTORE_TOKEN_SUBJECT = "1.3.6.1.4.1.57264.1.24"
OTHER_NAME_SAN = "1.3.6.1.4.1.57264.1.7"


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def make_csr(out_dir):
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    with open(f"{out_dir}/key.pem", "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(f"{out_dir}/csr.pem", "wb") as f:
        f.write(csr.public_bytes(serialization.Encoding.PEM))


def der_utf8(value):
    raw = value.encode()
    expect(len(raw) < 128, "test values are expected to be shorter than 128 bytes")
    return bytes([0x0C, len(raw)]) + raw


def check_chain(leaf, intermediate, root):
    """Path validation with the WebPKI policies of sigstore-python 4.x (verify/verifier.py),
    which allow a non-critical EKU on both CA and leaf and check codeSigning separately. Only
    the root is trusted here, where sigstore-python trusts every Fulcio certificate."""
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store([root]))
        .time(leaf.not_valid_before_utc)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    verified = verifier.verify(leaf, [intermediate])
    expect(
        [c.subject for c in verified.chain] == [leaf.subject, intermediate.subject, root.subject],
        "the verified path is not leaf, intermediate, root",
    )


def check_profile(leaf, intermediate, expected):
    expect(leaf.version == x509.Version.v3, "version is not v3")
    expect(len(leaf.subject.rdns) == 0, f"subject is not empty: {leaf.subject}")
    expect(leaf.issuer == intermediate.subject, "issuer is not the intermediate's subject")
    expect(0 < leaf.serial_number < 2**159, "serial is not positive within 20 octets")
    expect(leaf.serial_number.bit_length() > 152, "serial is shorter than 20 octets")
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    expect(
        lifetime == datetime.timedelta(seconds=expected["validity_seconds"]),
        f"validity is {lifetime}",
    )
    expect(
        leaf.signature_algorithm_oid.dotted_string == "1.2.840.10045.4.3.3",
        "signature algorithm is not ecdsa-with-SHA384",
    )
    public_key = leaf.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expect(public_key.decode().strip() == expected["public_key_pem"].strip(), "public key differs")

    extensions = leaf.extensions
    oids = [e.oid.dotted_string for e in extensions]
    expect(oids == expected["extension_oids"], f"extension order is {oids}")

    key_usage = extensions.get_extension_for_class(x509.KeyUsage)
    expect(key_usage.critical, "key usage is not critical")
    usage = key_usage.value
    expect(usage.digital_signature, "key usage lacks digitalSignature")
    others = [
        usage.content_commitment, usage.key_encipherment, usage.data_encipherment,
        usage.key_agreement, usage.key_cert_sign, usage.crl_sign,
    ]
    expect(not any(others), "key usage has more than digitalSignature")

    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    expect(not eku.critical, "extended key usage is critical")
    expect(list(eku.value) == [ExtendedKeyUsageOID.CODE_SIGNING], "EKU is not codeSigning only")

    ski = extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    expect(len(ski.value.digest) == 20, "subject key identifier is not 20 bytes")
    aki = extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    issuer_ski = intermediate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    expect(aki.key_identifier == issuer_ski.digest, "AKI is not the intermediate's SKI")

    san = extensions.get_extension_for_class(x509.SubjectAlternativeName)
    expect(san.critical, "SAN is not critical")
    names = list(san.value)
    expect(len(names) == 1, f"SAN has {len(names)} names")
    kind, value = expected["san"]
    name = names[0]
    if kind == "email":
        expect(isinstance(name, x509.RFC822Name) and name.value == value, f"SAN is {name}")
    elif kind == "uri":
        expect(
            isinstance(name, x509.UniformResourceIdentifier) and name.value == value,
            f"SAN is {name}",
        )
    else:
        expect(
            isinstance(name, x509.OtherName)
            and name.type_id.dotted_string == OTHER_NAME_SAN
            and name.value == der_utf8(value),
            f"SAN is {name}",
        )

    raw = lambda oid: extensions.get_extension_for_oid(ObjectIdentifier(oid)).value.value
    expect(raw(SIGSTORE_ISSUER) == expected["issuer"].encode(), "1.1 is not the raw issuer")
    expect(raw(SIGSTORE_ISSUER_V2) == der_utf8(expected["issuer"]), "1.8 is not the issuer")
    expect(raw(SIGSTORE_TOKEN_SUBJECT) == der_utf8(expected["subject"]), "1.24 is not sub")
    for oid, value in expected.get("raw_extensions", {}).items():
        expect(raw(oid) == value.encode(), f"{oid} is {raw(oid)!r}")
    for oid, value in expected.get("utf8_extensions", {}).items():
        expect(raw(oid) == der_utf8(value), f"{oid} is {raw(oid)!r}")
    for extension in extensions:
        if extension.oid.dotted_string.startswith("1.3.6.1.4.1.57264."):
            expect(not extension.critical, f"{extension.oid.dotted_string} is critical")
    try:
        extensions.get_extension_for_class(x509.BasicConstraints)
        raise CheckFailed("basicConstraints is present")
    except x509.ExtensionNotFound:
        pass


def check_sct(leaf, intermediate, ct_key, expected):
    sct_extension = leaf.extensions.get_extension_for_class(
        x509.PrecertificateSignedCertificateTimestamps
    )
    expect(not sct_extension.critical, "SCT list is critical")
    expect(leaf.extensions[-1].oid == sct_extension.oid, "the SCT list is not the last extension")
    scts = list(sct_extension.value)
    expect(len(scts) == 1, f"{len(scts)} SCTs, sigstore-python needs exactly one")
    sct = scts[0]
    ct_spki = ct_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expect(sct.version == x509.certificate_transparency.Version.v1, "SCT is not v1")
    expect(sct.log_id == hashlib.sha256(ct_spki).digest(), "SCT log id is not SHA-256(CT key)")
    expect(
        sct.entry_type == x509.certificate_transparency.LogEntryType.PRE_CERTIFICATE,
        "SCT is not for a precertificate",
    )
    expect(isinstance(sct.signature_hash_algorithm, hashes.SHA256), "SCT hash is not SHA-256")

    # RFC 6962 §3.2: the signed struct over the precertificate TBS and the issuer key hash.
    epoch = datetime.datetime(1970, 1, 1)
    timestamp = (sct.timestamp - epoch) // datetime.timedelta(milliseconds=1)
    issuer_spki = intermediate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tbs = leaf.tbs_precertificate_bytes
    if "stored_precertificate_tbs_hex" in expected:
        expect(
            tbs.hex() == expected["stored_precertificate_tbs_hex"],
            "the precertificate TBS rebuilt from the certificate differs from the CT log entry",
        )
    signed = (
        struct.pack(">BBQH", 0, 0, timestamp, 1)
        + hashlib.sha256(issuer_spki).digest()
        + len(tbs).to_bytes(3, "big")
        + tbs
        + struct.pack(">H", len(sct.extension_bytes))
        + sct.extension_bytes
    )
    ct_key.verify(sct.signature, signed, ec.ECDSA(hashes.SHA256()))


def check(expectations_path):
    with open(expectations_path) as f:
        expected = json.load(f)
    leaf, intermediate, root = [
        x509.load_pem_x509_certificate(pem.encode()) for pem in expected["chain"]
    ]
    ct_key = serialization.load_pem_public_key(expected["ct_log_public_key_pem"].encode())
    check_chain(leaf, intermediate, root)
    check_profile(leaf, intermediate, expected)
    check_sct(leaf, intermediate, ct_key, expected)


def main():
    if sys.argv[1] == "make-csr":
        make_csr(sys.argv[2])
    elif sys.argv[1] == "check":
        try:
            check(sys.argv[2])
        except Exception as error:  # noqa: BLE001 - every failure is reported the same way
            print(f"FAILED: {type(error).__name__}: {error}")
            sys.exit(1)
        print("ok")
    else:
        sys.exit(f"unknown command {sys.argv[1]}")


if __name__ == "__main__":
    main()
