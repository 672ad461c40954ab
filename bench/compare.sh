#!/usr/bin/env bash
# bench/compare.sh: times `trailwhy explain` against plain decompression (pigz), zcat|jq
# and DuckDB on the same CloudTrail corpus (one written by `gen-corpus`), checks that
# trailwhy and jq found the same failed events, measures trailwhy's peak RSS on the whole
# corpus and on one giant file, and prints a Markdown table with the ratios the
# performance targets are stated in (see BENCHMARKS.md). It measures; it changes nothing.
#
# Usage: bench/compare.sh CORPUS_DIR
# Environment:
#   RUNS=3           timed runs per command (the median is reported)
#   SLOW_RUNS=$RUNS  runs for the slow baselines (jq, DuckDB)
#   TRAILWHY=path    binary to measure (default: built here with cargo --release)
#   FLOOR=path       the inflate-only floor (examples/inflate_floor; default: beside
#                    TRAILWHY in examples/, built here when missing)
#   CARGO_TARGET_DIR target dir for that build (default /tmp/target-bench)
#   GIANT_DIR=dir    corpus holding one giant file (default: generated with
#                    gen-corpus --giant-mb ${GIANT_MB:-530} into /tmp/trailwhy-giant-${GIANT_MB:-530})
#   HYPERFINE=1      time each command with hyperfine (back to back) instead of the
#                    interleaved /usr/bin/time loop
#   SKIP_GIANT=1     skip the giant-file measurement; SKIP_DUCKDB=1 skip DuckDB
#   DUCKDB_VENV=dir  Python venv with the duckdb package (default /tmp/trailwhy-duckdb-venv;
#                    created with pip when missing)
set -euo pipefail

