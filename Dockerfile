# syntax=docker/dockerfile:1
# The Lifeboat image: Node, the PostgreSQL client tools of every supported major (13-18) and the
# server binaries for local drills, zstd, gzip, age and sqlite3; runs as a non-root user with a
# read-only root filesystem in mind (scratch space is /scratch, TMPDIR in the rendered manifests).
#   docker build -t lifeboat:0.1.0 --build-arg LIFEBOAT_VERSION=0.1.0 --build-arg VCS_REF=$(git rev-parse HEAD) .
# Every version is a build argument; the install steps live in scripts/image-install.sh.

ARG NODE_VERSION=24.21.0
ARG DEBIAN_RELEASE=bookworm

# --- build: compile TypeScript, then keep only the runtime dependencies ---
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime ---
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS runtime
ARG PG_MAJORS="13 14 15 16 17 18"
ARG AGE_VERSION="1.1.*"
ARG ZSTD_VERSION="1.5.*"
ARG SQLITE_VERSION="3.40.*"
ARG GZIP_VERSION="1.12*"
ARG LIFEBOAT_UID=10001
ARG LIFEBOAT_VERSION=0.1.0
ARG VCS_REF=unknown
ARG BUILD_DATE=unknown

LABEL org.opencontainers.image.title="lifeboat" \
      org.opencontainers.image.description="Backs up PostgreSQL and the state around it, and proves on a schedule that the backups restore." \
      org.opencontainers.image.version="${LIFEBOAT_VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim"

COPY scripts/image-install.sh /usr/local/lib/lifeboat/image-install.sh
RUN PG_MAJORS="${PG_MAJORS}" AGE_VERSION="${AGE_VERSION}" ZSTD_VERSION="${ZSTD_VERSION}" \
    SQLITE_VERSION="${SQLITE_VERSION}" GZIP_VERSION="${GZIP_VERSION}" LIFEBOAT_UID="${LIFEBOAT_UID}" \
    /usr/local/lib/lifeboat/image-install.sh

COPY --from=build /src/package.json /opt/lifeboat/package.json
COPY --from=build /src/node_modules /opt/lifeboat/node_modules
COPY --from=build /src/dist /opt/lifeboat/dist
RUN chmod 0755 /opt/lifeboat/dist/cli/main.js \
    && ln -s /opt/lifeboat/dist/cli/main.js /usr/local/bin/lifeboat \
    && lifeboat --version

ENV NODE_ENV=production \
    TMPDIR=/scratch \
    LIFEBOAT_CONFIG=/etc/lifeboat/lifeboat.yaml
WORKDIR /scratch
USER ${LIFEBOAT_UID}:${LIFEBOAT_UID}
ENTRYPOINT ["lifeboat"]
CMD ["--help"]
