"""The dashboard's vendored JavaScript is exactly the published npm files listed in
app/static/vendor/MANIFEST, each with its licence: nobody edits a library by hand."""

from __future__ import annotations

import hashlib
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor"


def test_every_vendored_file_matches_its_manifest_hash_and_has_a_licence() -> None:
    manifest = {}
    for line in (VENDOR / "MANIFEST").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name, source = line.split(maxsplit=2)
            manifest[name] = (digest, source)
    scripts = {path.name for path in VENDOR.glob("*.js")}
    assert scripts == set(manifest)
    for name, (digest, source) in manifest.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
        assert source.startswith("npm:")
        assert (VENDOR / name.replace(".min.js", ".LICENSE")).is_file()
