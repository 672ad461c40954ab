#!/usr/bin/env python3
"""bench/watch.py: `trailwhy watch` against moto — latency from PutObject to webhook delivery,
and objects per second through the loop, at several arrival rates.

For each rate, a fresh bucket notifying a fresh queue, a webhook of this script's own (an HTTP
server recording when each delivery arrived), and one `trailwhy watch` process. Objects are
uploaded at the rate (a pool of uploaders keeps the pace); each holds RECORDS records of noise
and one denied web-identity assumption with its own event ID, explained at once (the
inventory is given). Latency is the time from the end of an object's PutObject to the arrival
of the delivery holding its event; throughput is objects over the time from the first upload
to the last delivery. It measures; it changes nothing.

Usage: bench/watch.py TRAILWHY_BINARY MOTO_URL [RATE:COUNT ...]   (default 1:30 10:200 100:1000)
A RATE of 0 is a backlog: every object is on the queue before the watcher starts, and the
figure is the loop's own throughput (no latency). `floor:N` is the simplest consumer (Python:
receive, GET, delete) over a backlog of N on the same server: the server's own ceiling.
"""

import concurrent.futures as cf
import gzip
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import boto3

ACCT = "111122223333"
ROLE = f"arn:aws:iam::{ACCT}:role/gha-web"
GH = f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"
RECORDS = int(os.environ.get("RECORDS", "100"))


def denied(event_id):
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "WebIdentityUser",
            "principalId": f"{GH}:sts.amazonaws.com:repo:acme/other:ref:refs/heads/main",
            "userName": "repo:acme/other:ref:refs/heads/main",
            "identityProvider": GH,
        },
        "eventTime": "2026-10-01T10:00:00Z",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoleWithWebIdentity",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "20.42.16.112",
        "userAgent": "aws-sdk-js/3.758.0",
        "errorCode": "AccessDenied",
        "errorMessage": "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        "requestParameters": {
            "roleArn": ROLE,
            "roleSessionName": "GitHubActions",
            "durationSeconds": 3600,
        },
        "responseElements": None,
        "requestID": "req-" + event_id,
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCT,
        "eventCategory": "Management",
    }


def noise(i):
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
        "eventTime": "2026-10-01T10:00:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "ec2.amazonaws.com",
        "userAgent": "ec2.amazonaws.com",
        "requestParameters": {"maxResults": 1000},
        "responseElements": None,
        "eventID": str(uuid.uuid4()),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCT,
    }


def inventory(path):
    trust = {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": GH},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/web:*"}},
        }],
    }
    doc = {
        "UserDetailList": [], "GroupDetailList": [], "Policies": [], "IsTruncated": False,
        "RoleDetailList": [{
            "Path": "/", "RoleName": "gha-web", "RoleId": "AROAEXAMPLE", "Arn": ROLE,
            "CreateDate": "2024-01-01T00:00:00Z", "AssumeRolePolicyDocument": trust,
            "RolePolicyList": [], "AttachedManagedPolicies": [], "Tags": [],
        }],
    }
    with open(path, "w") as f:
        json.dump(doc, f)


def bucket_and_queue(s3, sqs, name):
    """A bucket notifying a new queue of every object created; returns the queue URL."""
    s3.create_bucket(Bucket=name)
    q = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )
    return q


def trail_object(i, event_id):
    """Object i: its trail key and gzipped body (RECORDS records, one a denied assumption)."""
    records = [noise(j) for j in range(RECORDS - 1)] + [denied(event_id)]
    key = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/10/01/{ACCT}_CloudTrail_us-east-1_20261001T1005Z_{i:06d}.json.gz"
    return key, gzip.compress(json.dumps({"Records": records}).encode())


