#!/usr/bin/env bash
# A login storm against campusnet on PostgreSQL (deploy/bench/README.md,
# "Login storms"): password logins at once, or spread over a while, half by
# RADIUS PAP and half through the portal, with a BAS's retransmissions
# (3 s × 3), beside MAC authentication at 50/s and accounting at 25
# sessions/s. Prints bassim storm's report for each storm.
#
#   deploy/bench/storm.sh [STORM…]      (default: "500" "5000/2m")
#
# A STORM is N (N logins at once) or N/DURATION (N spread evenly over
# DURATION). MAC=50 ACCT=25 set the steady rates; CAMPUSNET=path uses that
# binary (to measure another build) instead of building this tree's.
#
# Needs: Go, a local PostgreSQL with trust auth for postgres on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
STORMS=("$@")
[ ${#STORMS[@]} -gt 0 ] || STORMS=("500" "5000/2m")
MAC=${MAC:-50}
ACCT=${ACCT:-25}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT

if [ -n "${CAMPUSNET:-}" ]; then cp "$CAMPUSNET" "$TMP/campusnet"; else go build -o "$TMP/campusnet" ./cmd/campusnet; fi
if [ -n "${BASSIMBIN:-}" ]; then cp "$BASSIMBIN" "$TMP/bassim"; else go build -o "$TMP/bassim" ./cmd/bassim; fi
. deploy/bench/lib.sh
# cpu PID… is the CPU seconds (user + system) the processes have used.
cpu() { for p in "$@"; do cat /proc/$p/stat 2>/dev/null; done | awk -v hz="$(getconf CLK_TCK)" '{s+=$14+$15} END {printf "%.1f", s/hz}'; }

most=0
for s in "${STORMS[@]}"; do n=${s%%/*}; [ "$n" -gt "$most" ] && most=$n; done
USERS=$((most + 2000)) # the storm's users, and 2,000 more for MAC authentication and accounting

for s in "${STORMS[@]}"; do
  n=${s%%/*}
  spread=0s
  [ "$s" != "$n" ] && spread=${s#*/}
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS cnstorm" -c "CREATE DATABASE cnstorm"
  bench_db cnstorm
  bench_config "$DB" 127.0.0.1:28080 'portal_addr = "127.0.0.1:22000"
portal_secret = "testing123"
user_subnets = ["10.0.0.0/8"]' > "$TMP/storm.toml"
  "$TMP/campusnet" migrate --config "$TMP/storm.toml" >/dev/null 2>&1
  "$TMP/campusnet" users seed-load --database "$DB" --users "$USERS" >/dev/null
  "$TMP/campusnet" serve --config "$TMP/storm.toml" 2>"$TMP/campusnet.log" &
  CN=$!
  for _ in $(seq 1 50); do curl -sf http://127.0.0.1:29100/healthz >/dev/null && break; sleep 0.2; done
  # Every student has paid this month, as mid-month: one unmeasured pass of
  # Accounting-Start + Stop charges the fee of the steady traffic's users.
  "$TMP/bassim" load --auth 127.0.0.1:21812 --acct 127.0.0.1:21813 --mode acct --concurrency 16 --duration 5s --users "$USERS" >/dev/null
  psql -q "$DB" -c "VACUUM ANALYZE" 2>/dev/null || true
  echo "machine: $(nproc) cores, $(uname -r); PostgreSQL through $VIA; $(uptime | sed 's/.*load/load/'); $(date -u +%FT%TZ)"
  echo "hash: $("$TMP/campusnet" version 2>/dev/null | head -n1); argon2id of the seeded users: $(psql -tA "$DB" -c "select split_part(password_hash, '\$', 4) from accounts where username = 'loaduser00001'")"
  if [ -n "${PERF:-}" ]; then # PERF=FILE: perf record of campusnet serve during the storm
    perf record -q -F 499 -g -p $CN -o "$PERF.$n" 2>/dev/null &
    PERFPID=$!
  fi
  cn0=$(cpu $CN); pg0=$(cpu $(pgrep -x postgres)); hw0=$(cpu $(pgrep -P $CN))
  "$TMP/bassim" storm --auth 127.0.0.1:21812 --acct 127.0.0.1:21813 --pap $((n / 2)) --portal $((n - n / 2)) --spread "$spread" \
    --mac-rate "$MAC" --acct-rate "$ACCT" --users "$USERS" --portal-url http://127.0.0.1:28080 --portal-listen 127.0.0.1:22000 ${BASSIM:-}
  [ -n "${PERF:-}" ] && { kill -INT $PERFPID; wait $PERFPID 2>/dev/null || true; }
  echo "CPU seconds during the storm: campusnet serve $(echo "$(cpu $CN) - $cn0" | bc), its hashing worker $(echo "$(cpu $(pgrep -P $CN)) - $hw0" | bc), PostgreSQL $(echo "$(cpu $(pgrep -x postgres)) - $pg0" | bc)"
  curl -sf http://127.0.0.1:29100/metrics | grep -E '^campusnet_identity_hash|^campusnet_radius_dropped_total|^campusnet_radius_duplicates_total' || true
  echo "load after: $(uptime | sed 's/.*load/load/')"
  echo
  kill $CN; wait $CN 2>/dev/null || true
done
