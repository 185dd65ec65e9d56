# Sourced by scripts/test.sh: Chromium and its WebDriver (Debian packages `chromium` and
# `chromium-driver`, /usr/bin/chromium and /usr/bin/chromedriver) for the tests that open pages
# in a real browser (the first-hour walkthrough's offline /docs). Installed with apt when
# absent (as root); selenium drives them, never a browser it downloads itself.
if { ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; } \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium and chromium-driver with apt ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "could not install chromium; the browser tests will say so" >&2
fi
