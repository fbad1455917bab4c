#!/usr/bin/env bash
# Installs everything the Lifeboat image holds beyond Node, as root, in the Dockerfile's runtime
# stage: the PostgreSQL client tools of every supported major (so a dump is always taken with a
# pg_dump at least as new as the server) and the server binaries (drills restore into a throwaway
# local cluster), from the PostgreSQL project's apt repository; zstd, gzip, age and sqlite3 from
# Debian; and the non-root user the image runs as.
#
# Versions come from the environment (the Dockerfile's build arguments); apt version globs such
# as "1.1.*" pin a release line while taking its security updates.
#
# IMAGE_INSTALL_SIMULATE=1 changes nothing: it only asks apt whether the Debian packages resolve
# with these pins (test/image.test.ts runs it so on any Debian bookworm machine).
set -euo pipefail

PG_MAJORS="${PG_MAJORS:-13 14 15 16 17 18}"
AGE_VERSION="${AGE_VERSION:-1.1.*}"
ZSTD_VERSION="${ZSTD_VERSION:-1.5.*}"
SQLITE_VERSION="${SQLITE_VERSION:-3.40.*}"
GZIP_VERSION="${GZIP_VERSION:-1.12*}"
LIFEBOAT_UID="${LIFEBOAT_UID:-10001}"
PGDG_URL="${PGDG_URL:-https://apt.postgresql.org/pub/repos/apt}"
PGDG_KEY_URL="${PGDG_KEY_URL:-https://www.postgresql.org/media/keys/ACCC4CF8.asc}"
SIMULATE="${IMAGE_INSTALL_SIMULATE:-0}"

export DEBIAN_FRONTEND=noninteractive
. /etc/os-release
CODENAME="${VERSION_CODENAME:?/etc/os-release names no VERSION_CODENAME}"

for major in $PG_MAJORS; do
  if ! [[ "$major" =~ ^(1[3-8])$ ]]; then
    echo "image-install: PG_MAJORS: $major is not a supported major (13-18)" >&2
    exit 2
  fi
done

apt_install() {
  if [[ "$SIMULATE" == 1 ]]; then
    apt-get install -s --no-install-recommends "$@"
  else
    apt-get install -y --no-install-recommends "$@"
  fi
}

debian_packages=(
  ca-certificates
  "zstd=$ZSTD_VERSION"
  "gzip=$GZIP_VERSION"
  "age=$AGE_VERSION"
  "sqlite3=$SQLITE_VERSION"
)

if [[ "$SIMULATE" == 1 ]]; then
  apt_install "${debian_packages[@]}"
  echo "image-install: simulated on $CODENAME: Debian packages resolve"
  exit 0
fi

apt-get update
apt_install "${debian_packages[@]}" curl gnupg

# The PostgreSQL project's repository, trusted through its own key only.
install -d -m 0755 /usr/share/postgresql-common/pgdg /etc/postgresql-common
curl -fsSL "$PGDG_KEY_URL" | gpg --dearmor -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.gpg
echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.gpg] $PGDG_URL $CODENAME-pgdg main" \
  >/etc/apt/sources.list.d/pgdg.list
# Server packages would otherwise create and start a "main" cluster at install time.
echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
apt-get update

pg_packages=()
for major in $PG_MAJORS; do
  pg_packages+=("postgresql-client-$major" "postgresql-$major")
done
apt_install "${pg_packages[@]}"

for major in $PG_MAJORS; do
  test -x "/usr/lib/postgresql/$major/bin/pg_dump" || {
    echo "image-install: no pg_dump for PostgreSQL $major" >&2
    exit 1
  }
done

apt-get purge -y --auto-remove curl gnupg
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

# The user the image runs as (the ids `lifeboat k8s render` puts in runAsUser/fsGroup), and the
# directories it writes: scratch (TMPDIR) and the serve history.
groupadd --system --gid "$LIFEBOAT_UID" lifeboat
useradd --system --uid "$LIFEBOAT_UID" --gid "$LIFEBOAT_UID" --home-dir /scratch --no-create-home \
  --shell /usr/sbin/nologin lifeboat
install -d -m 0750 -o lifeboat -g lifeboat /scratch /var/lib/lifeboat
install -d -m 0755 /etc/lifeboat
