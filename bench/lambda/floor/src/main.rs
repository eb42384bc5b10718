//! Benchmark floor (not the product): verify the Salesloft signature, claim the delivery with
//! one conditional PutItem, send it with one SendMessage. No routing, no secrets store, no
//! completion write, no logging, no body-size or JSON-shape checks beyond what the job needs.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

struct Ctx {
    ddb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    table: String,
    queue_url: String,
    secret: Vec<u8>,
}

fn reply(status: u16, body: Value) -> Value {
    json!({
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
        "isBase64Encoded": false,
    })
}

fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event.get("headers")?.as_object()?.iter().find_map(|(k, v)| {
        k.eq_ignore_ascii_case(name).then(|| v.as_str()).flatten()
    })
}

async fn handle(ctx: &Ctx, event: Value) -> Result<Value, Error> {
    let text = event.get("body").and_then(Value::as_str).unwrap_or("");
    let body: Vec<u8> = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(b) => b,
            Err(_) => return Ok(reply(400, json!({"error": "bad base64"}))),
        }
    } else {
        text.as_bytes().to_vec()
    };

    let given = header(&event, "x-salesloft-signature").and_then(|s| hex::decode(s.trim()).ok());
    let mut mac = Hmac::<Sha1>::new_from_slice(&ctx.secret).expect("any key length");
    mac.update(&body);
    let expected = mac.finalize().into_bytes();
    let ok = given.is_some_and(|g| g.len() == expected.len() && bool::from(g.ct_eq(&expected)));
    if !ok {
        return Ok(reply(401, json!({"error": "invalid signature"})));
    }

    let event_type = header(&event, "x-salesloft-event").unwrap_or("unknown");
    let mut hash = Sha256::new();
    hash.update(event_type.as_bytes());
    hash.update(b"\n");
    hash.update(&body);
    let event_id = hex::encode(hash.finalize());

    let now_s = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let put = ctx
        .ddb
        .put_item()
        .table_name(&ctx.table)
        .item("pk", AttributeValue::S(event_id.clone()))
        .item("event_type", AttributeValue::S(event_type.to_string()))
        .item("expires_at", AttributeValue::N((now_s + 604_800).to_string()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match put {
        Ok(_) => {}
        Err(err) => {
            if let Some(PutItemError::ConditionalCheckFailedException(_)) = err.as_service_error() {
                return Ok(reply(200, json!({"event_id": event_id, "status": "duplicate"})));
            }
            return Err(err.into());
        }
    }

    let payload = String::from_utf8_lossy(&body);
    let message = format!(
        "{{\"provider\":\"salesloft\",\"event_type\":{},\"event_id\":\"{}\",\"payload\":{}}}",
        serde_json::to_string(event_type)?,
        event_id,
        payload
    );
    ctx.sqs
        .send_message()
        .queue_url(&ctx.queue_url)
        .message_body(message)
        .send()
        .await?;
    Ok(reply(202, json!({"event_id": event_id, "status": "accepted"})))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = aws_config::load_from_env().await;
    let ctx = Ctx {
        ddb: aws_sdk_dynamodb::Client::new(&aws),
        sqs: aws_sdk_sqs::Client::new(&aws),
        table: std::env::var("TABLE_NAME")?,
        queue_url: std::env::var("QUEUE_URL")?,
        secret: std::env::var("SALESLOFT_SECRET")?.into_bytes(),
    };
    let ctx = &ctx;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<Value>| handle(ctx, e.payload))).await
}
