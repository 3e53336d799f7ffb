#!/usr/bin/env bash
# Cold start (deploy/bench/README.md, "Cold start"): a fresh install —
# empty sessions, reservations and log tables, freshly seeded accounts —
# under MAC authentication or accounting at 16 in flight from the first
# second; prints requests/s and p99 every WINDOW for DURATION, so the
# first windows can be compared with the steady ones.
#
#   deploy/bench/coldstart.sh [MODE] [AUTOVACUUM] [DURATION] [WINDOW] [USERS]
#   (defaults auth-mac on 60s 5s 2000; AUTOVACUUM off turns it off for the
#   database's tables, as on machines where it is off)
#
# CAMPUSNET=path measures that binary instead of this tree's.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-auth-mac}
AV=${2:-on}
DUR=${3:-60s}
WIN=${4:-5s}
USERS=${5:-2000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
if [ -n "${CAMPUSNET:-}" ]; then cp "$CAMPUSNET" "$TMP/campusnet"; else go build -o "$TMP/campusnet" ./cmd/campusnet; fi
go build -o "$TMP/bassim" ./cmd/bassim
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS cncold" -c "CREATE DATABASE cncold"
. deploy/bench/lib.sh
# cpu PID… is the CPU seconds (user + system) the processes have used.
cpu() { for p in "$@"; do cat /proc/$p/stat 2>/dev/null; done | awk -v hz="$(getconf CLK_TCK)" '{s+=$14+$15} END {printf "%.2f", s/hz}'; }
bench_db cncold
bench_config "$DB" > "$TMP/bench.toml"
"$TMP/campusnet" migrate --config "$TMP/bench.toml" >/dev/null 2>&1
if [ "$AV" = off ]; then
  psql -qtA "$DB" -c "select 'ALTER TABLE ' || quote_ident(tablename) || ' SET (autovacuum_enabled = false);' from pg_tables where schemaname = 'public'" | psql -q "$DB"
fi
"$TMP/campusnet" users seed-load --database "$DB" --users "$USERS" >/dev/null
"$TMP/campusnet" serve --config "$TMP/bench.toml" 2>"$TMP/campusnet.log" &
CN=$!
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:29100/healthz >/dev/null && break; sleep 0.2; done
echo "cold start: $MODE, autovacuum $AV, $USERS users; $(nproc) cores; $(uptime | sed 's/.*load/load/')"
end=$(( $(date +%s) + ${DUR%s} ))
t=0
while [ "$(date +%s)" -lt "$end" ]; do
  pg0=$(cpu $(pgrep -x postgres))
  out=$("$TMP/bassim" load --auth 127.0.0.1:21812 --acct 127.0.0.1:21813 --mode "$MODE" --concurrency 16 --duration "$WIN" --warmup 0s --users "$USERS" 2>&1)
  pg=$(echo "$(cpu $(pgrep -x postgres)) - $pg0" | bc); case $pg in -*) pg=0;; esac # a backend that ended takes its CPU time along
  sent=$(echo "$out" | sed -n 's/^sent \([0-9]*\).*/\1/p')
  printf '%4ss  %5s requests/s  p99 %-10s PostgreSQL CPU %s µs/request\n' "$t" "$(echo "$out" | sed -n 's/^requests\/s \([0-9]*\).*/\1/p')" \
    "$(echo "$out" | sed -n 's/.*p99 \([^ ]*\).*/\1/p')" "$(echo "$pg * 1000000 / ($sent + 1)" | bc)"
  t=$(( t + ${WIN%s} ))
done
echo "analyzed by campusnet: $(grep -c 'analyzed grown' "$TMP/campusnet.log" || true) times; $(uptime | sed 's/.*load/load/')"
