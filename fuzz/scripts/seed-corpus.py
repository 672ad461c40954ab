#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (gitignored).

Sources, read at seed time and never committed under fuzz/: a few sample-logs files (gzip as
is, and decompressed), the records inside them, the example records in
/work/shared/real-events (or REAL_EVENTS_DIR; skipped when absent), the policy documents of
crates/iam-policy/tests/cases/ and of sample-logs/iam/, and hand-written inputs for every
shape the record splitter recognises. condition_eval takes structured input (`arbitrary`) and
starts from a few random byte strings.

Usage (from the repository root):  python3 fuzz/scripts/seed-corpus.py
Only the Python standard library is used; output is deterministic.
"""

import glob
import gzip
import hashlib
import json
import os
import random
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
REAL_EVENTS = os.environ.get("REAL_EVENTS_DIR", "/work/shared/real-events")
SPLITTER_MAX = 65536


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def sample_logs(limit):
    pattern = os.path.join(ROOT, "sample-logs", "AWSLogs", "**", "*.json.gz")
    files = sorted(glob.glob(pattern, recursive=True))
    # every kind of file: trail logs of each account, digests, the insight file
    picked, seen = [], set()
    for path in files:
        kind = (path.split("/AWSLogs/")[1].split("/")[0], "Digest" in path, "Insight" in path)
        if kind not in seen:
            seen.add(kind)
            picked.append(path)
    return (picked + [f for f in files if f not in picked])[:limit]


def splitter_seeds(records):
    for path in sample_logs(8):
        raw = open(path, "rb").read()
        plain = gzip.decompress(raw)
        if len(raw) <= SPLITTER_MAX:
            write("record_splitter", raw)
        if len(plain) <= SPLITTER_MAX:
            write("record_splitter", plain)
    sample = records[:3]
    one = json.dumps(sample[0]) if sample else '{"eventName":"x"}'
    hand = [
        b"",
        b"\xef\xbb\xbf" + one.encode(),
        json.dumps({"Records": sample}).encode(),
        json.dumps({"Events": [{"CloudTrailEvent": json.dumps(r)} for r in sample]}).encode(),
        json.dumps(sample).encode(),
        "\n".join(json.dumps(r) for r in sample).encode(),
        b'{"a":1,"Records":[{"x":"}]\\"{["},[1,2],"s",3,true,null]}',
        b'{"Records":[{"a":1}, oops\n{"b":2}\n[1,2]\n{"c":[}\n{"d":3}',
        b"1 2 3 \"x\" [] {} tru",
        b"[" * 200 + b"]" * 200,
        b'{"Recor\\"ds":[{"k":"v"}]}',
        gzip.compress(one.encode()) + gzip.compress(one.encode()),
        gzip.compress(json.dumps({"Records": sample}).encode())[:-9],
    ]
    for h in hand:
        write("record_splitter", h)


def event_seeds(records):
    for r in records:
        write("event_decoder", json.dumps(r))
        write("event_decoder", json.dumps({"CloudTrailEvent": json.dumps(r)}))
    messages = [
        "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ecr:PutImage "
        "on resource: arn:aws:ecr:eu-west-1:1:repository/web with an explicit deny in a "
        "service control policy",
        'User: x is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" '
        "because no resource-based policy allows the s3:GetObject action",
        "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:"
        "repo:a/b:ref:refs/heads/main\narn:aws:iam::1:oidc-provider/"
        "token.actions.githubusercontent.com\nrepo:a/b:ref:refs/heads/main",
        "2026-10-01T10:00:00Z",
        "90m ago",
    ]
    for m in messages:
        write("event_decoder", m)


def policies_in_case(case):
    if "policy" in case:
        yield case["policy"]
    for name, layer in case.get("policies", {}).items():
        if name in ("identity",):
            yield from layer
        elif name == "scps":
            for level in layer:
                yield from level
        else:
            yield layer


def find_policy_documents(value):
    """Policy documents inside IAM inventory files (objects or URL-encoded strings)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("Document", "AssumeRolePolicyDocument", "PolicyDocument", "policyText"):
                yield item
            else:
                yield from find_policy_documents(item)
    elif isinstance(value, list):
        for item in value:
            yield from find_policy_documents(item)


def policy_seeds():
    docs = []
    for path in sorted(glob.glob(os.path.join(ROOT, "crates", "iam-policy", "tests", "cases", "*.json"))):
        docs.extend(policies_in_case(json.load(open(path))))
    for path in sorted(glob.glob(os.path.join(ROOT, "sample-logs", "iam", "*.json"))):
        docs.extend(find_policy_documents(json.load(open(path))))
    for doc in docs:
        text = doc if isinstance(doc, str) else json.dumps(doc)
        write("policy_parser", text)
    # the other forms of a few documents: double-encoded and URL-encoded
    for doc in docs[:20]:
        text = doc if isinstance(doc, str) else json.dumps(doc)
        write("policy_parser", json.dumps(text))
        write("policy_parser", urllib.parse.quote(text))
        write("policy_parser", urllib.parse.quote_plus(text))


def condition_seeds():
    rng = random.Random(42)
    for size in (16, 64, 256, 1024):
        write("condition_eval", bytes(rng.randrange(256) for _ in range(size)))


def main():
    records = []
    for path in sorted(glob.glob(os.path.join(REAL_EVENTS, "*.json"))):
        records.append(json.load(open(path)))
    for path in sample_logs(4):
        log = json.loads(gzip.decompress(open(path, "rb").read()))
        records.extend(log.get("Records", [])[:5])
    splitter_seeds(records)
    event_seeds(records)
    policy_seeds()
    condition_seeds()
    for target in sorted(os.listdir(CORPUS)):
        print(target, len(os.listdir(os.path.join(CORPUS, target))))


if __name__ == "__main__":
    main()
