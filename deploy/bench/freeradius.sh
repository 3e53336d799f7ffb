#!/usr/bin/env bash
# Sets up the reference peer of the benchmark: FreeRADIUS 3.2 from Debian with
# rlm_sql on the local PostgreSQL doing authorize (radcheck), Simultaneous-Use
# (radacct), post-auth (radpostauth) and accounting (radacct) — the
# "FreeRADIUS + daloRADIUS" deployment campusnet replaces. Nothing of
# FreeRADIUS is committed: it is installed from Debian and configured in a
# temporary directory.
#
#   deploy/bench/freeradius.sh start USERS [debian|trimmed]   # prints the config dir; listens on 127.0.0.1:1912/1913
#   deploy/bench/freeradius.sh stop
#
# "debian" (the default) is Debian's default site with rlm_sql switched on,
# detail file and all. "trimmed" is what a skilled operator runs for this
# work: one site with only the modules the requests need — sql (authorize
# from radcheck, Simultaneous-Use, post-auth, accounting) and pap — no
# detail file, no preprocess, files, eap, expiration or logintime, and only
# those modules instantiated.
set -euo pipefail
PGURL_HOST=${PGHOST:-127.0.0.1}
DB=${FR_DB:-frbench}
DIR=${FR_DIR:-/tmp/campusnet-bench-freeradius}
AUTH_PORT=${FR_AUTH_PORT:-1912}
ACCT_PORT=${FR_ACCT_PORT:-1913}

case "${1:-}" in
stop)
  if [ -f "$DIR/pid" ]; then kill "$(cat "$DIR/pid")" 2>/dev/null || true; rm -f "$DIR/pid"; fi
  exit 0 ;;
start) ;;
*) echo "usage: $0 start USERS | stop" >&2; exit 2 ;;
esac
USERS=${2:-1000}
SITE=${3:-debian}
case "$SITE" in debian|trimmed) ;; *) echo "$0: site must be debian or trimmed" >&2; exit 2 ;; esac

if ! command -v freeradius >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq freeradius freeradius-postgresql >/dev/null
fi
# Debian's package may start a system FreeRADIUS on 1812; the benchmark runs its own.
service freeradius stop >/dev/null 2>&1 || true

psql -q -h "$PGURL_HOST" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -q -h "$PGURL_HOST" -U postgres -d "$DB" -f /etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql
# Users: MAC authentication (User-Name = MAC, password = MAC), as campusnet's
# bound-device login, and each with Simultaneous-Use := 2 (1 PC + 1 phone).
psql -q -h "$PGURL_HOST" -U postgres -d "$DB" <<SQL
INSERT INTO radcheck (username, attribute, op, value)
SELECT 'u' || i, 'Cleartext-Password', ':=', 'pass' || i FROM generate_series(0, $USERS - 1) i;
INSERT INTO radcheck (username, attribute, op, value)
SELECT lpad(to_hex(i), 12, '0'), 'Cleartext-Password', ':=', lpad(to_hex(i), 12, '0') FROM generate_series(0, $USERS - 1) i;
INSERT INTO radcheck (username, attribute, op, value)
SELECT username, 'Simultaneous-Use', ':=', '2' FROM radcheck WHERE attribute = 'Cleartext-Password';
SQL

rm -rf "$DIR"; mkdir -p "$DIR"
cp -a /etc/freeradius/3.0/. "$DIR/raddb"
R="$DIR/raddb"
rm -f "$R/sites-enabled/inner-tunnel"
ln -sf ../mods-available/sql "$R/mods-enabled/sql"
# sql module: PostgreSQL, local, trust auth; PGHOST may name the Unix socket's
# directory (libpq takes a path as host), as run.sh does when campusnet uses it.
sed -i -e 's/^\(\s*\)dialect = "sqlite"/\1dialect = "postgresql"/' \
       -e 's/^\(\s*\)driver = "rlm_sql_null"/\1driver = "rlm_sql_${dialect}"/' \
       -e "s/^\(\s*\)radius_db = \"radius\"/\1radius_db = \"$DB\"/" \
       -e "s|^#\?\(\s*\)server = \"localhost\"|\1server = \"$PGURL_HOST\"|" \
       -e 's/^#\?\(\s*\)login = "radius"/\1login = "postgres"/' \
       -e 's/^#\?\(\s*\)password = "radpass"/\1password = ""/' "$R/mods-available/sql"
# Simultaneous-Use checking from radacct.
sed -i 's/^#\s*sql$/\tsql/' "$R/sites-available/default"
# Its own ports.
sed -i -e "0,/^\(\s*\)port = 0/s//\1port = $AUTH_PORT/" "$R/sites-available/default"
sed -i -e "0,/^\(\s*\)port = 0/s//\1port = $ACCT_PORT/" "$R/sites-available/default"
sed -i -e 's/^\(\s*\)ipaddr = \*/\1ipaddr = 127.0.0.1/' "$R/sites-available/default"
if [ "$SITE" = trimmed ]; then
  rm -f "$R"/sites-enabled/*
  # Only the modules the site uses (FreeRADIUS instantiates every enabled one).
  find "$R/mods-enabled" -mindepth 1 ! -name sql ! -name pap ! -name always ! -name expr -delete
  cat > "$R/sites-enabled/trimmed" <<SITE
server trimmed {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = $AUTH_PORT
	}
	listen {
		type = acct
		ipaddr = 127.0.0.1
		port = $ACCT_PORT
	}
	authorize {
		sql
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
	}
	session {
		sql
	}
	post-auth {
		sql
		Post-Auth-Type REJECT {
			sql
		}
	}
	preacct {
		acct_unique
	}
	accounting {
		sql
	}
}
SITE
fi
# Production settings: no debug, enough threads for the load.
sed -i -e 's/^\(\s*\)max_servers = .*/\1max_servers = 64/' -e 's/^\(\s*\)start_servers = .*/\1start_servers = 16/' "$R/radiusd.conf"
freeradius -C -d "$R" >/dev/null || { freeradius -XC -d "$R" | tail -30; exit 1; }
freeradius -f -d "$R" -l "$DIR/radius.log" </dev/null >>"$DIR/radius.log" 2>&1 &
echo $! > "$DIR/pid"
for _ in $(seq 1 50); do
  if echo "User-Name = u0, User-Password = pass0" | radclient -q -r 1 -t 1 127.0.0.1:$AUTH_PORT auth testing123 >/dev/null 2>&1; then
    echo "$DIR"; exit 0
  fi
  sleep 0.2
done
echo "FreeRADIUS did not answer; see $DIR/radius.log" >&2
exit 1
