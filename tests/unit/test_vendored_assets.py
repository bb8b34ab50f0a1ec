"""The app's vendored browser files (the dashboard's d3, Swagger UI for /docs) are exactly the
published npm files listed in app/static/vendor/MANIFEST, each with its package's licence:
nobody edits a library by hand."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor"
NPM_SOURCE = re.compile(r"^npm:(?P<package>[a-z0-9-]+)@\d+\.\d+\.\d+/(?P<path>[\w./-]+)$")


def test_every_vendored_file_matches_its_manifest_hash_and_has_a_licence() -> None:
    manifest = {}
    for line in (VENDOR / "MANIFEST").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name, source = line.split(maxsplit=2)
            manifest[name] = (digest, source)
    served = {path.name for pattern in ("*.js", "*.css") for path in VENDOR.glob(pattern)}
    assert served == set(manifest)
    assert {"d3-sankey.min.js", "swagger-ui-bundle.js", "swagger-ui.css", "axe.min.js"} <= served
    for name, (digest, source) in manifest.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
        found = NPM_SOURCE.match(source)
        assert found, source
        assert found["path"].rsplit("/", 1)[-1] == name
        assert (VENDOR / f"{found['package']}.LICENSE").is_file(), name
