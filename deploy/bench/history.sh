#!/usr/bin/env bash
# The history benchmark (deploy/bench/README.md, History): does a semester of
# sessions and authentication log slow a login down, how fast is a trace, and
# what does a retention purge cost while the load runs? On PostgreSQL only.
#
#   deploy/bench/history.sh [DURATION] [ROUNDS]     (defaults 10s, 3; ROUNDS 0 skips step 2)
#
# 1. A history database, cnhistory, is made once and kept (REFILL=1 makes it
#    again): `campusnet users seed-load` of the USERS load accounts (default
#    2000), then `campusnet history fill` (20 million closed sessions, 50
#    million log rows over 200 days for 60,000 accounts; FILL_FLAGS passes
#    other sizes). About 7 minutes and 17 GB here.
# 2. ROUNDS times, alternating: a fresh empty database (cnempty) with the
#    same load accounts, then cnhistory; on each, `campusnet serve`, an
#    unmeasured pass, VACUUM ANALYZE, then `bassim load` for MAC
#    authentication and for accounting at 16 in flight. Prints every round
#    and the median.
# 3. Trace on cnhistory (BenchmarkTraceHistory in internal/store): the
#    store's TraceSessions for an address at a moment, and for a whole day,
#    random addresses of the pool and times of the history, one caller.
# 4. A purge of the oldest PURGE_DAYS (default 30) of cnhistory (`campusnet
#    history purge` with period_days = the history's age less PURGE_DAYS)
#    while `bassim load --mode auth-mac` runs in windows of 15 s; prints
#    each window's p99. PURGE_BATCH and PURGE_PAUSE set [retention]
#    purge_batch and purge_pause (defaults: the configuration's). Each run
#    of the script purges that much more; REFILL=1 starts again.
# 5. PARTITIONS=1: what monthly partitions of auth_log would cost instead:
#    the copy into a partitioned table (the migration it would take), its
#    indexes, and dropping one month.
#
# Needs what run.sh needs. Drop the databases when done:
#   psql postgres://postgres@127.0.0.1:5432/postgres -c 'DROP DATABASE cnhistory' -c 'DROP DATABASE cnempty'
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10s}
ROUNDS=${2:-3}
USERS=${USERS:-2000}
FILL_FLAGS=${FILL_FLAGS:-}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
TMP=$(mktemp -d)
CN=
trap '[ -n "$CN" ] && kill $CN 2>/dev/null; rm -rf "$TMP"' EXIT
trap 'echo "history.sh: line $LINENO failed (exit $?)" >&2' ERR
q() { PGOPTIONS="-c client_min_messages=warning" psql -qtA "$@"; }

go build -o "$TMP/campusnet" ./cmd/campusnet
go build -o "$TMP/bassim" ./cmd/bassim
. deploy/bench/lib.sh
bench_db cnhistory
HIST=$DB
bench_db cnempty
EMPTY=$DB

echo "# $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); PostgreSQL $(q "$PG/postgres" -c 'show server_version') through $VIA; shared_buffers $(q "$PG/postgres" -c 'show shared_buffers'); $(date -u '+%F %T') UTC"
echo "# load at start:$(uptime | sed 's/.*load average//')"

if [ "${REFILL:-}" = 1 ] || [ "$(q "$PG/postgres" -c "SELECT 1 FROM pg_database WHERE datname = 'cnhistory'")" != 1 ]; then
  q "$PG/postgres" -c "DROP DATABASE IF EXISTS cnhistory" -c "CREATE DATABASE cnhistory"
  "$TMP/campusnet" users seed-load --database "$HIST" --users "$USERS" --migrate >/dev/null
  # shellcheck disable=SC2086
  "$TMP/campusnet" history fill --database "$HIST" $FILL_FLAGS | tail -n1
else
  bench_config "$HIST" > "$TMP/h.toml"
  "$TMP/campusnet" migrate --config "$TMP/h.toml" >/dev/null
