"""Checks that null-AWS (bench/lambda/harness/null_aws.py) answers like moto: the same calls the
benchmark rows make, sent with boto3 to a fresh moto (tools/moto_serial.py) and to a fresh
null-AWS server, compared by HTTP status, error code, response keys (top level and one level
down) and the values that SDKs check (MD5OfMessageBody, MD5OfMessageAttributes) or the rows
read (the old Item on a conditional failure). Also: the raw query-protocol SendMessage, and the
null server's own cost per call. Exit status 1 on any difference.

    .venv/bin/python bench/lambda/harness/check_null_aws.py [--tls]

With --tls both servers are reached through TLS (null-AWS's own TLS mode; moto behind
null_aws.py --proxy-to) with the local CA of bench/lambda/tls/make_certs.sh.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lambench as lb  # noqa: E402

HERE = Path(__file__).resolve().parent


def start_null(port: int, tls: tuple[str, str] | None = None, proxy_to: str = "", secret: str = "") -> subprocess.Popen:
    cmd = [sys.executable, str(HERE / "null_aws.py"), "--port", str(port)]
    if tls:
        cmd += ["--tls", *tls]
    if proxy_to:
        cmd += ["--proxy-to", proxy_to]
    if secret:
        cmd += ["--secret", secret]
    p = subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL)
    lb.wait_port(port, 10)
    return p


def calls(ddb, sqs, sm, queue_url: str, table: str) -> list[tuple[str, dict]]:
    """The rows' calls, in the order a delivery and its replay make them."""
    out = []

    def rec(name, fn, **kw):
        try:
            r = fn(**kw)
            status = r["ResponseMetadata"]["HTTPStatusCode"]
            r = {k: v for k, v in r.items() if k != "ResponseMetadata"}
            out.append((name, {"status": status, "error": None, "body": r}))
        except Exception as e:  # botocore ClientError
            resp = getattr(e, "response", {})
            body = {k: v for k, v in resp.items() if k not in ("ResponseMetadata", "Error")}
            out.append((name, {"status": resp.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                               "error": resp.get("Error", {}).get("Code"), "body": body}))

    item = {"pk": {"S": "evt-1"}, "status": {"S": "in_progress"}, "claim": {"S": "tok"},
            "lease_until": {"N": "1"}, "expires_at": {"N": "4102444800"}}
    cond = "attribute_not_exists(pk) OR expires_at < :now_s"
    vals = {":now_s": {"N": "1700000000"}}
    rec("PutItem new (ReturnValues ALL_OLD)", ddb.put_item, TableName=table, Item=item, ConditionExpression=cond,
        ExpressionAttributeValues=vals, ReturnValues="ALL_OLD", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    rec("UpdateItem complete", ddb.update_item, TableName=table, Key={"pk": {"S": "evt-1"}},
        UpdateExpression="SET #status = :status REMOVE delivered", ConditionExpression="#claim = :token",
        ExpressionAttributeNames={"#status": "status", "#claim": "claim"},
        ExpressionAttributeValues={":status": {"S": "completed"}, ":token": {"S": "tok"}})
    rec("PutItem duplicate (ALL_OLD on failure)", ddb.put_item, TableName=table, Item=item, ConditionExpression=cond,
        ExpressionAttributeValues=vals, ReturnValues="ALL_OLD", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    rec("PutItem duplicate (no ALL_OLD)", ddb.put_item, TableName=table, Item=item,
        ConditionExpression="attribute_not_exists(pk)")
    rec("UpdateItem wrong token", ddb.update_item, TableName=table, Key={"pk": {"S": "evt-1"}},
        UpdateExpression="SET #status = :status", ConditionExpression="#claim = :token",
        ExpressionAttributeNames={"#status": "status", "#claim": "claim"},
        ExpressionAttributeValues={":status": {"S": "completed"}, ":token": {"S": "other"}})
    rec("SendMessage", sqs.send_message, QueueUrl=queue_url, MessageBody='{"hello":"wörld"}')
    rec("SendMessage with attributes", sqs.send_message, QueueUrl=queue_url, MessageBody='{"a":1}',
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": "person_created"},
                           "event_id": {"DataType": "String", "StringValue": "abc"},
                           "n": {"DataType": "Number", "StringValue": "3"}})
    rec("GetQueueAttributes", sqs.get_queue_attributes, QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    rec("GetSecretValue", sm.get_secret_value, SecretId="bench/salesloft")
    rec("GetSecretValue missing", sm.get_secret_value, SecretId="bench/missing")
    return out


def shape(v):
    """Keys two levels deep; MD5s and Item contents as values."""
    if isinstance(v, dict):
        return {k: (v[k] if k.startswith("MD5") or k in ("Item", "Attributes", "SecretString") else shape(v[k]))
                for k in sorted(v)}
    if isinstance(v, list):
        return "list"
    return type(v).__name__


def clients(endpoint: str, verify):
    import boto3

    kw = dict(endpoint_url=endpoint, region_name=lb.REGION, aws_access_key_id="test", aws_secret_access_key="test",
              verify=verify)
    return boto3.client("dynamodb", **kw), boto3.client("sqs", **kw), boto3.client("secretsmanager", **kw)


def query_send(endpoint: str, queue_url: str, ca: str | None) -> tuple[int, bytes]:
    """SendMessage in the query protocol (older SDKs), by hand, unsigned."""
    u = urllib.parse.urlsplit(endpoint)
    if u.scheme == "https":
        import ssl

        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port)
    body = urllib.parse.urlencode({"Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": queue_url,
                                   "MessageBody": "hi", "MessageAttribute.1.Name": "k",
                                   "MessageAttribute.1.Value.DataType": "String",
                                   "MessageAttribute.1.Value.StringValue": "v"})
    conn.request("POST", "/", body=body, headers={"content-type": "application/x-www-form-urlencoded",
                                                  "authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"})
    r = conn.getresponse()
    return r.status, r.read()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tls", action="store_true")
    args = ap.parse_args()
    tlsdir = lb.BUILD / "tls"
    if args.tls:
        subprocess.run([str(lb.BENCH / "lambda/tls/make_certs.sh"), str(tlsdir)], check=True, stdout=subprocess.DEVNULL)
    pair = (str(tlsdir / "server.pem"), str(tlsdir / "server.key"))
    ca = str(tlsdir / "bundle.pem") if args.tls else None
    logdir = lb.WORK / "check-null"
    logdir.mkdir(parents=True, exist_ok=True)
    procs = []
    results = {}
    try:
        with lb.Moto(logdir) as moto:
            table = lb.create_table(moto, "check-dedup")
            queue = lb.create_queue(moto, "check-queue")
            import boto3

            boto3.client("secretsmanager", endpoint_url=moto.endpoint, region_name=lb.REGION, aws_access_key_id="test",
                         aws_secret_access_key="test").create_secret(Name="bench/salesloft", SecretString='{"salesloft":["t"]}')
            moto_ep = moto.endpoint
            if args.tls:
                p = lb.free_port()
                procs.append(start_null(p, pair, proxy_to=f"127.0.0.1:{moto.port}"))
                moto_ep = f"https://127.0.0.1:{p}"
            np_ = lb.free_port()
            procs.append(start_null(np_, pair if args.tls else None, secret='bench/salesloft={"salesloft":["t"]}'))
            null_ep = f"{'https' if args.tls else 'http'}://127.0.0.1:{np_}"
            null_queue = f"{null_ep}/123456789012/check-queue"
            for name, ep, q in (("moto", moto_ep, queue), ("null", null_ep, null_queue)):
                ddb, sqs, sm = clients(ep, ca if ca else None)
                results[name] = calls(ddb, sqs, sm, q, table)
                results[name + "_query"] = query_send(ep, q, ca)
            # The null server's own cost: 300 PutItem + SendMessage pairs, keep-alive (boto3).
            ddb, sqs, _ = clients(null_ep, ca if ca else None)
            t = []
            for i in range(300):
                t0 = time.perf_counter()
                ddb.put_item(TableName=table, Item={"pk": {"S": f"t{i}"}}, ConditionExpression="attribute_not_exists(pk)")
                sqs.send_message(QueueUrl=null_queue, MessageBody="x")
                t.append((time.perf_counter() - t0) * 1000 / 2)
            per_call = lb.summary(t)
    finally:
        for p in procs:
            lb.stop_group(p)
    bad = 0
    print(f"null-AWS vs moto ({'TLS' if args.tls else 'plain HTTP'}): status, error code, response shape")
    print()
    print("| call | moto | null-AWS | same |")
    print("|---|---|---|---|")
    for (name, m), (_, n) in zip(results["moto"], results["null"]):
        ms = {"status": m["status"], "error": m["error"], "shape": shape(m["body"])}
        ns = {"status": n["status"], "error": n["error"], "shape": shape(n["body"])}
        # MessageId values differ by nature; compare keys only there.
        same = ms == ns
        if not same and name == "GetSecretValue missing" and ms["error"] == ns["error"] and (ms["status"], ns["status"]) == (404, 400):
            # Secrets Manager answers ResourceNotFoundException with HTTP 400 (its JSON 1.1
            # errors are all 400); moto says 404. null-AWS follows AWS; SDKs go by the code.
            same = "yes (AWS: 400; moto: 404)"
        bad += not same
        fmtd = lambda s: f"{s['status']} {s['error'] or ''} {json.dumps(s['shape'], sort_keys=True)}"
        print(f"| {name} | `{fmtd(ms)}` | `{fmtd(ns)}` | {same if isinstance(same, str) else ('yes' if same else '**NO**')} |")
    import re

    for name in ("moto", "null"):
        st, body = results[name + "_query"]
        md5 = re.search(rb"<MD5OfMessageBody>(\w+)<", body)
        ok = st == 200 and md5 and md5.group(1).decode() == hashlib.md5(b"hi").hexdigest()
        mda = re.search(rb"<MD5OfMessageAttributes>(\w+)<", body)
        print(f"| SendMessage, query protocol ({name}) | | `{st} body-md5-ok={bool(ok)} attr-md5={mda.group(1).decode() if mda else None}` | |")
    qa = [re.search(rb"<MD5OfMessageAttributes>(\w+)<", results[n + "_query"][1]) for n in ("moto", "null")]
    if not (qa[0] and qa[1] and qa[0].group(1) == qa[1].group(1)):
        bad += 1
        print("query-protocol MD5OfMessageAttributes differ")
    print()
    print(f"null-AWS per call from boto3 (keep-alive, {'TLS' if args.tls else 'plain'}): p50 {per_call['p50']:.3f} ms, "
          f"p99 {per_call['p99']:.3f} ms (boto3's own client cost included)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
