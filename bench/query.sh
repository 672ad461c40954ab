#!/usr/bin/env bash
# bench/query.sh: times `trailwhy query --jq EXPR` against `zcat | jq -c '.Records[] | EXPR'`
# over the same CloudTrail corpus (one written by `gen-corpus`), for several programs: a
# leading select, programs that read a few fields, programs that output whole records or
# subtrees, one that changes whole records, one with a regex. It checks that both print the
# same rows (jq's output redacted as trailwhy redacts it), and prints a Markdown table of
# medians and ratios (see BENCHMARKS.md, "query"). It measures; it changes nothing.
#
# Usage: bench/query.sh CORPUS_DIR
# Environment:
#   RUNS=3           timed runs per command (the median is reported)
#   TRAILWHY=path    binary to measure (default: built here with cargo --release)
#   BEFORE=path      a second trailwhy binary (an earlier build) timed alongside, for a
#                    before/after column
#   PROGRAMS=file    the programs to time, one per line (default: the list below)
#   SKIP_JQ=1        time trailwhy only (no jq runs, no output check)
set -euo pipefail

if [[ $# -ne 1 || ! -d "$1/AWSLogs" ]]; then
    echo "usage: $0 CORPUS_DIR   (a directory holding AWSLogs/, e.g. from gen-corpus)" >&2
    exit 2
fi
CORPUS=$(cd "$1" && pwd)
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/trailwhy-query-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

say() { printf '== %s\n' "$*" >&2; }

for tool in jq zcat python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "missing /usr/bin/time (the time package)" >&2; exit 2; }

if [[ -z ${TRAILWHY:-} ]]; then
    say "building trailwhy (release)"
    (cd "$ROOT" && cargo build --release --quiet --bin trailwhy)
    TRAILWHY=${CARGO_TARGET_DIR:-$ROOT/target}/release/trailwhy
fi

# --- inputs ------------------------------------------------------------------------------
# The log files in the order trailwhy walks the directory (byte order of the paths).
FILES=$WORK/files.txt
find "$CORPUS/AWSLogs" -name '*.json.gz' -path '*/CloudTrail/*' | LC_ALL=C sort >"$FILES"
NFILES=$(wc -l <"$FILES")
GZ_BYTES=$(xargs -a "$FILES" stat -c %s | awk '{ t += $1 } END { print t }')
RAW_BYTES=$(xargs -a "$FILES" zcat | wc -c)
say "corpus $CORPUS: $NFILES log files, $((RAW_BYTES / 1000000)) MB JSON, $((GZ_BYTES / 1000000)) MB gzip"

if [[ -n ${PROGRAMS:-} ]]; then
    mapfile -t PROGS <"$PROGRAMS"
else
    PROGS=(
        'select(.errorCode != null) | {eventTime, eventName, errorCode}'
        '{eventTime, eventName, errorCode}'
        '.'
        '{eventName, userIdentity}'
        '.requestParameters'
        'del(.tlsDetails)'
        'select(.userAgent | test("run_id#")) | .eventID'
    )
fi

# jq's output with trailwhy's redaction (report::redact: these names, any case, and names
# ending in password or secret; null values stay), to compare rows.
cat >"$WORK/redact.py" <<'EOF'
import json, sys
SECRET = {"sessiontoken", "secretaccesskey", "secretkey", "webidentitytoken", "authorizationtoken",
          "accesstoken", "refreshtoken", "idtoken", "clientsecret", "password", "privatekey",
          "samlassertion", "token"}
def secret(k):
    k = k.lower()
    return k in SECRET or k.endswith("password") or k.endswith("secret")
def redact(v):
    if isinstance(v, dict):
        return {k: ("<redacted>" if secret(k) and x is not None else redact(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [redact(x) for x in v]
    return v
ours, theirs = open(sys.argv[1], encoding="utf-8"), open(sys.argv[2], encoding="utf-8")
n = 0
for a, b in zip(ours, theirs):
    n += 1
    # compared as text, so that key order counts
    if json.dumps(json.loads(a)) != json.dumps(redact(json.loads(b))):
        print(f"row {n} differs:\n  trailwhy {a[:300]}\n  jq       {b[:300]}")
        sys.exit(1)
rest = ours.read(1) or theirs.read(1)
if rest:
    print(f"row counts differ after row {n}")
    sys.exit(1)
EOF

# --- timing ------------------------------------------------------------------------------
# Runs are interleaved (run 1 of every command, then run 2, ...) so that outside load on a
# shared machine hits every command alike. Each run is timed with /usr/bin/time.
declare -A WALLS CPUS
time_once() { # key command
    local wall user sys
    if ! /usr/bin/time -f '%e %U %S' -o "$WORK/t.txt" sh -c "$2"; then
        echo "WARNING: $1 exited with an error" >&2
    fi
    read -r wall user sys < <(tail -1 "$WORK/t.txt")
    WALLS[$1]+="$wall "
    CPUS[$1]+="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') "
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=()
for i in "${!PROGS[@]}"; do
    expr=${PROGS[$i]}
    quoted=$(printf '%q' "$expr")
    tw="$TRAILWHY query $CORPUS --quiet --format ndjson --jq $quoted > $WORK/tw.$i 2>/dev/null"
    before="${BEFORE:-} query $CORPUS --quiet --format ndjson --jq $quoted > $WORK/before.$i 2>/dev/null"
    jq="xargs -a $FILES zcat | jq -c $(printf '%q' ".Records[] | $expr") > $WORK/jq.$i 2>/dev/null"
    for ((r = 1; r <= RUNS; r++)); do
        say "program $((i + 1)) run $r: $expr"
        time_once "tw.$i" "$tw"
        [[ -z ${BEFORE:-} ]] || time_once "before.$i" "$before"
        [[ -n ${SKIP_JQ:-} ]] || time_once "jq.$i" "$jq"
    done
    check="-"
    if [[ -z ${SKIP_JQ:-} ]]; then
        if cmp -s "$WORK/tw.$i" "$WORK/jq.$i"; then
            check="identical"
        elif python3 "$WORK/redact.py" "$WORK/tw.$i" "$WORK/jq.$i" >"$WORK/diff.txt"; then
            check="same after redaction"
        else
            check="DIFFERENT"
            cat "$WORK/diff.txt" >&2
        fi
    fi
    if [[ -n ${BEFORE:-} ]] && ! cmp -s "$WORK/tw.$i" "$WORK/before.$i"; then
        echo "WARNING: program $((i + 1)): the two trailwhy builds printed different rows" >&2
    fi
    ROWS+=("$(wc -l <"$WORK/tw.$i")|$check")
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- table -------------------------------------------------------------------------------
echo
echo "Corpus: $NFILES files, $((RAW_BYTES / 1000000)) MB JSON ($((GZ_BYTES / 1000000)) MB gzip); $(nproc) cores;"
echo "load average $LOAD_BEFORE before, $LOAD_AFTER after; median of $RUNS runs, wall seconds (CPU seconds)."
echo
header="| program | rows | \`query --jq\`"
sep="| --- | ---: | ---:"
if [[ -n ${BEFORE:-} ]]; then header+=" | before"; sep+=" | ---:"; fi
if [[ -z ${SKIP_JQ:-} ]]; then header+=" | \`zcat \\| jq -c\` | ratio | output vs jq"; sep+=" | ---: | ---: | ---"; fi
if [[ -n ${BEFORE:-} ]]; then header+=" | speed-up"; sep+=" | ---:"; fi
echo "$header |"
echo "$sep |"
for i in "${!PROGS[@]}"; do
    IFS='|' read -r rows check <<<"${ROWS[$i]}"
    tw_w=$(median <<<"${WALLS[tw.$i]}")
    tw_c=$(median <<<"${CPUS[tw.$i]}")
    line="| \`${PROGS[$i]//|/\\|}\` | $rows | $tw_w ($tw_c)"
    if [[ -n ${BEFORE:-} ]]; then
        b_w=$(median <<<"${WALLS[before.$i]}")
        line+=" | $b_w ($(median <<<"${CPUS[before.$i]}"))"
    fi
    if [[ -z ${SKIP_JQ:-} ]]; then
        jq_w=$(median <<<"${WALLS[jq.$i]}")
        line+=" | $jq_w ($(median <<<"${CPUS[jq.$i]}")) | $(ratio "$jq_w" "$tw_w")x | $check"
    fi
    if [[ -n ${BEFORE:-} ]]; then line+=" | $(ratio "$b_w" "$tw_w")x"; fi
    echo "$line |"
done
