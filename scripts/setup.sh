#!/usr/bin/env bash
# Installs what Lifeboat needs on a fresh Debian/Ubuntu machine, then builds it.
#   bash scripts/setup.sh          # to run Lifeboat and the demo
#   bash scripts/setup.sh --test   # also what the test suite needs
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=false
[ "${1:-}" = "--test" ] && want_tests=true

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to install: $*" >&2
    exit 1
  fi
}

packages=()
# PostgreSQL client tools (pg_dump, psql …) and server binaries (demo, drills, tests), with contrib.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql postgresql-contrib)
ls /usr/lib/postgresql/*/bin/pg_dump >/dev/null 2>&1 || packages+=(postgresql-client)
command -v zstd >/dev/null || packages+=(zstd)
# age: encrypts artifacts after compression (jobs.*.encryption) and decrypts them on restore.
command -v age >/dev/null || packages+=(age)
command -v gzip >/dev/null || packages+=(gzip)
if $want_tests; then
  command -v pkill >/dev/null || packages+=(procps)
  command -v mount >/dev/null || packages+=(mount)
  # The dashboard test drives Debian's chromium through playwright-core.
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  command -v pgbench >/dev/null || ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || packages+=(postgresql-contrib)
  # A real S3 server for the S3 tests: Ceph radosgw on one node (scripts/ceph-rgw/start.sh).
  command -v radosgw >/dev/null || packages+=(radosgw)
  command -v ceph-mon >/dev/null || packages+=(ceph-mon)
  command -v ceph-osd >/dev/null || packages+=(ceph-osd)
  command -v curl >/dev/null || packages+=(curl)
  # The signing tests check Lifeboat's manifest signatures by hand, as the README shows.
  command -v minisign >/dev/null || packages+=(minisign)
fi

if [ ${#packages[@]} -gt 0 ]; then
  echo "setup: installing ${packages[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  # Debian's package creates and starts a default cluster; Lifeboat's demo and tests make their own.
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
