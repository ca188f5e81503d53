#!/usr/bin/env bash
# Refresh the web console's copy of noVNC (src/nuage/api/web/static/novnc) from the npm registry.
# The copy is committed, so `make run` needs no Node.js: run this only to change the version.
# Usage: scripts/vendor-novnc.sh [VERSION]   (needs npm; the default is the version in use)
set -euo pipefail
VERSION="${1:-1.7.0}"
cd "$(dirname "$0")/.."
dest=src/nuage/api/web/static/novnc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@novnc/novnc@$VERSION" >/dev/null && tar -xzf novnc-novnc-*.tgz)
rm -rf "$dest"
mkdir -p "$dest"
# The ES modules the page imports (core/), their one dependency (vendor/pako) and the licence.
cp -r "$work/package/core" "$work/package/vendor" "$work/package/LICENSE.txt" "$dest/"
echo "$VERSION" >"$dest/VERSION"
echo "noVNC $VERSION vendored into $dest ($(du -sh "$dest" | cut -f1))"
