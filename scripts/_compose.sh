# Sourced by scripts/test.sh: docker-compose (Debian) for the deploy tests: its `config`
# command validates deploy/compose.yaml without a Docker engine, and it ships the Compose
# Specification JSON Schema. Installed with apt when absent (as root); kubectl is optional.
if ! command -v docker-compose >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing docker-compose with apt ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null) \
    || echo "could not install docker-compose; the compose tests will say so" >&2
fi
