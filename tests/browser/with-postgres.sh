#!/bin/sh
# Runs the browser tests with every server's stores on PostgreSQL: starts a throwaway
# cluster in a temp directory (as the `postgres` user when run as root, since PostgreSQL
# refuses to run as root), points the tests at it with TRIFECTA_BROWSER_POSTGRES (each
# server gets a database of its own, see support.mjs), and removes the cluster afterwards.
set -eu
# The test files to run (all of them by default).
[ $# -gt 0 ] || set -- tests/browser/
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ]; then
  echo "no PostgreSQL under /usr/lib/postgresql: run make postgresql" >&2
  exit 1
fi
dir=$(mktemp -d /tmp/trifecta-browser-pg.XXXXXX)
as_owner() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
stop() {
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT INT TERM
as_owner "$bin/initdb" -A trust -U postgres --no-sync -E UTF8 -D "$dir/data" >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null
TRIFECTA_BROWSER_POSTGRES="postgres://postgres@127.0.0.1:$port" node --test --test-force-exit "$@"
