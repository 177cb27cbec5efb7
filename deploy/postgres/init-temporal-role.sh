#!/bin/sh
# First start of the PostgreSQL volume only (docker-entrypoint-initdb.d): Temporal's own login role,
# allowed to create its two databases (temporal, temporal_visibility) and nothing in Settle's.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'pw';
REVOKE ALL ON DATABASE settle FROM PUBLIC;
SQL
