#!/usr/bin/env bash
# Refresh the dashboard's vendored JavaScript from the npm registry and rewrite its
# MANIFEST (sha256, file, source). Pinned versions: change them here, run this, commit.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=app/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
packages=(d3-array@2.12.1 d3-path@1.0.9 d3-shape@1.3.7 d3-sankey@0.12.3)
{
  echo "# sha256 file source -- written by tools/vendor_js.sh; checked by tests/unit/test_vendored_assets.py"
  for spec in "${packages[@]}"; do
    name=${spec%@*}
    (cd "$work" && npm pack --silent "$spec" >/dev/null && mkdir -p "$name" && tar xzf "$name"-*.tgz -C "$name")
    cp "$work/$name/package/dist/$name.min.js" "$vendor/"
    cp "$work/$name/package/LICENSE" "$vendor/$name.LICENSE"
    echo "$(sha256sum "$vendor/$name.min.js" | cut -d' ' -f1) $name.min.js npm:$spec/dist/$name.min.js"
  done
} > "$vendor/MANIFEST"
cat "$vendor/MANIFEST"
