#!/usr/bin/env bash
# Repeated runs of one `bassim load` mode against campusnet on PostgreSQL,
# each from a fresh database, each bracketed by probes of the machine, so
# that a slow run can be told from a slow machine (README, Benchmarks):
#
#   deploy/bench/repeat.sh MODE [CONCURRENCY] [RUNS] [DURATION] [USERS]
#                                 (defaults 16, 10, 10s, 2000)
#
# One line per run:
#   rps, p99            bassim's figures for the measured window
#   batch               requests per database transaction (the server's metric)
#   cn_us pg_us sim_us  CPU time per request of campusnet, of all PostgreSQL
#                       processes, and of bassim (its warm-up included)
#   wal_B               WAL written per request
#   core0 core1         seconds for the same Python loop pinned to each core,
#                       before / after the run (equal on a quiet machine)
#   dsync_us            one synchronous 8 kB write to PostgreSQL's disk (the
#                       mean of 300 by dd oflag=dsync), before the run
#   io_full             share of the run with every task stalled on I/O
#                       (/proc/pressure/io)
#
# Each run: a fresh database, `campusnet users seed-load`, `campusnet serve`
# (reaching PostgreSQL through its Unix socket when there is one), 5 s unmeasured
# (a freshly seeded student's first Start starts the billing cycle), VACUUM
# ANALYZE, then the measured load. Needs what run.sh needs, and python3 and
# taskset for the core probe; run it as a user who may write to
# PostgreSQL's data directory (root on the development machines) for the
# disk probe, which is skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:?usage: repeat.sh MODE [CONCURRENCY] [RUNS] [DURATION] [USERS]}
C=${2:-16}
RUNS=${3:-10}
DUR=${4:-10s}
USERS=${5:-2000}
[[ $DUR =~ ^[0-9]+s$ ]] || { echo "repeat.sh: DURATION is whole seconds, like 10s (got $DUR)" >&2; exit 2; }
PG=${PG:-postgres://postgres@127.0.0.1:5432}
TMP=$(mktemp -d)
CN=
trap '[ -n "$CN" ] && kill $CN 2>/dev/null; rm -rf "$TMP"' EXIT

go build -o "$TMP/campusnet" ./cmd/campusnet
go build -o "$TMP/bassim" ./cmd/bassim
. deploy/bench/lib.sh
bench_db cnrepeat
bench_config "$DB" > "$TMP/bench.toml"

DATADIR=$(psql -tA "$PG/postgres" -c "show data_directory" 2>/dev/null || true)
secs=${DUR%s}
hz=$(getconf CLK_TCK)
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pgticks() {
  local t=0 p v
  for p in $(pgrep -u postgres); do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo $t
}
core() { # seconds of the same loop on core $1
  { /usr/bin/time -f %e taskset -c "$1" python3 -c $'s = 0\nfor i in range(2000000): s += i' >/dev/null; } 2>&1 | tail -n1
}
dsync() {
  if [ -n "$DATADIR" ] && [ -w "$DATADIR" ]; then
    dd if=/dev/zero of="$DATADIR/repeat-probe" bs=8k count=300 oflag=dsync 2>&1 |
      awk '/copied/ {printf "%d", $(NF-3) * 1e6 / 300}'
    rm -f "$DATADIR/repeat-probe"
  else
    echo -
  fi
}
iofull() { awk -F'total=' '/^full/ {print $2}' /proc/pressure/io 2>/dev/null || echo 0; }
batch() { # requests and batches of MODE's batcher so far
  local kind=accounting
  [ "$MODE" = acct ] || kind=access
  curl -sf http://127.0.0.1:29100/metrics |
    awk -v k="kind=\"$kind\"" 'index($0, k) && /batch_size_sum/ {s=$2} index($0, k) && /batch_size_count/ {n=$2} END {print s + 0, n + 0}'
}
sim=("$TMP/bassim" load --auth 127.0.0.1:21812 --acct 127.0.0.1:21813 --mode "$MODE" --users "$USERS")

echo "# $(nproc) cores, $(uname -r), PostgreSQL $(psql -tA "$PG/postgres" -c 'show server_version'); $(date -u '+%F %T') UTC"
echo "# bassim load --mode $MODE --concurrency $C --duration $DUR --users $USERS, fresh database each run"
for run in $(seq 1 "$RUNS"); do
  PGOPTIONS="-c client_min_messages=warning" psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS cnrepeat" -c "CREATE DATABASE cnrepeat"
  "$TMP/campusnet" migrate --config "$TMP/bench.toml" >/dev/null 2>&1
  "$TMP/campusnet" users seed-load --database "$DB" --users "$USERS" >/dev/null
  "$TMP/campusnet" serve --config "$TMP/bench.toml" 2>"$TMP/campusnet.log" &
  CN=$!
  for _ in $(seq 1 50); do curl -sf http://127.0.0.1:29100/healthz >/dev/null && break; sleep 0.2; done
  kill -0 $CN 2>/dev/null || { echo "campusnet serve did not start:" >&2; tail -n5 "$TMP/campusnet.log" >&2; exit 1; }
  "${sim[@]}" --concurrency 16 --duration 5s >/dev/null 2>&1
  psql -q "$DB" -c "VACUUM ANALYZE"

  d=$(dsync); a0=$(core 0); b0=$(core 1)
  read -r bs0 bn0 < <(batch)
  w0=$(psql -tA "$DB" -c "select pg_current_wal_insert_lsn()")
  io0=$(iofull); c0=$(cputicks $CN); p0=$(pgticks)
  /usr/bin/time -f "%U %S" -o "$TMP/sim.time" "${sim[@]}" --concurrency "$C" --duration "$DUR" >"$TMP/out.txt" 2>&1
  c1=$(cputicks $CN); p1=$(pgticks); io1=$(iofull)
  wal=$(psql -tA "$DB" -c "select (pg_current_wal_insert_lsn() - '$w0'::pg_lsn)::bigint")
  read -r bs1 bn1 < <(batch)
  a1=$(core 0); b1=$(core 1)
  kill $CN; wait $CN 2>/dev/null || true
  CN=

  rps=$(sed -n 's/^requests\/s *\([0-9]*\).*/\1/p' "$TMP/out.txt" | head -n1)
  p99=$(sed -n 's/.*p99 *\([0-9.]*[a-zµ]*s\).*/\1/p' "$TMP/out.txt" | head -n1)
  if [ -z "$rps" ] || [ "$rps" = 0 ]; then
    echo "run $run: no requests answered:" >&2
    cat "$TMP/out.txt" >&2
    continue
  fi
  n=$((rps * secs))
  awk -v run="$run" -v rps="$rps" -v p99="$p99" -v n="$n" -v hz="$hz" \
    -v cn=$((c1 - c0)) -v pg=$((p1 - p0)) -v wal="$wal" \
    -v bs=$((bs1 - bs0)) -v bn=$((bn1 - bn0)) -v sim="$(cat "$TMP/sim.time")" -v secs="$secs" \
    -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" -v d="$d" -v io=$((io1 - io0)) 'BEGIN {
      split(sim, s, " ")
      printf "run %d: rps %d p99 %s batch %.1f cn_us %d pg_us %d sim_us %d wal_B %d core0 %s/%s core1 %s/%s dsync_us %s io_full %.0f%%\n",
        run, rps, p99, (bn ? bs / bn : 0), cn * 1e6 / hz / n, pg * 1e6 / hz / n,
        (s[1] + s[2]) * 1e6 / (rps * (secs + 2)), wal / n, a0, a1, b0, b1, d, io / (secs * 1e4)
    }'
done
PGOPTIONS="-c client_min_messages=warning" psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS cnrepeat"
