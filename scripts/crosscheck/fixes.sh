#!/usr/bin/env bash
# Cross-check trailwhy's fixes against the independent evaluator @cloud-copilot/iam-simulate:
# N generated GitHub OIDC trust cases (from the crosscheck generator), trailwhy's verified fixes
# applied to each (examples/fix_cases.rs), then both evaluators decide every fixed case. Every
# fixed case must be allowed by trailwhy's engine, and the simulator must agree. Dev script,
# not part of `cargo test`; see README.md here.
#
#   scripts/crosscheck/fixes.sh [N] [SEED]
#
# Exits 0 when every fixed case is allowed by both, 1 otherwise, 2 on a setup problem.
set -euo pipefail

die() {
  echo "crosscheck-fixes: $*" >&2
  exit 2
}

N="${1:-20000}"
SEED="${2:-1}"
[[ "$N" =~ ^[0-9]+$ && "$N" -gt 0 ]] || die "N must be a positive number, got '$N'"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SEED must be a number, got '$SEED'"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export IAMSIM_DIR="${IAMSIM_DIR:-/tmp/iamsim}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-xcheck}"
[[ -f "$IAMSIM_DIR/node_modules/@cloud-copilot/iam-simulate/package.json" ]] ||
  die "the simulator is not installed in $IAMSIM_DIR: run scripts/crosscheck/run.sh once"

cargo build --quiet --manifest-path "$ROOT/Cargo.toml" -p iam-policy --example crosscheck ||
  die "cargo build failed"
cargo build --quiet --manifest-path "$ROOT/Cargo.toml" --example fix_cases ||
  die "cargo build failed"
BIN="$CARGO_TARGET_DIR/debug/examples/crosscheck"
FIXES="$CARGO_TARGET_DIR/debug/examples/fix_cases"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/crosscheck-fixes.XXXXXX")"
"$BIN" gen "$N" "$SEED" >"$WORK/cases.ndjson"
"$FIXES" "$WORK/cases.ndjson" >"$WORK/fixed.ndjson"
"$BIN" eval "$WORK/fixed.ndjson" >"$WORK/trailwhy.ndjson"
node "$HERE/simulate.mjs" simulate "$WORK/fixed.ndjson" >"$WORK/iam-simulate.ndjson"

status=0
node "$HERE/simulate.mjs" compare "$WORK/fixed.ndjson" "$WORK/trailwhy.ndjson" "$WORK/iam-simulate.ndjson" \
  --show "${SHOW:-5}" || status=$?
not_allowed="$(grep -vc '"decision":"allow"' "$WORK/trailwhy.ndjson" || true)"
total="$(wc -l <"$WORK/trailwhy.ndjson")"
echo "crosscheck-fixes: $total fixed cases, $not_allowed not allowed by trailwhy's engine" >&2
if [[ "$not_allowed" -ne 0 ]]; then
  grep -v '"decision":"allow"' "$WORK/trailwhy.ndjson" | head -"${SHOW:-5}" >&2
  status=1
fi
if [[ "$status" -ne 0 ]]; then
  echo "crosscheck-fixes: files kept in $WORK" >&2
else
  rm -rf "$WORK"
fi
exit "$status"
