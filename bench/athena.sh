#!/usr/bin/env bash
# bench/athena.sh: `trailwhy explain athena://…` against `trailwhy explain s3://…` over the
# same bucket in a local moto_server (Athena, Glue, S3), one account's files of a corpus.
# moto runs no SQL: the statement trailwhy submits (from --dry-run) runs in DuckDB over the
# same files (tests/athena/duck.py) and its rows are seeded as the query's result. Reports,
# per source: wall time, requests moto served, objects read, the bytes Athena scans (the
# objects of the partitions the statement reads: Athena reads gzip objects whole) with
# their price, and checks both give the same findings. Prints a Markdown table (BENCHMARKS.md,
# "Athena and S3"). It measures; it changes nothing.
#
# Usage: bench/athena.sh CORPUS_DIR   (AWSLogs/ from gen-corpus, e.g. --files 1000)
# Environment:
#   ACCOUNT=111122223333   the account whose files go in the bucket
#   SINCE, UNTIL           the window (default: the corpus's first day, whole)
#   LOOKBACK=1d            --change-lookback of the athena:// run
#   TRAILWHY=path          binary (default: cargo build --release in the repository)
#   RUNS=3                 timed runs of each (median reported)
# Needs moto_server, python3 with boto3, duckdb and sqlglot, jq, /usr/bin/time.
set -euo pipefail

