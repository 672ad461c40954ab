#!/usr/bin/env bash
# bench/s3.sh: times `trailwhy explain s3://BUCKET` against a local S3-compatible server
# (moto_server) and `trailwhy explain` of the same tree on local disk, over the same time
# window; checks that both give the same findings; reports objects fetched, gzip and JSON
# throughput, records per second, the CPU time moto_server itself used and the requests it
# served, and, as the server's own ceiling, curl fetching the same objects without decoding
# them; prints a Markdown table (see BENCHMARKS.md, "S3 source against local disk"). It
# measures; it changes nothing.
#
# Usage: bench/s3.sh CORPUS_DIR     (a directory holding AWSLogs/, e.g. from gen-corpus)
# Environment:
#   RUNS=3              timed runs per command (interleaved; the median is reported)
#   CONCURRENCY="8 16 32"  --s3-concurrency values to time (16 is trailwhy's default)
#   TRAILWHY=path       binary to measure (default: cargo build --release --bin trailwhy in
#                       the repository, target dir ${CARGO_TARGET_DIR:-ROOT/target}); it is
#                       copied to a temporary directory first, so rebuilds do not disturb it
#   SINCE=T UNTIL=T     the window (default: from the day before the first day folder of
#                       AWSLogs/ to the day after the last, so the whole corpus is in it;
#                       with a narrower one S3 fetches fewer objects, while a directory is
#                       still read whole: MB/s and records/s are of what each row read, the
#                       S3 rows' gzip bytes summed over the objects moto's log shows fetched)
#   THREADS=N           --threads for every trailwhy run (default: trailwhy's, all cores)
#   MOTO_PORT=N         port for moto_server (default: a free loopback port)
#   CURL_PARALLEL=16    transfers at once for the curl row (SKIP_CURL=1: no curl row)
#   SKIP_LIST=1         no listing-only row (trailwhy with a window just after the last
#                       delivery: it lists the last day's folders and fetches nothing)
# Needs moto_server (PyPI moto[server], installed with pip when missing), python3 with boto3
# (moto brings it), jq and /usr/bin/time; curl >= 7.75 (--aws-sigv4) for the curl row.
set -euo pipefail

