# Sourced by .ci/run: starts a throwaway PostgreSQL cluster on 127.0.0.1 and
# exports RCT_TEST_POSTGRES for the store's backend tests.
PGVER=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
PGBIN=/usr/lib/postgresql/$PGVER/bin
PGDATA=${RCT_PGDATA:-/tmp/rct-ci-pg}
PGPORT=${RCT_PGPORT:-54329}
if ! [ -f "$PGDATA/PG_VERSION" ]; then
  rm -rf "$PGDATA"; mkdir -p "$PGDATA"; chown postgres "$PGDATA"
  su postgres -c "$PGBIN/initdb -D $PGDATA -A trust -U postgres" >/dev/null
fi
if ! su postgres -c "$PGBIN/pg_ctl -D $PGDATA status" >/dev/null 2>&1; then
  su postgres -c "$PGBIN/pg_ctl -D $PGDATA -l $PGDATA/log -o '-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200' -w start" >/dev/null
fi
export RCT_TEST_POSTGRES="postgres://postgres@127.0.0.1:$PGPORT/postgres"
echo "RCT_TEST_POSTGRES=$RCT_TEST_POSTGRES"
