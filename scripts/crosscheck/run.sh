#!/usr/bin/env bash
# Cross-check trailwhy's IAM policy engine (crates/iam-policy) against the independent evaluator
# @cloud-copilot/iam-simulate. Dev script, not part of `cargo test`; see README.md here.
#
#   scripts/crosscheck/run.sh [N] [SEED] [--wide]
#
# N (default 10000) random cases from SEED (default 1); --wide also generates the patterns listed
# as known differences in README.md. Exits 0 when every case agrees, 1 on any disagreement or
# evaluation error, 2 on a setup problem.
#
# Environment: IAMSIM_DIR (default /tmp/iamsim) where the simulator is installed at run time,
# IAMSIM_VERSION (default 0.1.173, the version the known differences were checked against;
# "latest" to try the newest), CARGO_TARGET_DIR (default /tmp/target-xcheck), SHOW (number of
# disagreements printed, default 5), KEEP=1 to keep the work directory even when all agree.
set -euo pipefail

die() {
  echo "crosscheck: $*" >&2
  exit 2
}

N="${1:-10000}"
SEED="${2:-1}"
WIDE="${3:-}"
[[ "$N" =~ ^[0-9]+$ && "$N" -gt 0 ]] || die "N must be a positive number, got '$N'"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SEED must be a number, got '$SEED'"
[[ -z "$WIDE" || "$WIDE" == "--wide" ]] || die "third argument must be --wide, got '$WIDE'"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export IAMSIM_DIR="${IAMSIM_DIR:-/tmp/iamsim}"
IAMSIM_VERSION="${IAMSIM_VERSION:-0.1.173}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-xcheck}"

for tool in node npm cargo; do
  command -v "$tool" >/dev/null || die "'$tool' not found on PATH (see README.md, prerequisites)"
done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  die "node >= 18 is needed, found $(node --version)"

# 1. The simulator: AGPL, so never a dependency of this repository. Install it at run time into a
#    directory outside the repository (npm writes its package.json/lock there, not here).
PKG_JSON="$IAMSIM_DIR/node_modules/@cloud-copilot/iam-simulate/package.json"
installed="$(node -p "try { require('$PKG_JSON').version } catch { '' }")"
if [[ -z "$installed" || ("$IAMSIM_VERSION" != "latest" && "$installed" != "$IAMSIM_VERSION") ]]; then
  echo "crosscheck: installing @cloud-copilot/iam-simulate@$IAMSIM_VERSION into $IAMSIM_DIR" >&2
  mkdir -p "$IAMSIM_DIR"
  npm install --prefix "$IAMSIM_DIR" --no-audit --no-fund --loglevel=error \
    "@cloud-copilot/iam-simulate@$IAMSIM_VERSION" >&2 || die "npm install failed"
  installed="$(node -p "require('$PKG_JSON').version")"
fi

# 2. Our side: the iam-policy example binary (generator and evaluator).
cargo build --quiet --manifest-path "$ROOT/Cargo.toml" -p iam-policy --example crosscheck ||
  die "cargo build failed"
BIN="$CARGO_TARGET_DIR/debug/examples/crosscheck"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/crosscheck.XXXXXX")"
CASES="$WORK/cases.ndjson"
echo "crosscheck: $N cases, seed $SEED${WIDE:+ (wide)}, iam-simulate $installed, files in $WORK" >&2

# 3. Generate, evaluate with both, compare.
# shellcheck disable=SC2086 # WIDE is empty or one word
"$BIN" gen "$N" "$SEED" $WIDE >"$CASES"
"$BIN" eval "$CASES" >"$WORK/trailwhy.ndjson"
node "$HERE/simulate.mjs" simulate "$CASES" >"$WORK/iam-simulate.ndjson"

status=0
node "$HERE/simulate.mjs" compare "$CASES" "$WORK/trailwhy.ndjson" "$WORK/iam-simulate.ndjson" \
  --show "${SHOW:-5}" || status=$?

if [[ "$status" -ne 0 ]]; then
  echo >&2
  echo "crosscheck: shrink a disagreement to its essentials with" >&2
  echo "  IAMSIM_DIR=$IAMSIM_DIR node $HERE/simulate.mjs minimize $CASES NAME $BIN" >&2
elif [[ -z "${KEEP:-}" ]]; then
  rm -rf "$WORK"
fi
exit "$status"
