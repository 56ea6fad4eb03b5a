#!/bin/sh
# Create a database with the citus extension on a coordinator and its workers, register the workers, and turn on
# schema-based sharding for it. Idempotent. Usage:
#   infra/citus/createdb.sh [--fresh] NAME [COORDINATOR_PORT] [WORKER_PORT ...]  (defaults: 5441, then 5442 5443)
# --fresh drops the database on every node first (the test database: `test_` + the DATABASE_URL database's name).
# Connects as $PGUSER (default postgres) to $PGHOST (default 127.0.0.1) on every port.
set -eu
usage="usage: $0 [--fresh] NAME [COORDINATOR_PORT] [WORKER_PORT ...]"
fresh=0
if [ "${1:-}" = --fresh ]; then fresh=1; shift; fi
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
name=$1; shift
coordinator=${1:-5441}; [ $# -gt 0 ] && shift
workers=${*:-"5442 5443"}
host=${PGHOST:-127.0.0.1}
user=${PGUSER:-postgres}
for port in $coordinator $workers; do
    [ $fresh = 1 ] && dropdb -h "$host" -p "$port" -U "$user" --if-exists --force "$name"
    exists=$(psql -h "$host" -p "$port" -U "$user" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$name'")
    [ "$exists" = 1 ] || createdb -h "$host" -p "$port" -U "$user" "$name"
    psql -h "$host" -p "$port" -U "$user" -d "$name" -qc "CREATE EXTENSION IF NOT EXISTS citus"
done
psql -h "$host" -p "$coordinator" -U "$user" -d "$name" -v ON_ERROR_STOP=1 -qo /dev/null <<SQL
SELECT citus_set_coordinator_host('$host', $coordinator);
ALTER DATABASE "$name" SET citus.enable_schema_based_sharding = on;
SQL
for port in $workers; do
    psql -h "$host" -p "$coordinator" -U "$user" -d "$name" -v ON_ERROR_STOP=1 -qAtc \
        "SELECT citus_add_node('$host', $port) WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodeport = $port)" >/dev/null
done
psql -h "$host" -p "$coordinator" -U "$user" -d "$name" -Atc "SELECT 'nodes: ' || string_agg(nodename || ':' || nodeport || ' (group ' || groupid || ')', ', ' ORDER BY nodeport) FROM pg_dist_node"
