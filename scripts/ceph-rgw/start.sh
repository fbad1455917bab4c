#!/usr/bin/env bash
# A real S3 server for Lifeboat's tests: single-node Ceph (Debian's radosgw, ceph-mon, ceph-osd
# packages; `bash scripts/setup.sh --test` installs them) with one mon, one OSD and one radosgw, no
# systemd, everything under $CEPH_DIR. test/helpers/s3-server.ts runs it (once per `npm test`).
#   one mon, (optional) one mgr, one OSD (memstore in RAM, or bluestore on a sparse file), one radosgw (beast)
# Usage:  CEPH_DIR=<dir that does not exist yet> OSD_STORE=memstore|bluestore RGW_PORT=7480 MON_PORT=6789 ./start.sh
# Prints: progress lines; PIDs go to $CEPH_DIR/run/*.pid (stop.sh uses them). S3 creds: AK=testkey / SK=testsecret
set -euo pipefail

CEPH_DIR=${CEPH_DIR:?set CEPH_DIR to an empty scratch folder}
OSD_STORE=${OSD_STORE:-memstore}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-6789}
WITH_MGR=${WITH_MGR:-0}
BLOCK_SIZE=${BLOCK_SIZE:-10737418240}   # 10 GiB sparse file for bluestore
MEMSTORE_BYTES=${MEMSTORE_BYTES:-2147483648}
AK=${AK:-testkey}
SK=${SK:-testsecret}

