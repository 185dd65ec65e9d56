# Sourced by scripts/test.sh: the official validators the contract tests (tests/contracts/) run.
# - @asyncapi/parser from the npm registry, pinned by tests/contracts/node/package-lock.json,
#   installed with `npm ci` into tests/contracts/node/node_modules when the lock file changed;
# - promtool from Debian's `prometheus` package: only the binary, unpacked into .tools/ (the
#   package itself would install and start a Prometheus service).
# - chromium (Debian) for opening /docs offline.
# They need root (apt) only when absent; without them the contract tests fail and say why.
node_dir=tests/contracts/node
node_stamp="$node_dir/node_modules/.installed-$(sha256sum "$node_dir/package-lock.json" | cut -c1-16)"
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing nodejs and npm with apt ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null) \
    || echo "could not install npm; the AsyncAPI contract test will say so" >&2
fi
if [ ! -f "$node_stamp" ] && command -v npm >/dev/null 2>&1; then
  echo "installing the AsyncAPI parser with npm ci ..." >&2
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) && touch "$node_stamp" \
    || echo "could not install @asyncapi/parser; the AsyncAPI contract test will say so" >&2
fi
if [ ! -x .tools/promtool ] && command -v apt-get >/dev/null; then
  echo "unpacking promtool from Debian's prometheus package ..." >&2
  tmp=$(mktemp -d)
  chmod 777 "$tmp"  # apt's download user writes there
  if (cd "$tmp" && { apt-get download prometheus >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; } \
        && dpkg-deb -x prometheus_*.deb root); then
    mkdir -p .tools && cp "$tmp/root/usr/bin/promtool" .tools/promtool
  else
    echo "could not get promtool; the metrics contract test will say so" >&2
  fi
  rm -rf "$tmp"
fi
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium with apt (the /docs page is opened offline) ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium; the /docs test will say so" >&2
fi