[[ $# -eq 1 && -d "$1/AWSLogs" ]] || { echo "usage: $0 CORPUS_DIR" >&2; exit 2; }
CORPUS=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ACCOUNT=${ACCOUNT:-111122223333}
LOOKBACK=${LOOKBACK:-1d}
RUNS=${RUNS:-3}
WORK=$(mktemp -d /tmp/trailwhy-athenabench.XXXXXX)
MOTO_PID=""
say() { printf '== %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck disable=SC2317
cleanup() {
    if [[ -n $MOTO_PID ]] && kill -0 "$MOTO_PID" 2>/dev/null; then kill "$MOTO_PID" 2>/dev/null || true; fi
    [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

command -v jq >/dev/null || die "missing jq"
command -v moto_server >/dev/null || die "missing moto_server (pip install 'moto[server]')"
python3 -c 'import boto3, duckdb, sqlglot' 2>/dev/null || die "python3 needs boto3, duckdb, sqlglot"
if [[ -z ${TRAILWHY:-} ]]; then
    (cd "$ROOT" && cargo build --release --quiet --bin trailwhy)
    TRAILWHY=${CARGO_TARGET_DIR:-$ROOT/target}/release/trailwhy
fi
TW=$TRAILWHY

TREE=$CORPUS/AWSLogs/$ACCOUNT/CloudTrail
[[ -d $TREE ]] || die "no $TREE"
find "$TREE" -name '*.json.gz' | sort >"$WORK/files.txt"
NFILES=$(wc -l <"$WORK/files.txt")
REGIONS=$(find "$TREE" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | paste -sd,)
FIRST_DAY=$(sed -E 's|.*/CloudTrail/[^/]+/([0-9]{4})/([0-9]{2})/([0-9]{2})/.*|\1-\2-\3|' "$WORK/files.txt" | sort | head -1)
SINCE=${SINCE:-${FIRST_DAY}T00:00:00Z}
UNTIL=${UNTIL:-${FIRST_DAY}T23:59:59Z}
say "$NFILES files of $ACCOUNT in $REGIONS; window $SINCE … $UNTIL"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
MOTO_ACCOUNT_ID=$ACCOUNT moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for ((i = 0; ; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    ((i < 300)) || die "moto_server did not start"
    sleep 0.1
done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
BUCKET=trail RESULTS=results DB=trails

say "seeding moto: bucket, Glue table (region enum, timestamp date projection)"
ENDPOINT=$URL python3 - "$WORK/files.txt" "$CORPUS" "$BUCKET" "$RESULTS" "$DB" "$ACCOUNT" "$REGIONS" <<'EOF'
import os, sys, boto3
files, corpus, bucket, results, db, account, regions = sys.argv[1:]
kw = dict(endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
s3 = boto3.client("s3", **kw)
s3.create_bucket(Bucket=bucket)
s3.create_bucket(Bucket=results)
for path in open(files).read().split():
    s3.upload_file(path, bucket, path[len(corpus) + 1:])
S = "string"
cols = [("eventversion", S), ("useridentity", "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,identityprovider:string,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>>>"),
        ("eventtime", S), ("eventsource", S), ("eventname", S), ("awsregion", S), ("sourceipaddress", S),
        ("useragent", S), ("errorcode", S), ("errormessage", S), ("requestparameters", S),
        ("responseelements", S), ("additionaleventdata", S), ("requestid", S), ("eventid", S),
        ("resources", "array<struct<arn:string,accountid:string,type:string>>"), ("eventtype", S),
        ("apiversion", S), ("readonly", S), ("recipientaccountid", S), ("serviceeventdetails", S),
        ("sharedeventid", S), ("vpcendpointid", S)]
glue = boto3.client("glue", **kw)
glue.create_database(DatabaseInput={"Name": db})
glue.create_table(DatabaseName=db, TableInput={
    "Name": "cloudtrail", "TableType": "EXTERNAL_TABLE",
    "PartitionKeys": [{"Name": "region", "Type": S}, {"Name": "timestamp", "Type": S}],
    "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in cols],
                          "Location": f"s3://{bucket}/AWSLogs/{account}/CloudTrail/"},
    "Parameters": {"projection.enabled": "true", "projection.region.type": "enum",
                   "projection.region.values": regions, "projection.timestamp.type": "date",
                   "projection.timestamp.format": "yyyy/MM/dd", "projection.timestamp.range": "2026/01/01,NOW",
                   "projection.timestamp.interval": "1", "projection.timestamp.interval.unit": "DAYS",
                   "storage.location.template": f"s3://{bucket}/AWSLogs/{account}/CloudTrail/${{region}}/${{timestamp}}"}})
EOF

ATHENA="athena://$DB.cloudtrail?output=s3://$RESULTS/q/"
COMMON=(--since "$SINCE" --until "$UNTIL" --account "$ACCOUNT" --endpoint-url "$URL" --format json --quiet)
"$TW" explain "$ATHENA" "${COMMON[@]}" --change-lookback "$LOOKBACK" --dry-run | tail -n +2 >"$WORK/stmt.sql"
QCOMMON=(--since "$SINCE" --until "$UNTIL" --account "$ACCOUNT" --endpoint-url "$URL" --quiet --event-source ecr.amazonaws.com --errors-only --count)
"$TW" query "$ATHENA" "${QCOMMON[@]}" --dry-run | tail -n +2 >"$WORK/stmt2.sql"
say "running the statement in DuckDB over the same files"
python3 - "$WORK" "$CORPUS" "$BUCKET" "$DB" <<'EOF'
import json, sys
work, corpus, bucket, db = sys.argv[1:]
files = [{"path": p, "key": p[len(corpus) + 1:]} for p in open(f"{work}/files.txt").read().split()]
json.dump({"bucket": bucket, "database": db, "table": "cloudtrail", "identity_provider": True, "files": files,
           "partitions": [{"name": "region", "from": "region"}, {"name": "timestamp", "from": "yyyy/MM/dd"}],
           "statements": [open(f"{work}/{n}").read().strip() for n in ("stmt.sql", "stmt2.sql")]},
          open(f"{work}/duck.json", "w"))
EOF
python3 "$ROOT/tests/athena/duck.py" "$WORK/duck.json" >"$WORK/duck.out"
jq -e '.results[0].rows and .results[1].rows' "$WORK/duck.out" >/dev/null || die "DuckDB: $(jq -r '.results[].error' "$WORK/duck.out")"
ROWS=$(jq '.results[0].rows | length' "$WORK/duck.out")
seed() { # STATEMENT_INDEX
    jq --arg a "$ACCOUNT" --argjson i "$1" '.results[$i] as $r | {account_id: $a, region: "us-east-1", results: [{
        rows: ([{Data: [$r.columns[] | {VarCharValue: .}]}] + [$r.rows[] | {Data: [.[] | if . == null then {} else {VarCharValue: .} end]}]),
        column_info: [$r.columns[] | {Name: ., Label: ., Type: "varchar"}]}]}' "$WORK/duck.out" >"$WORK/seed.json"
    curl -sf -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/seed.json" \
        "$URL/moto-api/static/athena/query-results" >/dev/null
}
# the bytes Athena reads: every object of the day folders the statement's partitions cover
# (the window's days, and for explain the change-event lookback's, in every region)
LB_DAYS=${LOOKBACK%d}
scan_bytes() { # LOOKBACK_DAYS
python3 - "$WORK/files.txt" "$SINCE" "$UNTIL" "$1" <<'EOF'
import os, re, sys, datetime as dt
files, since, until, lb = sys.argv[1], sys.argv[2][:10], sys.argv[3][:10], int(sys.argv[4])
first = (dt.date.fromisoformat(since) - dt.timedelta(days=lb)).isoformat()
last = (dt.datetime.fromisoformat(sys.argv[3].replace("Z", "+00:00")) + dt.timedelta(minutes=30)).date().isoformat()
t = 0
for p in open(files).read().split():
    d = re.search(r"/(\d{4})/(\d{2})/(\d{2})/", p).groups()
    if first <= "-".join(d) <= last:
        t += os.path.getsize(p)
print(t)
EOF
}
SCAN_BYTES=$(scan_bytes "$LB_DAYS")
QSCAN_BYTES=$(scan_bytes 0)
requests() { grep -cE '"(GET|POST|HEAD|PUT) ' "$WORK/moto.log"; }

declare -A WALL REQ
run() { # NAME ARGS…: timed runs, the median wall, requests of the last run
    local name=$1; shift
    local times=()
    for ((r = 0; r < RUNS; r++)); do
        [[ $name == athena ]] && seed 0
        [[ $name == athena-query ]] && seed 1
        local before; before=$(requests)
        /usr/bin/time -f '%e' -o "$WORK/t" "$TW" "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" || true
        REQ[$name]=$(($(requests) - before))
        times+=("$(cat "$WORK/t")")
    done
    WALL[$name]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
}
say "timing ($RUNS runs each)"
run s3 explain "s3://$BUCKET" "${COMMON[@]}"
run athena explain "$ATHENA" "${COMMON[@]}" --change-lookback "$LOOKBACK"
run s3-query query "s3://$BUCKET" "${QCOMMON[@]}"
run athena-query query "$ATHENA" "${QCOMMON[@]}"
[[ "$(cat "$WORK/s3-query.json")" == "$(cat "$WORK/athena-query.json")" ]] || die "different counts"
QROWS=$(jq '.results[1].rows | length' "$WORK/duck.out")
QOBJECTS=$(jq '[.results[1].rows[][1]] | unique | length' "$WORK/duck.out")
norm='[.findings[] | {cause, event_ids: (.event_ids | sort)}] | sort_by(.event_ids[0])'
[[ "$(jq -c "$norm" "$WORK/s3.json")" == "$(jq -c "$norm" "$WORK/athena.json")" ]] || die "different findings: $(diff <(jq -c "$norm" "$WORK/s3.json") <(jq -c "$norm" "$WORK/athena.json") | head -5)"
FINDINGS=$(jq '.findings | length' "$WORK/s3.json")
S3_FETCHED=$(jq '.summary.s3.objects_fetched' "$WORK/s3.json")
S3_LISTS=$(jq '.summary.s3.list_requests' "$WORK/s3.json")
A_OBJECTS=$(jq '.summary.queries[0].objects' "$WORK/athena.json")
price() { python3 -c "b=$1; mb=1<<20; print(f'{max(-(-b//mb),10)*mb/(1<<40)*5:.6f}')"; }
PRICE=$(price "$SCAN_BYTES")
QPRICE=$(price "$QSCAN_BYTES")
echo
echo "moto $(python3 -c 'import moto; print(moto.__version__)'), $NFILES objects ($ACCOUNT), window $SINCE … $UNTIL, --change-lookback $LOOKBACK, $RUNS runs (median); $FINDINGS findings, the same from both"
echo
echo "| run | wall s | requests to moto | objects read | bytes Athena scans | price |"
echo "|---|---|---|---|---|---|"
echo "| \`s3://\` | ${WALL[s3]} | ${REQ[s3]} ($S3_LISTS LIST, $S3_FETCHED GET) | $S3_FETCHED | — | S3 requests only |"
echo "| \`athena://\` (objects mode) | ${WALL[athena]} | ${REQ[athena]} | $A_OBJECTS (of $ROWS rows) | $SCAN_BYTES | \$$PRICE |"
echo "| \`query s3://\` (ECR errors, --count) | ${WALL[s3-query]} | ${REQ[s3-query]} | $S3_FETCHED | — | S3 requests only |"
echo "| \`query athena://\` (the same) | ${WALL[athena-query]} | ${REQ[athena-query]} | $QOBJECTS (of $QROWS rows) | $QSCAN_BYTES | \$$QPRICE |"
