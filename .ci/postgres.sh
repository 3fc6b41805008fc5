#!/usr/bin/env bash
# Install PostgreSQL from the distribution's packages (if missing), start a cluster of our own on 127.0.0.1 and
# print the environment the service tests need:
#
#     eval "$(.ci/postgres.sh)"     # exports SKYFENCE_TEST_POSTGRES_URL=postgresql://skyfence:...@127.0.0.1:PORT/skyfence
#
# Idempotent: a second run reuses the cluster (and sets a fresh password).  Needs root or password-less sudo.
# Durability settings are PostgreSQL's defaults (fsync=on, synchronous_commit=on) and stated explicitly.
# Everything but the final export line goes to stderr.
set -euo pipefail

PORT="${SKYFENCE_PG_PORT:-54329}"
CLUSTER="skyfence-ci"
ROLE="skyfence"
DATABASE="skyfence"

log() { echo "postgres.sh: $*" >&2; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}

if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
    log "needs root or password-less sudo to install and start PostgreSQL"
    exit 1
fi

if ! command -v pg_createcluster >/dev/null 2>&1; then
    log "installing postgresql from the distribution's packages"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if [ -z "$VERSION" ]; then
    log "no PostgreSQL server found under /usr/lib/postgresql after installing"
    exit 1
fi

if ! pg_lsclusters --no-header 2>/dev/null | awk '{print $1 " " $2}' | grep -qx "$VERSION $CLUSTER"; then
    log "creating cluster $VERSION/$CLUSTER on 127.0.0.1:$PORT"
    as_root pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" \
        -- --auth-local=peer --auth-host=scram-sha-256 >&2
fi
# Loopback only; durable commits (the defaults, stated so nobody "speeds up" CI by turning them off).
as_root sed -i '/^listen_addresses/d' "/etc/postgresql/$VERSION/$CLUSTER/postgresql.conf"
as_root mkdir -p "/etc/postgresql/$VERSION/$CLUSTER/conf.d"
as_root tee "/etc/postgresql/$VERSION/$CLUSTER/conf.d/skyfence.conf" >/dev/null <<'CONF'
listen_addresses = '127.0.0.1'
fsync = on
synchronous_commit = on
max_connections = 200
CONF

if ! pg_lsclusters --no-header | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}' | grep -qx online; then
    log "starting cluster $VERSION/$CLUSTER"
    as_root pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
    sleep 0.5
done
if ! pg_isready -q -h 127.0.0.1 -p "$PORT"; then
    log "PostgreSQL did not become ready on 127.0.0.1:$PORT within 30 s (see /var/log/postgresql/)"
    exit 1
fi

PASSWORD="$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
as_postgres psql --quiet -v ON_ERROR_STOP=1 -p "$PORT" -d postgres >&2 <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN CREATEDB;
    END IF;
END
\$\$;
ALTER ROLE $ROLE PASSWORD '$PASSWORD';
-- The tests drop each test database WITH (FORCE), which must also end an autovacuum worker that happens to be in
-- it (PostgreSQL 15 asks for pg_signal_backend for that; without it the drop fails now and then under load).
GRANT pg_signal_backend TO $ROLE;
SQL
if ! as_postgres psql -tA -p "$PORT" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -qx 1; then
    as_postgres createdb -p "$PORT" -O "$ROLE" "$DATABASE" >&2
fi

log "PostgreSQL $VERSION ready on 127.0.0.1:$PORT (database $DATABASE, role $ROLE)"
echo "export SKYFENCE_TEST_POSTGRES_URL=postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
