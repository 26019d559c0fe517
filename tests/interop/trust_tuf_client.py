"""Fetch targets from a sigstack TUF repository with python-tuf's ngclient.

Usage: python trust_tuf_client.py --url URL --root ROOT_JSON --cache DIR [--target NAME ...]

The client bootstraps from ROOT_JSON the first time it uses DIR and keeps its trusted metadata
there, so a second run with the same DIR updates from what the first run trusted. It prints
one JSON object: the version of each trusted top-level role and, for each target, the SHA-256
of the downloaded file. Any failure (bad signature, expired metadata, hash mismatch, missing
target) exits non-zero with python-tuf's error.
"""

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

from tuf.ngclient import Updater


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="repository base URL")
    parser.add_argument("--root", required=True, help="trusted root.json to start from")
    parser.add_argument("--cache", required=True, help="directory for client state")
    parser.add_argument("--target", action="append", default=[], help="target to download")
    arguments = parser.parse_args()

    cache = Path(arguments.cache)
    metadata_dir = cache / "metadata"
    target_dir = cache / "targets"
    metadata_dir.mkdir(parents=True, exist_ok=True)
    target_dir.mkdir(parents=True, exist_ok=True)
    if not (metadata_dir / "root.json").exists():
        shutil.copyfile(arguments.root, metadata_dir / "root.json")

    base_url = arguments.url.rstrip("/")
    # python-tuf 7.0 requires `bootstrap`. None makes it start from metadata_dir/root.json.
    updater = Updater(
        metadata_dir=str(metadata_dir),
        metadata_base_url=base_url,
        target_base_url=base_url + "/targets/",
        target_dir=str(target_dir),
        bootstrap=None,
    )
    updater.refresh()

    result = {"targets": {}}
    for role in ("root", "timestamp", "snapshot", "targets"):
        document = json.loads((metadata_dir / f"{role}.json").read_text())
        result[f"{role}_version"] = document["signed"]["version"]
    for name in arguments.target:
        info = updater.get_targetinfo(name)
        if info is None:
            raise SystemExit(f"target {name} not found")
        path = updater.download_target(info, filepath=str(target_dir / name))
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        result["targets"][name] = {"sha256": digest, "custom": info.custom}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
