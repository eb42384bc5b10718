"""Benchmark peer (not the product): the Salesloft webhook receiver written the way
Powertools for AWS Lambda (Python) documents idempotency.

* Signature: HMAC-SHA1 hex of the raw body in `x-salesloft-signature`, compared with
  `hmac.compare_digest`.
* Idempotency: Powertools `idempotent_function` on the publish step, persisted by
  `DynamoDBPersistenceLayer` (its own table: partition key `id`, TTL attribute `expiration`).
  The key is the SHA-256 of `event_type + "\\n" + raw body` (the same identity the Rust
  function uses), selected with `event_key_jmespath="event_id"`.
* Delivery: one `sqs.send_message` with the envelope and three message attributes.

Clients and the persistence layer are created at import (init) time, as the docs recommend.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

SECRET = os.environ["SALESLOFT_SECRET"].encode()
QUEUE_URL = os.environ["QUEUE_URL"]
SEVEN_DAYS = 7 * 24 * 3600

persistence_layer = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])


def _mark_duplicate(response: dict, _record) -> dict:
    # Called only when the result comes from the idempotency store (a retry).
    return {**response, "status": "duplicate"}


config = IdempotencyConfig(
    event_key_jmespath="event_id",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=SEVEN_DAYS,
    response_hook=_mark_duplicate,
)
sqs = boto3.client("sqs")


def _reply(status: int, body: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@idempotent_function(data_keyword_argument="delivery", persistence_store=persistence_layer, config=config)
def publish(delivery: dict) -> dict:
    envelope = (
        '{"provider":"salesloft","event_type":%s,"event_id":"%s","received_at":%s,"payload":%s}'
        % (
            json.dumps(delivery["event_type"]),
            delivery["event_id"],
            json.dumps(delivery["received_at"]),
            delivery["body"],
        )
    )
    sqs.send_message(
        QueueUrl=QUEUE_URL,
        MessageBody=envelope,
        MessageAttributes={
            "provider": {"DataType": "String", "StringValue": "salesloft"},
            "event_type": {"DataType": "String", "StringValue": delivery["event_type"]},
            "event_id": {"DataType": "String", "StringValue": delivery["event_id"]},
        },
    )
    return {"event_id": delivery["event_id"], "status": "accepted"}


def lambda_handler(event: dict, context) -> dict:
    config.register_lambda_context(context)
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode()
    except ValueError:
        return _reply(400, {"error": "invalid base64 body"})

    expected = hmac.new(SECRET, body, hashlib.sha1).hexdigest()
    given = headers.get("x-salesloft-signature", "").strip().lower()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return _reply(401, {"error": "invalid signature"})

    event_type = headers.get("x-salesloft-event", "")
    if not event_type:
        return _reply(400, {"error": "missing x-salesloft-event"})
    try:
        text = body.decode("utf-8")
        json.loads(text)
    except ValueError:
        return _reply(400, {"error": "body is not JSON"})

    event_id = hashlib.sha256(event_type.encode() + b"\n" + body).hexdigest()
    delivery = {
        "event_id": event_id,
        "event_type": event_type,
        "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "body": text,
    }
    try:
        result = publish(delivery=delivery)
    except IdempotencyAlreadyInProgressError:
        return _reply(409, {"event_id": event_id, "status": "in_progress"})
    status = 200 if result.get("status") == "duplicate" else 202
    print(json.dumps({"level": "INFO", "message": "delivery", "event_type": event_type,
                      "event_id": event_id, "outcome": result.get("status"), "status": status}))
    return _reply(status, result)