fi
echo "# cnhistory: $(q "$HIST" -c "SELECT pg_size_pretty(pg_database_size(current_database())) || ' on disk; about ' ||
  (SELECT reltuples::bigint FROM pg_class WHERE relname = 'sessions') || ' sessions, ' ||
  (SELECT reltuples::bigint FROM pg_class WHERE relname = 'auth_log') || ' log rows, ' ||
  (SELECT count(*) FROM accounts) || ' accounts (the planner''s estimates after VACUUM ANALYZE)'")"

serve() { # DSN: campusnet serve on it, ready
  bench_config "$1" > "$TMP/bench.toml"
  "$TMP/campusnet" serve --config "$TMP/bench.toml" 2>"$TMP/campusnet.log" &
  CN=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:29100/healthz >/dev/null && break; sleep 0.2; done
  kill -0 $CN 2>/dev/null || { echo "campusnet serve did not start:" >&2; tail -n5 "$TMP/campusnet.log" >&2; exit 1; }
}
stop() { kill $CN; wait $CN 2>/dev/null || true; CN=; }
load() { # mode duration
  "$TMP/bassim" load --auth 127.0.0.1:21812 --acct 127.0.0.1:21813 --mode "$1" --concurrency 16 --duration "$2" --users "$USERS" 2>&1
}
rps() { echo "$1" | sed -n 's/^requests\/s *\([0-9]*\).*/\1/p' | head -n1; }
p99() { echo "$1" | sed -n 's/.*p99 *\([0-9.]*[a-zµ]*s\).*/\1/p' | head -n1; }

[ "$ROUNDS" -gt 0 ] && echo && echo "| round | database | auth-mac requests/s | auth-mac p99 | acct requests/s | acct p99 | load |"
[ "$ROUNDS" -gt 0 ] && echo "|---|---|---|---|---|---|---|"
: > "$TMP/rounds"
for round in $(seq 1 "$ROUNDS"); do
  for which in empty history; do
    if [ $which = empty ]; then
      q "$PG/postgres" -c "DROP DATABASE IF EXISTS cnempty" -c "CREATE DATABASE cnempty"
      "$TMP/campusnet" users seed-load --database "$EMPTY" --users "$USERS" --migrate >/dev/null
      dsn=$EMPTY
    else
      dsn=$HIST
    fi
    serve "$dsn"
    load auth-mac 5s >/dev/null
    load acct 5s >/dev/null
    q "$dsn" -c "VACUUM ANALYZE"
    a=$(load auth-mac "$DUR")
    c=$(load acct "$DUR")
    stop
    line="$which $(rps "$a") $(p99 "$a") $(rps "$c") $(p99 "$c")"
    echo "$line" >> "$TMP/rounds"
    # shellcheck disable=SC2086
    set -- $line
    echo "| $round | $1 | $2 | $3 | $4 | $5 | $(cut -d' ' -f1 /proc/loadavg) |"
  done
done
for which in empty history; do
  [ "$ROUNDS" -gt 0 ] || break
  med() { grep "^$which " "$TMP/rounds" | awk -v f="$1" '{print $f}' | sort -n | sed -n "$(( (ROUNDS + 1) / 2 ))p"; }
  echo "# median $which: auth-mac $(med 2) requests/s, acct $(med 4) requests/s"
done

# 3. Trace: Store.TraceSessions of an address of the pool at a moment and
# for a whole day (BenchmarkTraceHistory), one caller.
echo
echo "| trace on cnhistory (BenchmarkTraceHistory, ${DUR}) | p50 | p99 | slowest | sessions found per trace | load |"
echo "|---|---|---|---|---|---|"
CAMPUSNET_BENCH_HISTORY="$HIST" go test -run XXX -bench TraceHistory -benchtime "$DUR" ./internal/store/ |
  awk -v ld="$(cut -d' ' -f1 /proc/loadavg)" '/^BenchmarkTraceHistory\// {
    for (i = 1; i <= NF; i++) v[$(i + 1)] = $i
    what = ($1 ~ /\/at/) ? "an address at a moment" : "an address for a whole day"
    printf "| %s | %s ms | %s ms | %s ms | %s | %s |\n", what, v["p50-ms"], v["p99-ms"], v["max-ms"], v["rows/op"], ld
  }'