t0=$(date +%s%N)
die() { echo "start-ceph-rgw: $1; last log lines:" >&2; tail -n 20 "$CEPH_DIR/log/$2" >&2 2>/dev/null; exit 1; }
# A mon that has just formed quorum sometimes refuses a command ("EPERM: problem getting command
# descriptions"); every mon command below is retried for a few seconds before it counts as failed.
mon() {
  local i out
  for i in $(seq 1 20); do out=$(ceph -c "$CONF" "$@" 2>&1) && { printf '%s' "$out"; return 0; }; sleep 0.25; done
  echo "start-ceph-rgw: ceph $*: $out" >&2; return 1
}
ts() { local ms=$(( ($(date +%s%N) - t0) / 1000000 )); printf '[%3d.%02ds] %s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$*"; }

if [ -e "$CEPH_DIR" ]; then echo "$CEPH_DIR exists; run stop.sh first (it removes it)"; exit 1; fi
for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph-authtool ceph curl; do
  command -v "$bin" >/dev/null || { echo "start-ceph-rgw: $bin is not installed; run: bash scripts/setup.sh --test" >&2; exit 1; }
done
mkdir -p "$CEPH_DIR"/{mon/a,osd/0,log,run,rgw}
FSID=$(cat /proc/sys/kernel/random/uuid)
CONF=$CEPH_DIR/ceph.conf
export CEPH_CONF=$CONF

cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon_host = v1:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_msgr2 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = $CEPH_DIR/run
admin_socket = $CEPH_DIR/run/\$name.asok
log_file = $CEPH_DIR/log/\$name.log
pid_file = $CEPH_DIR/run/\$name.pid
crash_dir = $CEPH_DIR/crash
keyring = $CEPH_DIR/keyring
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
mon_max_pg_per_osd = 1000
erasure_code_dir = /usr/lib/x86_64-linux-gnu/ceph/erasure-code
plugin_dir = /usr/lib/x86_64-linux-gnu/ceph
[mon]
mon_data = $CEPH_DIR/mon/\$id
mon_allow_pool_delete = true
# CI disks may be nearly full: do not let the mon warn/stop on free space
mon_data_avail_warn = 1
mon_data_avail_crit = 0
# single mon: commit map changes fast (default 1 s batching makes each pool creation ~1 s)
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
mon_cluster_log_file = $CEPH_DIR/log/cluster.log
[mgr]
mgr_data = $CEPH_DIR/mgr/\$id
[osd]
osd_data = $CEPH_DIR/osd/\$id
osd_objectstore = $OSD_STORE
osd_memory_target = 1073741824
bluestore_block_path = $CEPH_DIR/osd/\$id/block.file
bluestore_block_size = $BLOCK_SIZE
bluestore_block_create = true
bluestore_block_db_create = false
bluestore_block_wal_create = false
bluestore_fsck_on_mkfs = false
bluestore_cache_autotune = true
memstore_device_bytes = $MEMSTORE_BYTES
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
# the OSD's own start-up mon commands go out with a zero fsid under auth=none ('wrong fsid'), so place it in CRUSH by hand
osd_crush_update_on_start = false
osd_class_update_on_start = false
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_dns_name = localhost
rgw_data = $CEPH_DIR/rgw
rgw_enable_usage_log = false
rgw_thread_pool_size = 64
log_file = $CEPH_DIR/log/rgw.log
EOF

ts "mon mkfs"
monmaptool --create --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" "$CEPH_DIR/monmap" >/dev/null
ceph-authtool --create-keyring "$CEPH_DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/keyring"
ts "mon start"
ceph-mon -c "$CONF" -i a
# wait for mon quorum
ok=0; for i in $(seq 1 60); do ceph -c "$CONF" --connect-timeout 2 mon stat >/dev/null 2>&1 && { ok=1; break; }; sleep 0.5; done
[ "$ok" = 1 ] || die "mon did not form quorum" mon.a.log
ts "mon up: $(ceph -c "$CONF" mon stat 2>&1)"
mon config set mon auth_allow_insecure_global_id_reclaim false >/dev/null || true

if [ "$WITH_MGR" = 1 ]; then
  mkdir -p "$CEPH_DIR/mgr/x"
  ceph-mgr -c "$CONF" -i x
  ts "mgr started"
fi

ts "osd create + mkfs ($OSD_STORE)"
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(mon osd new "$OSD_UUID")
ceph-osd -c "$CONF" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" 2> "$CEPH_DIR/log/osd-mkfs.err" >/dev/null
mon osd crush add-bucket localhost host >/dev/null
mon osd crush move localhost root=default >/dev/null
mon osd crush add "osd.$OSD_ID" 1.0 host=localhost >/dev/null
ts "osd start"
ceph-osd -c "$CONF" -i "$OSD_ID"
ok=0; for i in $(seq 1 120); do
  ceph -c "$CONF" osd stat 2>/dev/null | grep -q '1 up' && { ok=1; break; }; sleep 0.5; done
[ "$ok" = 1 ] || die "osd did not come up" osd.0.log
ts "osd up: $(ceph -c "$CONF" osd stat 2>&1)"

# pre-create the bucket pools so the first CreateBucket/PutObject do not wait for pool creation
pools=".rgw.root default.rgw.log default.rgw.control default.rgw.meta default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec"
# One ceph session for all of them (each ceph invocation costs ~0.2 s); checked, and redone if short.
for i in $(seq 1 10); do
  { for p in $pools; do echo "osd pool create $p 8 8"; echo "osd pool application enable $p rgw"; done; } | ceph -c "$CONF" >/dev/null 2>&1 || true
  [ "$(mon osd pool ls | grep -cxF -f <(tr ' ' '\n' <<<"$pools"))" = 7 ] && break
  sleep 0.25
done
ts "pools created"
ts "radosgw start"
radosgw -c "$CONF" -n client.rgw.a
ok=0; for i in $(seq 1 240); do
  curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && { ok=1; break; }; sleep 0.5; done
[ "$ok" = 1 ] || die "radosgw did not answer" rgw.log
ts "rgw answering on 127.0.0.1:$RGW_PORT"
timeout 60 radosgw-admin -c "$CONF" user create --uid=test --display-name=test --access-key="$AK" --secret-key="$SK" >/dev/null
ts "user test created (AK=$AK SK=$SK). Ready."
