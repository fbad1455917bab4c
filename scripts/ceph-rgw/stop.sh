#!/usr/bin/env bash
# Stops the daemons started by start.sh (by the PIDs in their pid files) and removes $CEPH_DIR.
# KEEP=1 keeps the folder (data, logs) and stops the daemons gently; otherwise they get SIGKILL at
# once: their data is deleted right after, and a memstore OSD would spend seconds saving it first.
CEPH_DIR=${CEPH_DIR:?set CEPH_DIR to an empty scratch folder}
sig=KILL
[ "${KEEP:-0}" = 1 ] && sig=TERM
for f in "$CEPH_DIR"/run/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f"); echo "stopping $(basename "$f" .pid) pid $pid"
  kill -s "$sig" "$pid" 2>/dev/null || true
done
for f in "$CEPH_DIR"/run/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
done
[ "${KEEP:-0}" = 1 ] || rm -rf "$CEPH_DIR"
