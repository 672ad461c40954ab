#!/usr/bin/env bash
# bench/watch.sh: `trailwhy watch` against moto — latency from PutObject to webhook delivery
# and objects per second through the loop at 1, 10 and 100 objects per second of arrival
# (bench/watch.py), then the crash-safety test over more seeds (kill -9 at random points;
# TRAILWHY_WATCH_SEEDS, default 20). It measures; it changes nothing.
#
# Usage: bench/watch.sh [RATE:COUNT ...]     (default: 1:30 10:200 100:1000 0:1000 floor:1000;
#                                            0 is a backlog, floor the simplest Python consumer)
# Environment:
#   TRAILWHY=path             binary to measure (default: built here with cargo --release)
#   RECORDS=100               records per object (one of them a denied assumption)
#   TRAILWHY_WATCH_SEEDS=20   rounds of the kill -9 test (0: skip it)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '== %s\n' "$*" >&2; }

command -v moto_server >/dev/null || python3 -m pip install --quiet 'moto[server]>=5.1,<6'
if [[ -z "${TRAILWHY:-}" ]]; then
    say "building trailwhy (release)"
    (cd "$ROOT" && cargo build --release -q -p trailwhy)
    TRAILWHY=${CARGO_TARGET_DIR:-$ROOT/target}/release/trailwhy
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_ACCOUNT_ID=111122223333 moto_server -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO=$!
trap 'kill $MOTO 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
    sleep 0.1
done

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
say "latency and throughput ($TRAILWHY, moto on :$PORT)"
python3 "$ROOT/bench/watch.py" "$TRAILWHY" "http://127.0.0.1:$PORT" "$@"

SEEDS=${TRAILWHY_WATCH_SEEDS:-20}
if [[ "$SEEDS" -gt 0 ]]; then
    say "kill -9 at random points, $SEEDS rounds (tests/watch.rs)"
    (cd "$ROOT" && TRAILWHY_WATCH_SEEDS=$SEEDS cargo test --release -q --test watch kill_9 -- --nocapture)
fi