class Hook(http.server.BaseHTTPRequestHandler):
    arrivals = {}
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        now = time.time()
        with Hook.lock:
            for f in body["findings"]:
                for e in f["event_ids"]:
                    Hook.arrivals.setdefault(e, now)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def run(binary, moto, rate, count, work):
    s3 = boto3.client("s3", endpoint_url=moto)
    sqs = boto3.client("sqs", endpoint_url=moto)
    name = f"bench-{rate}-{uuid.uuid4().hex[:6]}"
    bucket_and_queue(s3, sqs, name)
    bodies = []
    for i in range(count):
        eid = str(uuid.uuid4())
        bodies.append((eid, *trail_object(i, eid)))
    Hook.arrivals = {}
    if rate == 0:
        # a backlog: every object on the queue before the watcher starts
        with cf.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda b: s3.put_object(Bucket=name, Key=b[1], Body=b[2]), bodies))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
    env = dict(os.environ)
    proc = subprocess.Popen(
        [binary, "watch", f"sqs://{name}", "--endpoint-url", moto, "--state", os.path.join(work, f"{name}.json"),
         "--iam", os.path.join(work, "iam.json"), "--webhook", hook, "--wait", "1", "-q"],
        env=env, stdout=subprocess.DEVNULL,
    )
    put_done = {}
    started = time.time()
    if rate == 0:
        count_only = True
    else:
        count_only = False
        time.sleep(1.5)  # the watcher is up and polling
        started = time.time()

    def put(i):
        eid, key, body = bodies[i]
        target = started + i / rate
        delay = target - time.time()
        if delay > 0:
            time.sleep(delay)
        s3.put_object(Bucket=name, Key=key, Body=body)
        put_done[eid] = time.time()

    if not count_only:
        with cf.ThreadPoolExecutor(max_workers=max(4, min(64, rate))) as pool:
            list(pool.map(put, range(count)))
    uploaded = time.time()
    deadline = uploaded + 120
    while len(Hook.arrivals) < count and time.time() < deadline:
        time.sleep(0.05)
    proc.terminate()
    proc.wait(timeout=60)
    server.shutdown()
    got = dict(Hook.arrivals)
    latencies = sorted(got[e] - put_done[e] for e in got if e in put_done)
    last = max(got.values()) if got else float("nan")
    return {
        "rate": rate,
        "objects": count,
        "achieved_upload_rate": None if count_only else round(count / (uploaded - started), 1),
        "delivered": len(got),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3) if latencies else None,
        "latency_max_s": round(latencies[-1], 3) if latencies else None,
        "objects_per_s": round(len(got) / (last - started), 1) if got else None,
    }


def floor(moto, count):
    """The simplest consumer on the same server, for scale: receive, GET each object named
    (not even decompressed), delete the batch; over a backlog of `count` objects."""
    import urllib.parse
    s3 = boto3.client("s3", endpoint_url=moto)
    sqs = boto3.client("sqs", endpoint_url=moto)
    name = f"floor-{uuid.uuid4().hex[:6]}"
    q = bucket_and_queue(s3, sqs, name)

    def put(i):
        key, body = trail_object(i, str(uuid.uuid4()))
        s3.put_object(Bucket=name, Key=key, Body=body)

    with cf.ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, range(count)))
    started, n = time.time(), 0
    while True:
        msgs = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            for r in json.loads(m["Body"]).get("Records", []):
                key = urllib.parse.unquote_plus(r["s3"]["object"]["key"])
                s3.get_object(Bucket=name, Key=key)["Body"].read()
                n += 1
        sqs.delete_message_batch(QueueUrl=q, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
    took = time.time() - started - 1  # the last, empty, receive
    return {"floor": "python receive/get/delete, no reading", "objects": n, "objects_per_s": round(n / took, 1)}


def main():
    binary, moto = sys.argv[1], sys.argv[2]
    plans = sys.argv[3:] or ["1:30", "10:200", "100:1000", "0:1000", "floor:1000"]
    with tempfile.TemporaryDirectory() as work:
        inventory(os.path.join(work, "iam.json"))
        for p in plans:
            rate, count = p.split(":")
            if rate == "floor":
                print(json.dumps(floor(moto, int(count))), flush=True)
                continue
            print(json.dumps(run(binary, moto, int(rate), int(count), work)), flush=True)


if __name__ == "__main__":
    main()
