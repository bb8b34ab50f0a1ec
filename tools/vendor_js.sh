#!/usr/bin/env bash
# Refresh the app's vendored browser files (the dashboard's d3, Swagger UI for /docs, and
# axe-core, which the Chromium tests inject to check accessibility) from the
# npm registry and rewrite their MANIFEST (sha256, file, source). Each package's LICENSE (and
# NOTICE, and a bundle's third-party licence file) lands beside its files as <package>.LICENSE,
# <package>.NOTICE and <file>.LICENSE.txt. Pinned versions: change them here, run this, commit.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=app/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# "package@version path/inside/the/package"
files=(
  "d3-array@2.12.1 dist/d3-array.min.js"
  "d3-path@1.0.9 dist/d3-path.min.js"
  "d3-shape@1.3.7 dist/d3-shape.min.js"
  "d3-sankey@0.12.3 dist/d3-sankey.min.js"
  "swagger-ui-dist@5.35.0 swagger-ui-bundle.js"
  "swagger-ui-dist@5.35.0 swagger-ui.css"
  "axe-core@4.14.1 axe.min.js"
)
{
  echo "# sha256 file source -- written by tools/vendor_js.sh; checked by tests/unit/test_vendored_assets.py"
  for entry in "${files[@]}"; do
    spec=${entry% *}
    inner=${entry#* }
    name=${spec%@*}
    file=$(basename "$inner")
    if [ ! -d "$work/$name" ]; then
      (cd "$work" && npm pack --silent "$spec" >/dev/null && mkdir -p "$name" && tar xzf "$name"-*.tgz -C "$name")
    fi
    package="$work/$name/package"
    cp "$package/$inner" "$vendor/"
    cp "$package/LICENSE" "$vendor/$name.LICENSE"
    if [ -f "$package/NOTICE" ]; then cp "$package/NOTICE" "$vendor/$name.NOTICE"; fi
    if [ -f "$package/$inner.LICENSE.txt" ]; then cp "$package/$inner.LICENSE.txt" "$vendor/"; fi
    echo "$(sha256sum "$vendor/$file" | cut -d' ' -f1) $file npm:$spec/$inner"
  done
} > "$vendor/MANIFEST"
cat "$vendor/MANIFEST"
