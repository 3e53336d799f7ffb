#!/usr/bin/env bash
# The benchmark of README.md (Benchmarks) and deploy/bench/README.md: the same `bassim load`
# against campusnet on PostgreSQL and against FreeRADIUS 3.2 + rlm_sql on the
# same PostgreSQL, on this machine, in one run. Prints a Markdown table.
#
#   deploy/bench/run.sh [DURATION] [USERS]      (defaults 10s, 2000)
#
# RUNS=N (default 3) measures each row N times, each from vacuumed tables,
# and reports the run with the median requests/s, with the lowest and
# highest: on a shared 2-core machine one run can be 30% off the next.
#
# Needs: Go, a local PostgreSQL with trust auth for postgres on 127.0.0.1
# (as on the development machines), apt for FreeRADIUS (installed by
# freeradius.sh; nothing of it is committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10s}
USERS=${2:-2000}
RUNS=${RUNS:-3}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; deploy/bench/freeradius.sh stop; rm -rf "$TMP"' EXIT

go build -o "$TMP/campusnet" ./cmd/campusnet
go build -o "$TMP/bassim" ./cmd/bassim
psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS cnbench" -c "CREATE DATABASE cnbench"
# Both servers reach PostgreSQL the same way: its Unix socket when it has
# one here (lib.sh, bench_db).
. deploy/bench/lib.sh
bench_db cnbench
bench_config "$DB" > "$TMP/bench.toml"
"$TMP/campusnet" migrate --config "$TMP/bench.toml" >/dev/null
"$TMP/campusnet" users seed-load --database "$DB" --users "$USERS" >/dev/null
"$TMP/campusnet" serve --config "$TMP/bench.toml" 2>"$TMP/campusnet.log" &
CN=$!
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:29100/healthz >/dev/null && break; sleep 0.2; done

# Autovacuum may be off (it is on the development machines): every run starts
# from vacuumed, analysed tables, for campusnet and FreeRADIUS alike.
VACUUM_DB="$DB"
load() { # server-auth server-acct mode concurrency [bassim flags…]
  psql -q "$VACUUM_DB" -c "VACUUM ANALYZE" 2>/dev/null || true
  "$TMP/bassim" load --auth "$1" --acct "$2" --mode "$3" --concurrency "$4" --duration "$DUR" --users "$USERS" "${@:5}" 2>&1
}
rps() { echo "$1" | sed -n 's/.*requests\/s[: ]*\([0-9.,]*\).*/\1/p' | head -n1 | tr -d ,; }
p99() { echo "$1" | sed -n 's/.*p99[: =]*\([0-9.]*[a-zµ]*s\).*/\1/p' | head -n1; }
# measure LABEL load-args…: RUNS runs; the row of the median one, with the range.
measure() {
  local label=$1 out lines=""
  shift
  for _ in $(seq 1 "$RUNS"); do
    out=$(load "$@")
    lines+="$(rps "$out") $(p99 "$out")"$'\n'
  done
  local sorted median low high
  sorted=$(printf '%s' "$lines" | sort -n)
  median=$(echo "$sorted" | sed -n "$(( (RUNS + 1) / 2 ))p")
  low=$(echo "$sorted" | head -n1 | cut -d' ' -f1)
  high=$(echo "$sorted" | tail -n1 | cut -d' ' -f1)
  echo "| $label | ${median%% *} ($low–$high) | ${median#* } |"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); PostgreSQL $(psql -tA "$PG/postgres" -c 'show server_version') reached through $VIA; $(date -u +%F)"
echo
echo "| load (duration $DUR, $USERS users; median of $RUNS runs) | requests/s (lowest–highest) | p99 of the median run |"
echo "|---|---|---|"
for mode in auth-mac acct; do
  # Unmeasured first pass: a freshly seeded student's first MAC
  # authentication inserts a reservation, and the first Accounting-Start
  # starts the month's billing cycle (a fee charged, its own transaction).
  # Measured runs see the steady state, where students have paid.
  load 127.0.0.1:21812 127.0.0.1:21813 $mode 16 >/dev/null
  for c in 16 64; do
    measure "campusnet $mode, concurrency $c" 127.0.0.1:21812 127.0.0.1:21813 $mode $c
  done
done

# Memory with 100,000 sessions online.
psql -q "$DB" <<SQL
INSERT INTO accounts (username, name, role, balance_fen, created_at, updated_at)
SELECT 'mem' || i, '', 'student', 0, 0, 0 FROM generate_series(1, 100000) i;
INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, acct_session_id, correlation, started_at, last_update_at)
SELECT a.id, a.username, 'bench-bras', 'dorm', '', '', 'pc', 'online', 'mem-' || a.id, 'mem-' || a.id,
       (extract(epoch from now()) * 1000)::bigint, (extract(epoch from now()) * 1000)::bigint
FROM accounts a WHERE a.username LIKE 'mem%';
SQL
load 127.0.0.1:21812 127.0.0.1:21813 mixed 16 >/dev/null
curl -sf http://127.0.0.1:29100/metrics >/dev/null
rss=$(awk '/VmRSS/ {print $2}' /proc/$CN/status)
echo "| campusnet resident memory with 100,000 sessions online (after a mixed load and a /metrics scrape) | $((rss / 1024)) MiB | |"
kill $CN; wait $CN 2>/dev/null || true

# The peer.
deploy/bench/freeradius.sh start "$USERS" "${FR_SITE:-trimmed}" >/dev/null
VACUUM_DB="$PG/frbench"
psql -q "$PG/frbench" <<SQL
INSERT INTO radcheck (username, attribute, op, value)
SELECT m, 'Cleartext-Password', ':=', m FROM (
  SELECT upper('02-4c-00-' || lpad(to_hex((i >> 16) & 255), 2, '0') || '-' || lpad(to_hex((i >> 8) & 255), 2, '0') || '-' || lpad(to_hex(i & 255), 2, '0')) m
  FROM generate_series(0, $USERS) i) x;
SQL
for mode in auth-mac acct; do
  load 127.0.0.1:1912 127.0.0.1:1913 $mode 16 --accept-no-message-authenticator >/dev/null # as for campusnet
  for c in 16 64; do
    # FreeRADIUS 3.2.1 (Debian 12) predates the BlastRADIUS fixes: its
    # replies carry no Message-Authenticator, which bassim otherwise refuses.
    measure "FreeRADIUS 3.2 + rlm_sql (${FR_SITE:-trimmed} site) $mode, concurrency $c" 127.0.0.1:1912 127.0.0.1:1913 $mode $c --accept-no-message-authenticator
  done
done