if [[ $# -ne 1 || ! -d "$1/AWSLogs" ]]; then
    echo "usage: $0 CORPUS_DIR   (a directory holding AWSLogs/, e.g. from gen-corpus)" >&2
    exit 2
fi
CORPUS=$(cd "$1" && pwd)
RUNS=${RUNS:-3}
SLOW_RUNS=${SLOW_RUNS:-$RUNS}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-bench}
WORK=$(mktemp -d /tmp/trailwhy-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

say() { printf '== %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
need_apt() { # command package
    if ! command -v "$1" >/dev/null 2>&1; then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            say "installing $2"
            apt-get install -y "$2" >/dev/null
        else
            echo "missing $1: install the $2 package" >&2
            exit 2
        fi
    fi
}
[[ -z ${HYPERFINE:-} ]] || need_apt hyperfine hyperfine
need_apt pigz pigz
need_apt jq jq
[[ -x /usr/bin/time ]] || need_apt /usr/bin/time time

if [[ -z ${TRAILWHY:-} ]]; then
    say "building trailwhy and gen-corpus (release, $CARGO_TARGET_DIR)"
    (cd "$ROOT" && cargo build --release --quiet -p trailwhy -p gen-corpus --bins)
    TRAILWHY=$CARGO_TARGET_DIR/release/trailwhy
fi
GEN=${GEN:-$(dirname "$TRAILWHY")/gen-corpus}
FLOOR=${FLOOR:-$(dirname "$TRAILWHY")/examples/inflate_floor}
if [[ ! -x $FLOOR ]]; then
    say "building examples/inflate_floor (release, $CARGO_TARGET_DIR)"
    (cd "$ROOT" && cargo build --release --quiet --example inflate_floor)
    FLOOR=$CARGO_TARGET_DIR/release/examples/inflate_floor
fi

DUCKDB_VENV=${DUCKDB_VENV:-/tmp/trailwhy-duckdb-venv}
if [[ -z ${SKIP_DUCKDB:-} ]] && ! "$DUCKDB_VENV/bin/python" -c 'import duckdb' 2>/dev/null; then
    say "installing duckdb into $DUCKDB_VENV"
    python3 -m venv "$DUCKDB_VENV"
    "$DUCKDB_VENV/bin/pip" install --quiet duckdb
fi

# --- inputs ------------------------------------------------------------------------------
FILES=$WORK/files.txt
find "$CORPUS/AWSLogs" -name '*.json.gz' -path '*CloudTrail/*' | sort >"$FILES"
NFILES=$(wc -l <"$FILES")
RAW_BYTES=$(jq -r '.bytes_raw // empty' "$CORPUS/manifest.json" 2>/dev/null || true)
GZ_BYTES=$(xargs -a "$FILES" stat -c %s | awk '{ t += $1 } END { print t }')
if [[ -z $RAW_BYTES ]]; then
    RAW_BYTES=$(xargs -a "$FILES" zcat | wc -c)
fi
say "corpus $CORPUS: $NFILES log files, $((RAW_BYTES / 1000000)) MB JSON, $((GZ_BYTES / 1000000)) MB gzip"

JQ_FILTER='.Records[] | select(.errorCode != null and (.eventName == "AssumeRoleWithWebIdentity" or .eventSource == "ecr.amazonaws.com"))'

cat >"$WORK/duck.py" <<'EOF'
# DuckDB over the same files: unnest the Records arrays, keep the same failed events. The
# schema is left to DuckDB's inference, which measured 4x faster here than declaring
# Records as STRUCT(...)[] or JSON[].
import sys, duckdb
files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute("SET preserve_insertion_order = false")
rows = con.execute("""
    SELECT r.eventID, r.eventName, r.eventSource, r.errorCode
    FROM (SELECT unnest(Records) AS r
          FROM read_json(?, compression = 'gzip', maximum_object_size = 134217728))
    WHERE r.errorCode IS NOT NULL
      AND (r.eventName = 'AssumeRoleWithWebIdentity' OR r.eventSource = 'ecr.amazonaws.com')
""", [files]).fetchall()
for row in rows:
    print("\t".join(str(v) for v in row))
EOF

# Commands, by key: label and shell command line.
declare -A LABEL CMD
ORDER=(tw1 tw2 floor pigz jq duckdb)
LABEL[tw1]="trailwhy explain --threads 1"
CMD[tw1]="$TRAILWHY explain $CORPUS --format ndjson --threads 1 --quiet > $WORK/tw1.ndjson"
LABEL[tw2]="trailwhy explain --threads 2"
CMD[tw2]="$TRAILWHY explain $CORPUS --format ndjson --threads 2 --quiet > $WORK/tw2.ndjson"
LABEL[floor]="floor: read + libdeflate only, 2 threads (examples/inflate_floor)"
CMD[floor]="$FLOOR $FILES 2 > /dev/null"
LABEL[pigz]="xargs -P2 -n 50 pigz -dc"
CMD[pigz]="xargs -a $FILES -P2 -n 50 pigz -dc > /dev/null"
LABEL[jq]="zcat \\| jq (select failed)"
CMD[jq]="xargs -a $FILES zcat | jq -c '$JQ_FILTER' > $WORK/jq.ndjson"
LABEL[duckdb]="DuckDB read_json + unnest (2 threads)"
CMD[duckdb]="$DUCKDB_VENV/bin/python $WORK/duck.py $FILES > $WORK/duck.tsv"
if [[ -n ${SKIP_DUCKDB:-} ]]; then ORDER=(tw1 tw2 floor pigz jq); fi

# --- timing ------------------------------------------------------------------------------
# The machine is shared with other builders, so runs are interleaved round-robin (run 1 of
# every command, then run 2, ...): a burst of outside load then hits all commands alike
# instead of one. Each run is timed with /usr/bin/time (wall, user+sys CPU, peak RSS of the
# largest process). HYPERFINE=1 times each command with hyperfine instead (back to back).
declare -A WALLS CPUS RSSS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
time_once() { # key
    local wall user sys rss
    if ! /usr/bin/time -f '%e %U %S %M' -o "$WORK/t.txt" sh -c "${CMD[$1]}"; then
        echo "WARNING: ${LABEL[$1]} exited with an error (see above)" >&2
    fi
    # time prefixes "Command exited with non-zero status N" on failure: the figures are last
    read -r wall user sys rss < <(tail -1 "$WORK/t.txt")
    WALLS[$1]+="$wall "
    CPUS[$1]+="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') "
    RSSS[$1]+="$rss "
}
if [[ -n ${HYPERFINE:-} ]]; then
    for k in "${ORDER[@]}"; do
        runs=$RUNS
        [[ $k == jq || $k == duckdb ]] && runs=$SLOW_RUNS
        say "hyperfine: ${LABEL[$k]} ($runs runs)"
        hyperfine --style basic --runs "$runs" -i --export-json "$WORK/$k.json" "${CMD[$k]}" >&2
        WALLS[$k]=$(jq -r '.results[0].times | map(tostring) | join(" ")' "$WORK/$k.json")
        CPUS[$k]=$(jq -r '.results[0] | (.user + .system) | tostring' "$WORK/$k.json")
        RSSS[$k]=0
    done
else
    for ((r = 1; r <= RUNS || r <= SLOW_RUNS; r++)); do
        for k in "${ORDER[@]}"; do
            if [[ $k == jq || $k == duckdb ]]; then
                ((r <= SLOW_RUNS)) || continue
            else
                ((r <= RUNS)) || continue
            fi
            say "run $r: ${LABEL[$k]}"
            time_once "$k"
        done
    done
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lo() { tr ' ' '\n' | grep . | sort -g | head -1; }
hi() { tr ' ' '\n' | grep . | sort -g | tail -1; }
declare -A MEDIAN MIN MAX CPU RSS
for k in "${ORDER[@]}"; do
    MEDIAN[$k]=$(median <<<"${WALLS[$k]}")
    MIN[$k]=$(lo <<<"${WALLS[$k]}")
    MAX[$k]=$(hi <<<"${WALLS[$k]}")
    CPU[$k]=$(median <<<"${CPUS[$k]}")
    RSS[$k]=$(hi <<<"${RSSS[$k]}")
done

# --- peak memory on one giant file -------------------------------------------------------
RSS_GIANT="" WALL_GIANT="" GIANT_RAW=""
if [[ -z ${SKIP_GIANT:-} ]]; then
    GIANT_MB=${GIANT_MB:-530}
    GIANT_DIR=${GIANT_DIR:-/tmp/trailwhy-giant-$GIANT_MB}
    if [[ ! -d $GIANT_DIR/AWSLogs ]]; then
        say "writing a ${GIANT_MB} MB single file into $GIANT_DIR"
        "$GEN" --out "$GIANT_DIR" --giant-mb "$GIANT_MB" >/dev/null
    fi
    GIANT_RAW=$(jq -r '.bytes_raw' "$GIANT_DIR/manifest.json")
    say "peak RSS, one file of $((GIANT_RAW / 1000000)) MB"
    /usr/bin/time -f '%e %M' -o "$WORK/t.txt" "$TRAILWHY" explain "$GIANT_DIR" --format ndjson \
        --threads 2 --quiet >"$WORK/giant.ndjson" || true
    read -r WALL_GIANT RSS_GIANT < <(tail -1 "$WORK/t.txt")
    G_WEBID=$(jq -s '[.[] | select(.event_name == "AssumeRoleWithWebIdentity") | .count] | add // 0' "$WORK/giant.ndjson")
    G_MAN=$(jq -r '.web_identity_failures' "$GIANT_DIR/manifest.json")
    if [[ $G_WEBID -ne $G_MAN ]]; then
        echo "MISMATCH: giant file: trailwhy found $G_WEBID web-identity failures, manifest says $G_MAN" >&2
    fi
fi

# --- counts ------------------------------------------------------------------------------
# trailwhy: findings' counts, split into web-identity and ECR (action ecr:*) findings
tw_count() { jq -s "$1" "$WORK/tw2.ndjson"; }
TW_WEBID=$(tw_count '[.[] | select(.event_name == "AssumeRoleWithWebIdentity") | .count] | add // 0')
TW_ECR=$(tw_count '[.[] | select((.action // "") | startswith("ecr:")) | .count] | add // 0')
TW_ALL=$(tw_count '[.[] | .count] | add // 0')
JQ_WEBID=$(jq -s '[.[] | select(.eventName == "AssumeRoleWithWebIdentity")] | length' "$WORK/jq.ndjson")
JQ_ECR=$(jq -s '[.[] | select(.eventSource == "ecr.amazonaws.com")] | length' "$WORK/jq.ndjson")
DUCK_ALL=""
[[ -f $WORK/duck.tsv ]] && DUCK_ALL=$(wc -l <"$WORK/duck.tsv")
MAN_WEBID=$(jq -r '.web_identity_failures // "-"' "$CORPUS/manifest.json" 2>/dev/null || echo -)
MAN_ECR=$(jq -r '.ecr_failures // "-"' "$CORPUS/manifest.json" 2>/dev/null || echo -)
if ! cmp -s "$WORK/tw1.ndjson" "$WORK/tw2.ndjson"; then
    echo "WARNING: trailwhy's output differs between 1 and 2 threads" >&2
fi

# --- report ------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mbps() { awk -v s="$1" -v b="$RAW_BYTES" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
T=${MEDIAN[tw2]}
echo
echo "Corpus: $CORPUS — $NFILES log files, $((RAW_BYTES / 1000000)) MB JSON, $((GZ_BYTES / 1000000)) MB gzip."
echo "Median of $RUNS runs (jq, DuckDB: $SLOW_RUNS), interleaved; load average before $LOAD_BEFORE, after $LOAD_AFTER."
echo
echo "| command | wall s (median) | min–max | MB/s of JSON | CPU s (user+sys) | peak RSS MB | wall ÷ trailwhy 2 thr. | CPU ÷ trailwhy 2 thr. |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for k in "${ORDER[@]}"; do
    printf '| %s | %.2f | %.2f–%.2f | %s | %.2f | %s | %s | %s |\n' "${LABEL[$k]}" "${MEDIAN[$k]}" "${MIN[$k]}" \
        "${MAX[$k]}" "$(mbps "${MEDIAN[$k]}")" "${CPU[$k]}" "$((RSS[$k] / 1024))" \
        "$(ratio "${MEDIAN[$k]}" "$T")" "$(ratio "${CPU[$k]}" "${CPU[tw2]}")"
done
echo
verdict() { if awk -v x="$1" -v op="$2" -v t="$3" 'BEGIN { exit !((op == "<=") ? x <= t : x >= t) }'; then echo holds; else echo "does not hold"; fi; }
R_PIGZ=$(ratio "$T" "${MEDIAN[pigz]}")
R_JQ=$(ratio "${MEDIAN[jq]}" "$T")
echo "| target | measured | verdict |"
echo "| --- | ---: | --- |"
echo "| explain (2 threads) wall ≤ 0.6 × xargs -P2 pigz -dc | $R_PIGZ × | $(verdict "$R_PIGZ" '<=' 0.6) |"
echo "| (same, CPU time instead of wall) | $(ratio "${CPU[tw2]}" "${CPU[pigz]}") × | $(verdict "$(ratio "${CPU[tw2]}" "${CPU[pigz]}")" '<=' 0.6) |"
echo "| explain (2 threads) wall ≤ 0.25 × xargs -P2 pigz -dc (#14) | $R_PIGZ × | $(verdict "$R_PIGZ" '<=' 0.25) |"
echo "| (the floor: read + libdeflate alone, 2 threads, ÷ pigz) | $(ratio "${MEDIAN[floor]}" "${MEDIAN[pigz]}") × | what is left for the rest: $(awk -v p="${MEDIAN[pigz]}" -v f="${MEDIAN[floor]}" 'BEGIN { printf "%.2f", 0.25 * p - f }') s wall |"
echo "| ≥ 10 × faster than zcat \\| jq | $R_JQ × | $(verdict "$R_JQ" '>=' 10) |"
if [[ -n ${MEDIAN[duckdb]:-} ]]; then
    R_DUCK=$(ratio "${MEDIAN[duckdb]}" "$T")
    echo "| ≥ 20 × faster than DuckDB | $R_DUCK × | $(verdict "$R_DUCK" '>=' 20) |"
fi
echo "| 1 → 2 threads speed-up (wall) | $(ratio "${MEDIAN[tw1]}" "$T") × | (2 cores, shared) |"
RSS_C_MB=$((RSS[tw2] / 1024))
echo "| peak RSS, whole corpus, 2 threads ≤ 128 MB | $RSS_C_MB MB | $(verdict "$RSS_C_MB" '<=' 128) |"
if [[ -n $RSS_GIANT ]]; then
    RSS_G_MB=$((RSS_GIANT / 1024))
    echo "| peak RSS, one $((GIANT_RAW / 1000000)) MB file ≤ 64 MB | $RSS_G_MB MB (wall ${WALL_GIANT} s) | $(verdict "$RSS_G_MB" '<=' 64) |"
fi
echo
echo "Failed events found: trailwhy web-identity $TW_WEBID, ECR $TW_ECR (all findings $TW_ALL);" \
    "jq web-identity $JQ_WEBID, ECR $JQ_ECR; DuckDB ${DUCK_ALL:--} in all; manifest web-identity $MAN_WEBID, ECR $MAN_ECR"
status=0
if [[ $TW_WEBID -ne $JQ_WEBID ]]; then
    echo "MISMATCH: trailwhy found $TW_WEBID web-identity failures, jq $JQ_WEBID" >&2
    status=1
fi
if [[ $TW_ECR -ne $JQ_ECR ]]; then
    echo "note: ECR failures differ (trailwhy $TW_ECR, jq $JQ_ECR)" >&2
fi
if [[ -n $DUCK_ALL && $DUCK_ALL -ne $((JQ_WEBID + JQ_ECR)) ]]; then
    echo "MISMATCH: DuckDB found $DUCK_ALL failed events, jq $((JQ_WEBID + JQ_ECR))" >&2
    status=1
fi
exit $status
