"""Runs one CloudTrail Lake SQL statement in DuckDB over CloudTrail records.

A test server of ours (tests/lake.rs) calls this for every StartQuery it receives: the
records (one JSON event per line, in RECORDS) become a table with Lake's column names and
types (eventTime a TIMESTAMP, userIdentity a STRUCT, eventJson the whole event), the
statement's `FROM <event data store id>` names that table, and the selected rows are printed
as one JSON array of row objects (every value a string or null, as Lake returns them).

usage: python3 run_sql.py RECORDS STORE_ID < statement.sql
"""

import json
import sys

import duckdb

records_path, store_id = sys.argv[1], sys.argv[2]
sql = sys.stdin.read()

con = duckdb.connect()
con.execute(
    """CREATE TABLE lake_events (
        eventjson VARCHAR,
        eventtime TIMESTAMP,
        eventsource VARCHAR,
        eventname VARCHAR,
        awsregion VARCHAR,
        errorcode VARCHAR,
        errormessage VARCHAR,
        recipientaccountid VARCHAR,
        eventid VARCHAR,
        useridentity STRUCT(type VARCHAR, accountid VARCHAR, arn VARCHAR, principalid VARCHAR),
        requestparameters MAP(VARCHAR, VARCHAR)
    )"""
)
rows = []
with open(records_path, encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        e = json.loads(line)
        u = e.get("userIdentity") or {}
        # Lake's requestParameters: a map of strings (nested values as JSON text)
        params = e.get("requestParameters") or {}
        if not isinstance(params, dict):
            params = {}
        keys = list(params)
        values = [v if isinstance(v, str) else json.dumps(v) for v in params.values()]
        rows.append(
            (
                line.strip(),
                e["eventTime"].replace("T", " ").rstrip("Z"),
                e.get("eventSource"),
                e.get("eventName"),
                e.get("awsRegion"),
                e.get("errorCode"),
                e.get("errorMessage"),
                e.get("recipientAccountId"),
                e.get("eventID"),
                {
                    "type": u.get("type"),
                    "accountid": u.get("accountId"),
                    "arn": u.get("arn"),
                    "principalid": u.get("principalId"),
                },
                {"key": keys, "value": values},
            )
        )
if rows:
    con.executemany("INSERT INTO lake_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

needle = "FROM " + store_id
if needle not in sql:
    sys.exit(f"the statement does not select FROM {store_id}: {sql}")
cur = con.execute(sql.replace(needle, "FROM lake_events"))
names = [d[0] for d in cur.description]
out = [
    {n: (None if v is None else str(v)) for n, v in zip(names, row)}
    for row in cur.fetchall()
]
json.dump(out, sys.stdout)
