# Sourced by scripts/test.sh: Debian's Chromium and its WebDriver for the browser tier
# (tests/browser), installed when absent (as root, as CI runs). Never a browser download.
command -v chromium >/dev/null && command -v chromedriver >/dev/null \
  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)
