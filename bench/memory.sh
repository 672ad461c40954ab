#!/usr/bin/env bash
# bench/memory.sh: peak RSS of `trailwhy explain` over CI-heavy corpora of several sizes
# (`gen-corpus --mix ci-heavy`: 8 % of the records start a GitHub OIDC assumption, two thirds
# of them successful, with the ECR calls that follow), and the slope in bytes per further
# assumption between consecutive sizes — the figures issue #23's targets are stated in. It
# measures; it changes nothing.
#
# Usage: bench/memory.sh [RECORDS...]      (default: 1000000 3000000 10000000; the 10 M corpus
#                                          is 2.4 GB of gzip, written once in about a minute)
# Environment:
#   THREADS=2        explain's --threads
#   RUNS=1           runs per size (the largest peak is reported)
#   TRAILWHY=path    binary to measure (default: built here with cargo --release)
#   CORPORA=/tmp     where the corpora are written (trailwhy-ci-heavy-N; reused when present)
#   CARGO_TARGET_DIR target dir for the builds (default: the repository's target/)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${THREADS:-2}
RUNS=${RUNS:-1}
CORPORA=${CORPORA:-/tmp}
if [[ $# -gt 0 ]]; then SIZES=("$@"); else SIZES=(1000000 3000000 10000000); fi

say() { printf '== %s\n' "$*" >&2; }

if [[ -z "${TRAILWHY:-}" ]]; then
    say "building trailwhy and gen-corpus (release)"
    (cd "$ROOT" && cargo build --release -q -p trailwhy -p gen-corpus)
    TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
    TRAILWHY=$TARGET/release/trailwhy
    GEN=$TARGET/release/gen-corpus
else
    (cd "$ROOT" && cargo build --release -q -p gen-corpus)
    GEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/gen-corpus
fi

field() { # manifest key
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

rows=()
prev_assumptions="" prev_rss=""
echo "| records | assumptions (successful) | ECR calls | JSON | peak RSS | bytes per further assumption |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
for n in "${SIZES[@]}"; do
    dir=$CORPORA/trailwhy-ci-heavy-$n
    if [[ ! -f $dir/manifest.json ]]; then
        rm -rf "$dir"
        say "writing $dir ($n records)"
        "$GEN" --out "$dir" --mix ci-heavy --files $(( (n + 299) / 300 )) --records-per-file 300 >/dev/null
    fi
    m=$dir/manifest.json
    assumptions=$(field "$m" web_identity_events)
    failures=$(field "$m" web_identity_failures)
    ecr=$(field "$m" ecr_events)
    records=$(field "$m" records)
    raw=$(field "$m" bytes_raw)
    peak=0
    for _ in $(seq "$RUNS"); do
        kb=$( { /usr/bin/time -f '%M' "$TRAILWHY" explain "$dir" --threads "$THREADS" --format json >/dev/null; } 2>&1 | tail -1 )
        (( kb > peak )) && peak=$kb
    done
    slope="—"
    if [[ -n $prev_assumptions ]]; then
        slope=$(( (peak - prev_rss) * 1024 / (assumptions - prev_assumptions) ))
    fi
    printf '| %s | %s (%s) | %s | %s MB | %s MB | %s |\n' "$records" "$assumptions" \
        "$(( assumptions - failures ))" "$ecr" "$(( raw / 1000000 ))" "$(( peak / 1024 ))" "$slope"
    prev_assumptions=$assumptions prev_rss=$peak
done
