"""Load sigstack's client trust files with sigstore-python and check what it makes of them.

Usage: python trust_check_files.py TRUST_DIR

TRUST_DIR contains trusted_root.json, signing_config.v0.2.json and trust_config.json as
`sigstack_trust::write_trust_files` writes them. The script needs the `sigstore` package
(4.x) and exits non-zero with the client's own error when it rejects a file.
"""

import base64
import hashlib
import json
import sys
from pathlib import Path

from sigstore._internal.trust import KeyringPurpose
from sigstore.models import ClientTrustConfig, SigningConfig, TrustedRoot


def check_trusted_root(root: TrustedRoot, raw: dict) -> None:
    # Building each keyring runs the client's key parsing: an unsupported keyDetails or a
    # missing validFor.start leaves the keyring empty and raises here.
    root.rekor_keyring(KeyringPurpose.VERIFY)
    root.ct_keyring(KeyringPurpose.VERIFY)
    fulcio_certificates = root.get_fulcio_certs()
    assert fulcio_certificates, "no Fulcio certificates"
    authorities = root.get_timestamp_authorities()
    assert len(authorities) == 1, f"expected one TSA, got {len(authorities)}"

    for log in raw["tlogs"] + raw["ctlogs"]:
        spki = base64.b64decode(log["publicKey"]["rawBytes"])
        expected = base64.b64encode(hashlib.sha256(spki).digest()).decode()
        assert log["logId"]["keyId"] == expected, f"{log['baseUrl']}: log ID is not SHA-256(SPKI)"
        assert "checkpointKeyId" not in log, f"{log['baseUrl']}: unexpected checkpointKeyId"


def check_signing_config(config: SigningConfig, raw: dict) -> None:
    tlogs = config.get_tlogs()
    assert len(tlogs) == 1, f"expected one transparency log, got {tlogs}"
    assert tlogs[0].url.startswith(raw["rekorTlogUrls"][0]["url"]), tlogs[0].url
    fulcio = config.get_fulcio()
    assert fulcio.url.startswith(raw["caUrls"][0]["url"]), fulcio.url
    tsas = config.get_tsas()
    assert [tsa.url for tsa in tsas] == [raw["tsaUrls"][0]["url"]], [tsa.url for tsa in tsas]
    if raw["oidcUrls"]:
        assert config.get_oidc_url() == raw["oidcUrls"][0]["url"]


def main() -> int:
    trust_dir = Path(sys.argv[1])
    root_path = trust_dir / "trusted_root.json"
    signing_path = trust_dir / "signing_config.v0.2.json"
    config_path = trust_dir / "trust_config.json"

    check_trusted_root(TrustedRoot.from_file(str(root_path)), json.loads(root_path.read_text()))
    check_signing_config(
        SigningConfig.from_file(str(signing_path)), json.loads(signing_path.read_text())
    )

    raw_config = json.loads(config_path.read_text())
    trust_config = ClientTrustConfig.from_json(config_path.read_text())
    check_trusted_root(trust_config.trusted_root, raw_config["trustedRoot"])
    check_signing_config(trust_config.signing_config, raw_config["signingConfig"])
    print(f"sigstore-python accepted the trust files in {trust_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
