# Sourced by scripts/test.sh: the fault tier (tests/faults) starts private PostgreSQL clusters
# in temporary directories with the installed server's initdb and pg_ctl (never the shared
# server on 5432). Installs the server with apt when its binaries are absent.
pg_bins() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
if ! pg_bins && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing the PostgreSQL server with apt (fault tier) ..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
