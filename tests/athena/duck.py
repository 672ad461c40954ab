#!/usr/bin/env python3
"""An Athena-shaped CloudTrail table in DuckDB, for tests/athena_sql.rs.

Reads one request (JSON, path in argv[1]):

    {"bucket": "b", "database": "trail", "table": "cloudtrail_logs",
     "identity_provider": true,             # useridentity has identityprovider
     "files": [{"path": "/tmp/.../x.json.gz", "key": "AWSLogs/o-abc/1111/CloudTrail/us-east-1/2026/10/01/x.json.gz"}],
     "partitions": [{"name": "account", "from": "account"},
                    {"name": "timestamp", "from": "yyyy/MM/dd"}],
     "statements": ["SELECT ..."]}

builds the table from the same gzip files the local scanner reads, as Athena's JsonSerDe
sees them: the AWS table's column names and types (structs as STRUCTs, JSON fragments such
as requestparameters as JSON text or NULL, resources as a LIST of STRUCTs, keys matched
case-insensitively), the hidden "$path" column (s3://bucket/key) and the partition columns
derived from the key (`account`, `region`, or a date format of yyyy, MM, dd). It defines
only the two macros `json_extract_scalar` and `from_iso8601_timestamp`, parses every
statement as Trino SQL with sqlglot (error level raise), runs it, and prints
{"results": [{"columns": [...], "rows": [[...], ...]} | {"error": "..."}]} (nulls kept).
"""

import gzip
import json
import os
import sys
import tempfile

import duckdb
import sqlglot
from sqlglot.errors import ErrorLevel

S = "string"


def struct(*fields):
    return ("struct", list(fields))


ISSUER = struct(("type", S), ("principalid", S), ("arn", S), ("accountid", S), ("username", S))


def columns(identity_provider):
    ident = [
        ("type", S), ("principalid", S), ("arn", S), ("accountid", S), ("invokedby", S),
        ("accesskeyid", S), ("username", S),
    ]
    if identity_provider:
        ident.append(("identityprovider", S))
    ident.append(("sessioncontext", struct(
        ("attributes", struct(("mfaauthenticated", S), ("creationdate", S))),
        ("sessionissuer", ISSUER),
    )))
    return [
        ("eventversion", S), ("useridentity", struct(*ident)), ("eventtime", S),
        ("eventsource", S), ("eventname", S), ("awsregion", S), ("sourceipaddress", S),
        ("useragent", S), ("errorcode", S), ("errormessage", S), ("requestparameters", S),
        ("responseelements", S), ("additionaleventdata", S), ("requestid", S), ("eventid", S),
        ("resources", ("array", struct(("arn", S), ("accountid", S), ("type", S)))),
        ("eventtype", S), ("apiversion", S), ("readonly", S), ("recipientaccountid", S),
        ("serviceeventdetails", S), ("sharedeventid", S), ("vpcendpointid", S),
    ]


def duck_type(t):
    if t == S:
        return "VARCHAR"
    if t[0] == "struct":
        return "STRUCT(" + ", ".join(f'"{n}" {duck_type(ft)}' for n, ft in t[1]) + ")"
    if t[0] == "array":
        return duck_type(t[1]) + "[]"
    raise ValueError(t)


def lower_keys(d):
    return {k.lower(): v for k, v in d.items()} if isinstance(d, dict) else None


def convert(v, t):
    """A JSON value read into a column of type t, as the JsonSerDe does."""
    if v is None:
        return None
    if t == S:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    if t[0] == "struct":
        d = lower_keys(v)
        if d is None:
            return None
        return {n: convert(d.get(n), ft) for n, ft in t[1]}
    if t[0] == "array":
        if not isinstance(v, list):
            return None
        return [convert(x, t[1]) for x in v]
    raise ValueError(t)


def key_parts(key):
    segs = key.split("/")
    i = segs.index("CloudTrail")
    return {"account": segs[i - 1], "region": segs[i + 1], "y": segs[i + 2], "m": segs[i + 3], "d": segs[i + 4]}


def partition_value(spec, parts):
    if spec in ("account", "region"):
        return parts[spec]
    return spec.replace("yyyy", parts["y"]).replace("MM", parts["m"]).replace("dd", parts["d"])


MACROS = [
    # Trino: NULL for a missing path, a non-scalar or text that is not JSON
    """CREATE MACRO json_extract_scalar(j, p) AS
       CASE WHEN j IS NULL OR NOT json_valid(j) THEN NULL
            WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL
            ELSE json_extract_string(j, p) END""",
    "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        req = json.load(f)
    cols = columns(req.get("identity_provider", False))
    parts_spec = req["partitions"]
    rows = []
    for file in req["files"]:
        with gzip.open(file["path"], "rt", encoding="utf-8") as f:
            records = json.load(f)["Records"]
        parts = key_parts(file["key"])
        for rec in records:
            lk = lower_keys(rec)
            row = {n: convert(lk.get(n), t) for n, t in cols}
            row["$path"] = f"s3://{req['bucket']}/{file['key']}"
            for p in parts_spec:
                row[p["name"]] = partition_value(p["from"], parts)
            rows.append(row)
    all_cols = cols + [("$path", S)] + [(p["name"], S) for p in parts_spec]
    con = duckdb.connect()
    for m in MACROS:
        con.execute(m)
    db, table = req["database"], req["table"]
    con.execute(f'CREATE SCHEMA "{db}"')
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False, encoding="utf-8") as tmp:
        for r in rows:
            tmp.write(json.dumps(r, ensure_ascii=False) + "\n")
        ndjson = tmp.name
    try:
        spec = ", ".join(f"'{n}': '{duck_type(t)}'" for n, t in all_cols)
        con.execute(
            f'CREATE TABLE "{db}"."{table}" AS SELECT * FROM read_json(?, format = \'newline_delimited\', columns = {{{spec}}})',
            [ndjson],
        )
    finally:
        os.unlink(ndjson)
    results = []
    for sql in req["statements"]:
        try:
            sqlglot.parse_one(sql, read="trino", error_level=ErrorLevel.RAISE)
        except Exception as e:  # noqa: BLE001 - reported to the test
            results.append({"error": f"sqlglot (trino): {e}"})
            continue
        try:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            out = [[None if v is None else str(v) for v in r] for r in cur.fetchall()]
            results.append({"columns": names, "rows": out})
        except Exception as e:  # noqa: BLE001
            results.append({"error": f"duckdb: {e}"})
    json.dump({"results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