# 4. Purge the oldest month while MAC authentication runs.
oldest=$(q "$HIST" -c "SELECT min(stopped_at) FROM sessions WHERE status = 'closed'")
age=$(( ( $(date +%s) * 1000 - oldest ) / 86400000 ))
PURGE_DAYS=${PURGE_DAYS:-30}
if [ "$age" -gt $((PURGE_DAYS + 10)) ]; then
  keep=$((age - PURGE_DAYS))
  {
    bench_config "$HIST"
    printf '[retention]\nperiod_days = %d\naccept_short_period = true\n' "$keep"
    if [ -n "${PURGE_BATCH:-}" ]; then printf 'purge_batch = %d\n' "$PURGE_BATCH"; fi
    if [ -n "${PURGE_PAUSE:-}" ]; then printf 'purge_pause = "%s"\n' "$PURGE_PAUSE"; fi
  } > "$TMP/purge.toml"
  before=$(q "$HIST" -c "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM auth_log)")
  serve "$HIST"
  load auth-mac 5s >/dev/null
  base=$(load auth-mac 15s)
  echo
  echo "| MAC authentication at 16 in flight on cnhistory | requests/s | p99 | load |"
  echo "|---|---|---|---|"
  echo "| before the purge | $(rps "$base") | $(p99 "$base") | $(cut -d' ' -f1 /proc/loadavg) |"
  "$TMP/campusnet" history purge --config "$TMP/purge.toml" > "$TMP/purge.out" 2>&1 &
  PURGE=$!
  w=0
  while kill -0 $PURGE 2>/dev/null; do
    w=$((w + 1))
    out=$(load auth-mac 15s)
    echo "| during the purge, window $w | $(rps "$out") | $(p99 "$out") | $(cut -d' ' -f1 /proc/loadavg) |"
  done
  wait $PURGE || { cat "$TMP/purge.out" >&2; exit 1; }
  stop
  echo
  echo "# purge (period_days = $keep, history $age days old, batch ${PURGE_BATCH:-default}, pause ${PURGE_PAUSE:-default}): $(cat "$TMP/purge.out")"
  echo "# rows before $before, after $(q "$HIST" -c "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM auth_log)")"
else
  echo "# cnhistory holds less than $((PURGE_DAYS + 10)) days: REFILL=1 to purge again"
fi

# 5. Partitions of auth_log instead, for the comparison.
if [ "${PARTITIONS:-}" = 1 ]; then
  read -r lo hi < <(q "$HIST" -F' ' -c "SELECT min(at), max(at) FROM auth_log")
  month=$((30 * 86400000))
  {
    echo "\\timing on"
    echo "DROP TABLE IF EXISTS auth_log_p;"
    echo "CREATE TABLE auth_log_p (LIKE auth_log INCLUDING DEFAULTS) PARTITION BY RANGE (at);"
    for i in $(seq 0 $(( (hi - lo) / month + 1 ))); do
      echo "CREATE TABLE auth_log_p$i PARTITION OF auth_log_p FOR VALUES FROM ($((lo + i * month))) TO ($((lo + (i + 1) * month)));"
    done
    echo "\\echo copy"
    echo "INSERT INTO auth_log_p SELECT * FROM auth_log;"
    echo "\\echo indexes"
    echo "ALTER TABLE auth_log_p ADD PRIMARY KEY (id, at);"
    echo "CREATE INDEX ON auth_log_p (account_id, at);"
    echo "CREATE INDEX ON auth_log_p (username, at);"
    echo "\\echo drop a month"
    echo "DROP TABLE auth_log_p0;"
    echo "DROP TABLE auth_log_p;"
  } > "$TMP/part.sql"
  echo
  echo "# monthly partitions of auth_log ($(q "$HIST" -c "SELECT count(*) FROM auth_log") rows):"
  psql -q "$HIST" -f "$TMP/part.sql" 2>&1 | grep -E '^(copy|indexes|drop|Time)' | grep -v 'Time: [0-9]\.[0-9]* ms$' | sed 's/^/#   /'
fi
echo "# load at end:$(uptime | sed 's/.*load average//')"
