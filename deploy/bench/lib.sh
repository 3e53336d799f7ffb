# Shared by run.sh and repeat.sh (sourced, from the repository's root).

# bench_db NAME sets DB to the DSN of database NAME on the local PostgreSQL:
# through its Unix socket when it has one (SOCKET, default
# /var/run/postgresql; SOCKET= for TCP), as deploy/README.md recommends for a
# database on the same machine, else over TCP at $PG. VIA says which; PGHOST
# is exported so that psql and FreeRADIUS (freeradius.sh) take the same way.
bench_db() {
  SOCKET=${SOCKET-/var/run/postgresql}
  if [ -n "$SOCKET" ] && [ -S "$SOCKET/.s.PGSQL.5432" ]; then
    DB="postgres://postgres@/$1?host=$SOCKET&sslmode=disable"
    VIA="its Unix socket"
    export PGHOST=$SOCKET
  else
    DB="$PG/$1?sslmode=disable"
    VIA="TCP on 127.0.0.1"
  fi
}

# bench_config DSN prints campusnet's configuration for the benchmark: its
# RADIUS ports on 127.0.0.1:21812/21813, metrics on 127.0.0.1:29100, one
# dorm area (20.00 yuan, 1 PC + 1 mobile) and the load generator as its BAS.
# BENCH_RADIUS adds lines to its [radius] section, to measure a setting
# (BENCH_RADIUS='batch_gather = "0s"'). An optional second argument is
# the portal's listen address (and public URL; default 127.0.0.1:0),
# a third lines added to the BAS (its Portal protocol side).
bench_config() {
  local portal=${2:-127.0.0.1:0} public=
  [ -n "${2:-}" ] && public="public_url = \"http://$2/\""
  cat <<TOML
[server]
node_id = "bench"
database = "$1"
[portal]
listen = "$portal"
$public
notify_listen = "127.0.0.1:0"
[radius]
auth_listen = "127.0.0.1:21812"
acct_listen = "127.0.0.1:21813"
${BENCH_RADIUS:-}
[selfservice]
listen = "127.0.0.1:0"
[ops]
listen = "127.0.0.1:29100"
[[area]]
name = "dorm"
max_pc = 1
max_mobile = 1
fee = 20.00
[[nas]]
name = "bench-bras"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
${3:-}
TOML
}
