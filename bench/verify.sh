#!/usr/bin/env bash
# What `--verify` costs: `explain` against `explain --verify` and `trailwhy verify` on the
# gen-corpus trail, with digest files written as CloudTrail writes them.
#
# gen-corpus's own digest files are placeholders (they do not hash the logs); this script
# replaces them with hourly digests per account and region that list every log file with the
# SHA-256 of its uncompressed content, chained by previousDigestHashValue, unsigned (as a
# local copy is: signatures live in S3 metadata). It then checks that every log file comes
# out verified and times the three commands with hyperfine.
#
#   cargo build --release -p trailwhy -p gen-corpus --bins
#   bench/verify.sh [DIR]        # RUNS=5 BIN=$CARGO_TARGET_DIR/release/trailwhy
set -euo pipefail
DIR=${1:-/tmp/trailwhy-verify-corpus}
RUNS=${RUNS:-5}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/trailwhy}
GEN=${GEN:-$TARGET/release/gen-corpus}

if [ ! -d "$DIR/AWSLogs" ]; then
    "$GEN" --out "$DIR"
fi

python3 - "$DIR" <<'PY'
import gzip, hashlib, json, os, re, sys, datetime as dt
root = sys.argv[1]
name = re.compile(r"^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4})Z_[^/]+\.json\.gz$")
groups = {}
for dirpath, dirs, files in os.walk(os.path.join(root, "AWSLogs")):
    if "CloudTrail-Digest" in dirpath.split(os.sep):
        for f in files:
            os.remove(os.path.join(dirpath, f))
        continue
    for f in files:
        m = name.match(f)
        if not m:
            continue
        acct, region, stamp = m.groups()
        rel = os.path.relpath(os.path.join(dirpath, f), root)
        base = rel[: rel.index(acct + "/CloudTrail/")]  # "AWSLogs/[o-x/]"
        t = dt.datetime.strptime(stamp, "%Y%m%dT%H%M").replace(tzinfo=dt.timezone.utc)
        hour = t.replace(minute=0)
        groups.setdefault((base, acct, region), {}).setdefault(hour, []).append(rel)
iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
digests = logs = 0
for (base, acct, region), hours in sorted(groups.items()):
    prev = None
    h, last = min(hours), max(hours)
    while h <= last:
        end = h + dt.timedelta(hours=1)
        entries = []
        for rel in sorted(hours.get(h, [])):
            plain = gzip.decompress(open(os.path.join(root, rel), "rb").read())
            entries.append({"s3Bucket": "bench-bucket", "s3Object": rel,
                            "hashValue": hashlib.sha256(plain).hexdigest(), "hashAlgorithm": "SHA-256"})
            logs += 1
        key = (f"{base}{acct}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
               f"{acct}_CloudTrail-Digest_{region}_bench_{region}_{end:%Y%m%dT%H%M%S}Z.json.gz")
        body = json.dumps({
            "awsAccountId": acct, "digestStartTime": iso(h), "digestEndTime": iso(end),
            "digestS3Bucket": "bench-bucket", "digestS3Object": key,
            "digestPublicKeyFingerprint": "00" * 16, "digestSignatureAlgorithm": "SHA256withRSA",
            "previousDigestS3Bucket": prev and "bench-bucket", "previousDigestS3Object": prev and prev[0],
            "previousDigestHashValue": prev and prev[1], "previousDigestHashAlgorithm": prev and "SHA-256",
            "previousDigestSignature": None, "logFiles": entries}).encode()
        path = os.path.join(root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(gzip.compress(body))
        prev = (key, hashlib.sha256(body).hexdigest())
        digests += 1
        h = end
print(f"wrote {digests} digest files over {logs} log files", file=sys.stderr)
PY

# every log file verified, nothing else
"$BIN" verify "$DIR" --format json -o /tmp/verify-bench.json
python3 -c '
import json; i = json.load(open("/tmp/verify-bench.json"))["integrity"]
print("log files", i["log_files"], "digests", i["digest_files"])
assert i["log_files"]["verified"] > 0 and i["log_files"]["altered"] + i["log_files"]["deleted"] + i["log_files"]["unlisted"] == 0'

gz_mb=$(du -sm --apparent-size "$DIR/AWSLogs" | cut -f1)
echo "corpus: $gz_mb MB on disk"
hyperfine --warmup 1 --runs "$RUNS" -N \
    --command-name explain "$BIN explain $DIR --format json -q -o /dev/null" \
    --command-name "explain --verify" "$BIN explain --verify $DIR --format json -q -o /dev/null" \
    --command-name verify "$BIN verify $DIR --format json -o /dev/null" \
    --command-name "sha256sum of the .gz bytes (1 core)" "sh -c 'find $DIR/AWSLogs -path */CloudTrail/* -name *.json.gz -print0 | xargs -0 cat | sha256sum'"