if [[ $# -ne 1 || ! -d "$1/AWSLogs" ]]; then
    echo "usage: $0 CORPUS_DIR   (a directory holding AWSLogs/, e.g. from gen-corpus)" >&2
    exit 2
fi
CORPUS=$(cd "$1" && pwd)
RUNS=${RUNS:-3}
read -r -a CONC <<<"${CONCURRENCY:-8 16 32}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUCKET=trailwhy-bench
WORK=$(mktemp -d /tmp/trailwhy-s3bench.XXXXXX)
MOTO_PID=""

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    if [[ -n $MOTO_PID ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -------------------------------------------------------------------------------
command -v jq >/dev/null || die "missing jq (apt-get install jq)"
[[ -x /usr/bin/time ]] || die "missing /usr/bin/time (apt-get install time)"
if ! command -v moto_server >/dev/null 2>&1; then
    say "installing moto[server]"
    python3 -m pip install --quiet 'moto[server]>=5.1,<6'
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
command -v moto_server >/dev/null || die "moto_server is not on PATH after installing moto[server]"
python3 -c 'import boto3' 2>/dev/null || die "python3 cannot import boto3 (pip install boto3)"
CURL_PARALLEL=${CURL_PARALLEL:-16}
if [[ -z ${SKIP_CURL:-} ]] && ! curl --help all 2>/dev/null | grep -q -- --aws-sigv4; then
    say "curl missing or without --aws-sigv4 (< 7.75): no curl row"
    SKIP_CURL=1
fi

if [[ -z ${TRAILWHY:-} ]]; then
    say "building trailwhy (release, ${CARGO_TARGET_DIR:-$ROOT/target})"
    (cd "$ROOT" && cargo build --release --quiet --bin trailwhy)
    TRAILWHY=${CARGO_TARGET_DIR:-$ROOT/target}/release/trailwhy
fi
[[ -x $TRAILWHY ]] || die "no binary at $TRAILWHY"
mkdir -p "$WORK/bin"
cp "$TRAILWHY" "$WORK/bin/trailwhy"
TW=$WORK/bin/trailwhy
"$TW" explain --help | grep -q -- '--s3-concurrency' || die "$TRAILWHY has no --s3-concurrency flag"

# --- the corpus and the window ------------------------------------------------------------
# The log files trailwhy reads (digest files sit in CloudTrail-Digest/ and are skipped both
# from disk and from S3).
find "$CORPUS/AWSLogs" -name '*.json.gz' -path '*/CloudTrail/*' | sort >"$WORK/files.txt"
NFILES=$(wc -l <"$WORK/files.txt")
((NFILES > 0)) || die "no CloudTrail log files under $CORPUS/AWSLogs"
GZ_BYTES=$(xargs -a "$WORK/files.txt" stat -c %s | awk '{ t += $1 } END { printf "%d", t }')
ALL_OBJECTS=$(find "$CORPUS/AWSLogs" -type f | wc -l)
# Day folders (…/CloudTrail/REGION/YYYY/MM/DD/file): the window runs from the day before the
# first to the day after the last, since a file's events precede its delivery time.
sed -E 's|.*/CloudTrail/[^/]+/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]+$|\1-\2-\3|' "$WORK/files.txt" |
    sort -u >"$WORK/days.txt"
FIRST_DAY=$(head -1 "$WORK/days.txt")
LAST_DAY=$(tail -1 "$WORK/days.txt")
SINCE=${SINCE:-$(date -u -d "$FIRST_DAY -1 day" +%Y-%m-%dT00:00:00Z)}
UNTIL=${UNTIL:-$(date -u -d "$LAST_DAY +1 day" +%Y-%m-%dT00:00:00Z)}
# The listing-only row: a one-minute window just after the last delivery time in the file
# names, so the last day's folders are listed and every object in them is pruned.
LAST_DELIVERY=$(grep -oE '_[0-9]{8}T[0-9]{4}Z_' "$WORK/files.txt" | sort | tail -1 |
    sed -E 's/_([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})Z_/\1-\2-\3 \4:\5 UTC/')
LIST_SINCE=$(date -u -d "$LAST_DELIVERY +1 minute" +%Y-%m-%dT%H:%M:00Z)
LIST_UNTIL=$(date -u -d "$LAST_DELIVERY +2 minutes" +%Y-%m-%dT%H:%M:00Z)
THREAD_ARGS=()
[[ -z ${THREADS:-} ]] || THREAD_ARGS=(--threads "$THREADS")
say "corpus $CORPUS: $NFILES log files ($ALL_OBJECTS objects with digests), $((GZ_BYTES / 1000000)) MB gzip; days $FIRST_DAY … $LAST_DAY; window $SINCE … $UNTIL"

# --- moto_server -------------------------------------------------------------------------
PORT=${MOTO_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
URL=http://127.0.0.1:$PORT
say "starting moto_server on $URL"
# The pyenv shim and `pyenv exec` exec the interpreter, so $! is moto_server's own process.
# moto_server's request log, with the time of day replaced by the Unix time in microseconds
# ("[T 1760000000.123456]", still two fields): the time to the first GET is read from it. A
# line is written when the answer's headers go out.
MOTO_ACCOUNT_ID=111122223333 python3 -c '
import sys, time
import werkzeug.serving
werkzeug.serving.WSGIRequestHandler.log_date_time_string = lambda self: "T %.6f" % time.time()
from moto.server import main
main(sys.argv[1:])
' -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for ((i = 0; ; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    kill -0 "$MOTO_PID" 2>/dev/null || { cat "$WORK/moto.log" >&2; die "moto_server exited"; }
    ((i < 300)) || die "moto_server did not listen on port $PORT within 30 s"
    sleep 0.1
done
MOTO_VERSION=$(python3 -c 'import moto; print(moto.__version__)')
CLK_TCK=$(getconf CLK_TCK)
# CPU seconds (user+sys, all threads) moto_server has used so far: /proc/PID/stat fields 14, 15.
moto_cpu() {
    local stat rest
    stat=$(<"/proc/$MOTO_PID/stat")
    rest=${stat##*) } # fields from 3 on (the command name may hold spaces)
    awk -v t="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / t }' <<<"$rest"
}
moto_rss_mb() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$MOTO_PID/status"; }
# moto_server logs one line per request ('"GET /bucket/key?query HTTP/1.1" 200 -'). The
# requests logged since line $1 of its log, as "N HEAD, N list, N object GETs, N other, N not 2xx".
moto_requests() {
    tail -n +"$(($1 + 1))" "$WORK/moto.log" | awk '
        / HTTP\/1\.1" / {
            for (i = 1; i <= NF; i++) if ($i ~ /^"(GET|HEAD|PUT|POST|DELETE)$/) break
            m = substr($i, 2); path = $(i + 1); code = $(i + 3)
            if (m == "HEAD") head++
            else if (m == "GET" && path ~ /[?&]list-type=/) list++
            else if (m == "GET") get++
            else other++
            if (code !~ /^2/) bad++
        }
        END { printf "%d HEAD, %d list, %d object GETs, %d other, %d not 2xx", head, list, get, other, bad }'
}
moto_lines() { wc -l <"$WORK/moto.log"; }
# Seconds from $2 (Unix time) to the first object GET logged since line $1 ("–" if none).
first_get() {
    tail -n +"$(($1 + 1))" "$WORK/moto.log" | awk -v t0="$2" '
        !found && $4 == "[T" && $6 == "\"GET" && $7 !~ /[?&]list-type=/ && $7 ~ /\/AWSLogs\// {
            t = $5; sub(/\]$/, "", t); printf "%.3f", t - t0; found = 1 }
        END { if (!found) print "–" }'
}

# Dummy credentials, nothing read from ~/.aws: every request goes to moto.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$WORK/no-aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/no-aws-credentials
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

# --- upload ------------------------------------------------------------------------------
say "uploading $ALL_OBJECTS objects of AWSLogs/ to s3://$BUCKET"
UPLOAD_START=$(date +%s.%N)
python3 - "$URL" "$BUCKET" "$CORPUS" >"$WORK/upload.txt" <<'EOF'
# Upload CORPUS/AWSLogs/** to the bucket under the same keys (AWSLogs/…), 16 at a time.
import os, sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config

url, bucket, corpus = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, max_pool_connections=32,
                                retries={"max_attempts": 10, "mode": "standard"}))
s3.create_bucket(Bucket=bucket)
paths = []
for d, _, names in os.walk(os.path.join(corpus, "AWSLogs")):
    paths.extend(os.path.join(d, n) for n in names)
def put(path):
    with open(path, "rb") as f:
        body = f.read()
    s3.put_object(Bucket=bucket, Key=os.path.relpath(path, corpus), Body=body)
    return len(body)
with ThreadPoolExecutor(16) as pool:
    total = sum(pool.map(put, sorted(paths)))
listed = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    listed += page.get("KeyCount", 0)
print(len(paths), total, listed)
EOF
read -r UP_OBJECTS UP_BYTES UP_LISTED <"$WORK/upload.txt"
UPLOAD_S=$(awk -v a="$UPLOAD_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[[ $UP_LISTED -eq $UP_OBJECTS ]] || die "uploaded $UP_OBJECTS objects but the bucket lists $UP_LISTED"
say "uploaded $UP_OBJECTS objects, $((UP_BYTES / 1000000)) MB in $UPLOAD_S s; moto_server RSS $(moto_rss_mb) MB"

# --- commands ----------------------------------------------------------------------------
declare -A LABEL CMD
ORDER=(local)
LABEL[local]="local disk"
CMD[local]="$TW explain $CORPUS/AWSLogs --since $SINCE --until $UNTIL ${THREAD_ARGS[*]} --format ndjson --quiet"
for c in "${CONC[@]}"; do
    ORDER+=("s3-$c")
    LABEL[s3-$c]="s3:// via moto_server, --s3-concurrency $c"
    CMD[s3-$c]="$TW explain s3://$BUCKET --endpoint-url $URL --since $SINCE --until $UNTIL ${THREAD_ARGS[*]} --s3-concurrency $c --format ndjson --quiet"
done
if [[ -z ${SKIP_LIST:-} ]]; then
    ORDER+=(list)
    LABEL[list]="s3:// listing only (--since $LIST_SINCE --until $LIST_UNTIL)"
    CMD[list]="$TW explain s3://$BUCKET --endpoint-url $URL --since $LIST_SINCE --until $LIST_UNTIL ${THREAD_ARGS[*]} --format ndjson --quiet"
fi
if [[ -z ${SKIP_CURL:-} ]]; then
    # The server's ceiling: signed GETs of the same objects, bodies discarded, sizes printed.
    {
        printf '%s\n' 'write-out = "%{size_download}\n"'
        awk -v c="$CORPUS/" -v u="$URL/$BUCKET/" \
            '{ print "url = \"" u substr($0, length(c) + 1) "\""; print "output = \"/dev/null\"" }' "$WORK/files.txt"
    } >"$WORK/curl.cfg"
    ORDER+=(curl)
    LABEL[curl]="curl, same objects, $CURL_PARALLEL at a time, no decoding"
    CMD[curl]="curl -sS --fail --no-progress-meter --parallel --parallel-max $CURL_PARALLEL --aws-sigv4 aws:amz:us-east-1:s3 --user test:test -K $WORK/curl.cfg"
fi

# One untimed run of each source with --format json for the summary (files read, records,
# objects listed and fetched); it also warms the page cache and moto.
summary() { # key: runs the command with --format json instead of ndjson
    local cmd=${CMD[$1]/--format ndjson/--format json}
    sh -c "$cmd" >"$WORK/$1.json" || die "${LABEL[$1]} failed (--format json run)"
}
say "summary runs (untimed)"
summary local
S3KEY=s3-${CONC[0]}
for c in "${CONC[@]}"; do [[ $c != 16 ]] || S3KEY=s3-16; done
N0=$(moto_lines)
summary "$S3KEY"
sleep 0.2
S3_REQUESTS=$(moto_requests "$N0")
# The gzip bytes the s3:// run fetched: the sizes of the objects it GET, from moto's log.
S3_GZ=$(tail -n +"$((N0 + 1))" "$WORK/moto.log" |
    awk -v b="/$BUCKET/" '$6 == "\"GET" && index($7, b) == 1 && $7 !~ /[?&]list-type=/ {
        k = substr($7, length(b) + 1); sub(/\?.*/, "", k); print k }' |
    sort -u | (cd "$CORPUS" && xargs -r stat -c %s) | awk '{ t += $1 } END { printf "%d", t }')
jq '.summary | del(.skipped)' "$WORK/$S3KEY.json" >&2
RECORDS=$(jq -r '.summary.records_scanned' "$WORK/local.json")
RAW_BYTES=$(jq -r '.summary.bytes_decompressed' "$WORK/local.json")
LOCAL_FILES=$(jq -r '.summary.files_read' "$WORK/local.json")
S3_RECORDS=$(jq -r '.summary.records_scanned' "$WORK/$S3KEY.json")
S3_RAW=$(jq -r '.summary.bytes_decompressed' "$WORK/$S3KEY.json")
S3_READ=$(jq -r '.summary.files_read' "$WORK/$S3KEY.json")
S3_UNREADABLE=$(jq -r '.summary.files_unreadable + .summary.files_partly_read' "$WORK/$S3KEY.json")
read -r S3_LISTREQ S3_LISTED S3_PRUNED S3_FETCHED < <(jq -r \
    '.summary.s3 | "\(.list_requests) \(.objects_listed) \(.objects_pruned) \(.objects_fetched)"' "$WORK/$S3KEY.json")
[[ $S3_FETCHED != null ]] || die "the s3:// run's summary has no s3 statistics"
[[ $S3_UNREADABLE -eq 0 ]] || die "the s3:// run could not read $S3_UNREADABLE objects (or read them only in part)"
[[ $S3_READ -eq $S3_FETCHED ]] || die "the s3:// run fetched $S3_FETCHED objects but read $S3_READ"
if [[ $S3_FETCHED -ne $NFILES || $S3_RECORDS -ne $RECORDS || $S3_RAW -ne $RAW_BYTES || $S3_GZ -ne $GZ_BYTES ]]; then
    say "note: the s3:// run read $S3_FETCHED objects ($S3_GZ bytes gzip, $S3_RAW JSON, $S3_RECORDS records)," \
        "the local one $LOCAL_FILES files ($GZ_BYTES, $RAW_BYTES, $RECORDS): the window prunes objects in S3 only"
fi

# --- timing ------------------------------------------------------------------------------
# Interleaved round-robin (run 1 of every command, then run 2, …) so outside load hits all
# alike. /usr/bin/time gives wall, user+sys CPU and peak RSS of trailwhy; moto_server's CPU
# time is read from /proc before and after each run.
declare -A WALLS CPUS RSSS MOTOS REQS FIRSTS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
time_once() { # key run
    local wall user sys rss m0 m1 n0 t0
    n0=$(moto_lines)
    m0=$(moto_cpu)
    t0=$(date +%s.%N)
    if ! /usr/bin/time -f '%e %U %S %M' -o "$WORK/t.txt" sh -c "${CMD[$1]} > $WORK/$1.$2.ndjson"; then
        die "${LABEL[$1]} exited with an error (run $2)"
    fi
    sleep 0.2 # moto_server logs a request after answering it
    m1=$(moto_cpu)
    [[ $1 == local ]] || REQS[$1]+="$(moto_requests "$n0")"$'\n'
    [[ $1 == local || $1 == list ]] || FIRSTS[$1]+="$(first_get "$n0" "$t0") "
    read -r wall user sys rss < <(tail -1 "$WORK/t.txt")
    WALLS[$1]+="$wall "
    CPUS[$1]+="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') "
    RSSS[$1]+="$rss "
    MOTOS[$1]+="$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.2f", b - a }') "
}
for ((r = 1; r <= RUNS; r++)); do
    for k in "${ORDER[@]}"; do
        say "run $r: ${LABEL[$k]}"
        time_once "$k" "$r"
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
MOTO_RSS=$(moto_rss_mb)

# --- same findings -----------------------------------------------------------------------
sort "$WORK/local.1.ndjson" >"$WORK/local.sorted"
FINDINGS=$(wc -l <"$WORK/local.sorted")
status=0
for k in "${ORDER[@]}"; do
    [[ $k != curl && $k != list ]] || continue
    for ((r = 1; r <= RUNS; r++)); do
        if ! sort "$WORK/$k.$r.ndjson" | cmp -s - "$WORK/local.sorted"; then
            echo "MISMATCH: ${LABEL[$k]} run $r: findings differ from local disk run 1 (sorted ndjson):" >&2
            sort "$WORK/$k.$r.ndjson" | diff "$WORK/local.sorted" - | head -20 >&2 || true
            status=1
        fi
    done
done
((FINDINGS > 0)) || { echo "MISMATCH: no findings at all" >&2; status=1; }
if [[ -n ${CMD[curl]:-} ]]; then
    for ((r = 1; r <= RUNS; r++)); do
        got=$(awk '{ t += $1 } END { printf "%d", t }' "$WORK/curl.$r.ndjson")
        [[ $got -eq $GZ_BYTES ]] || { echo "MISMATCH: curl run $r fetched $got bytes, the files hold $GZ_BYTES" >&2; status=1; }
    done
fi

# --- report ------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lo() { tr ' ' '\n' | grep . | sort -g | head -1; }
hi() { tr ' ' '\n' | grep . | sort -g | tail -1; }
fmt() { awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; }
div() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { printf "%.*f", d, a / b }'; }
echo
echo "Corpus: $CORPUS — $NFILES log files, $((RAW_BYTES / 1000000)) MB JSON, $((GZ_BYTES / 1000000)) MB gzip, $RECORDS records;" \
    "bucket: $UP_OBJECTS objects (digests included), uploaded in $UPLOAD_S s."
echo "Window --since $SINCE --until $UNTIL. trailwhy $("$TW" --version 2>/dev/null | awk '{ print $NF }'), moto $MOTO_VERSION," \
    "$(nproc) cores; median of $RUNS runs, interleaved; load average before $LOAD_BEFORE, after $LOAD_AFTER."
echo "S3 listing (--format json run, ${LABEL[$S3KEY]#*, }): $S3_LISTREQ list requests, $S3_LISTED objects listed," \
    "$S3_PRUNED pruned, $S3_FETCHED fetched ($((S3_GZ / 1000000)) MB gzip, $((S3_RAW / 1000000)) MB JSON, $S3_RECORDS records); moto_server served $S3_REQUESTS. moto_server RSS after the runs: $MOTO_RSS MB."
for k in "${ORDER[@]}"; do
    [[ $k != local ]] || continue
    echo "Requests per timed run, ${LABEL[$k]}: $(sort -u <<<"${REQS[$k]}" | grep . | paste -sd ';' | sed 's/;/; or /g')."
done
echo
echo "| source | wall s (median) | min–max | first GET s (median) | min–max | objects read | MB/s gzip | MB/s JSON | records/s | trailwhy CPU s | trailwhy peak RSS MB | moto_server CPU s | moto CPU ÷ wall | wall ÷ local |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
L=$(median <<<"${WALLS[local]}")
for k in "${ORDER[@]}"; do
    w=$(median <<<"${WALLS[$k]}")
    cpu=$(median <<<"${CPUS[$k]}")
    rss=$(hi <<<"${RSSS[$k]}")
    # rates of what the row read: the whole tree from disk, the fetched objects from S3
    gz=$GZ_BYTES raw=$RAW_BYTES n=$RECORDS
    [[ $k != s3-* ]] || gz=$S3_GZ raw=$S3_RAW n=$S3_RECORDS
    mbjson=$(div "$raw" "$(awk -v w="$w" 'BEGIN { print w * 1e6 }')" 0)
    recs=$(div "$n" "$w" 0)
    mbgz=$(div "$gz" "$(awk -v w="$w" 'BEGIN { print w * 1e6 }')" 1)
    if [[ $k == local ]]; then
        objects=$LOCAL_FILES moto="–" moto_share="–"
    elif [[ $k == curl || $k == list ]]; then
        objects=$NFILES mbjson="–" recs="–"
        [[ $k == curl ]] || objects=0 mbgz="–"
        moto=$(median <<<"${MOTOS[$k]}")
        moto_share=$(div "$moto" "$w" 2)
        moto=$(fmt "$moto" 2)
    else
        objects=$S3_FETCHED
        moto=$(median <<<"${MOTOS[$k]}")
        moto_share=$(div "$moto" "$w" 2)
        moto=$(fmt "$moto" 2)
    fi
    first="–" first_range="–"
    if [[ -n ${FIRSTS[$k]:-} && ${FIRSTS[$k]} != *–* ]]; then
        first=$(fmt "$(median <<<"${FIRSTS[$k]}")" 3)
        first_range="$(fmt "$(lo <<<"${FIRSTS[$k]}")" 3)–$(fmt "$(hi <<<"${FIRSTS[$k]}")" 3)"
    fi
    printf '| %s | %s | %s–%s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${LABEL[$k]}" \
        "$(fmt "$w" 2)" "$(fmt "$(lo <<<"${WALLS[$k]}")" 2)" "$(fmt "$(hi <<<"${WALLS[$k]}")" 2)" "$first" "$first_range" "$objects" \
        "$mbgz" "$mbjson" "$recs" "$(fmt "$cpu" 2)" "$((rss / 1024))" "$moto" "$moto_share" "$(div "$w" "$L" 2)"
done
echo
if ((status == 0)); then
    echo "Findings: $FINDINGS, identical (sorted ndjson) for every source and run."
else
    echo "Findings: MISMATCH between local disk and s3:// (see stderr)."
fi
exit $status
