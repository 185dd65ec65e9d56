#!/usr/bin/env bash
# Vendors the console's browser assets from the npm registry, pinned (no CDN at run time:
# regional networks block them). Sourced by scripts/test.sh; run by hand after a version bump.
#   chart.js  -> api/console/static/vendor/chart.umd.min.js (committed: the console needs it)
#   axe-core  -> tests/browser/.vendor/axe.min.js (gitignored: the browser tests only)
set -euo pipefail
CHARTJS_VERSION=4.4.7
AXE_VERSION=4.10.2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_fetch() {  # package version file-in-tarball destination
  [ -f "$4" ] && grep -q "$2" "$4.version" 2>/dev/null && return 0
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && tar -xzf ./*.tgz)
  mkdir -p "$(dirname "$4")"
  cp "$tmp/package/$3" "$4"
  echo "$1@$2 (npm registry)" > "$4.version"
  rm -rf "$tmp"
}
_fetch chart.js "$CHARTJS_VERSION" dist/chart.umd.js "$root/api/console/static/vendor/chart.umd.min.js"
_fetch axe-core "$AXE_VERSION" axe.min.js "$root/tests/browser/.vendor/axe.min.js"
