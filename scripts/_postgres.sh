# Sourced by scripts/test.sh: makes sure a PostgreSQL answers on 127.0.0.1:5432 for the
# integration tier (unless ROUTING_TEST_POSTGRES_DSN points elsewhere or Docker is there for
# testcontainers). Starts the local cluster if it is down; installs it with apt if absent.
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if [ -z "${ROUTING_TEST_POSTGRES_DSN:-}" ] && ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing PostgreSQL with apt ..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      grep -q "routing-test" "$hba" || printf 'host all all 127.0.0.1/32 trust # routing-test\n' | cat - "$hba" > "$hba.new" && mv "$hba.new" "$hba"
    done
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    done
  fi
  for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi
