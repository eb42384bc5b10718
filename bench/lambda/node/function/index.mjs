// Benchmark peer (not the product): the Salesloft webhook receiver from the seed's Express
// example, adapted to what Salesloft really sends and to Lambda, written the way the AWS SDK
// for JavaScript v3 docs recommend:
//   * signature: HMAC-SHA1 hex of the raw body in `x-salesloft-signature`, compared with
//     crypto.timingSafeEqual (no timestamp: Salesloft signs the body alone);
//   * idempotency: DynamoDB PutItem with ConditionExpression attribute_not_exists(pk), keyed
//     by SHA-256(event_type + "\n" + raw body) (the same identity the Rust function uses);
//   * delivery: SQS SendMessage with the envelope and three message attributes; if it fails
//     the claim is deleted so the sender's retry can deliver again;
//   * clients are created once, outside the handler (reused across warm invocations).
// AWS_ENDPOINT_URL (and the region and credentials) are read by SDK v3 itself from the
// environment; nothing here is local-only.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';

const SECRET = process.env.SALESLOFT_SECRET;
const TABLE_NAME = process.env.TABLE_NAME;
const QUEUE_URL = process.env.QUEUE_URL;
const TTL_SECONDS = 7 * 24 * 3600;

const dynamodb = new DynamoDBClient({});
const sqs = new SQSClient({});

const reply = (statusCode, body) => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
  isBase64Encoded: false,
});

function header(event, name) {
  const headers = event.headers ?? {};
  if (name in headers) return headers[name];
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function verifySalesloftSignature(rawBody, signature) {
  if (typeof signature !== 'string') return false;
  const expected = createHmac('sha1', SECRET).update(rawBody).digest();
  const given = Buffer.from(signature.trim(), 'hex');
  // timingSafeEqual throws on different lengths; a wrong length is simply not a match.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const handler = async (event) => {
  const rawBody = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');

  if (!verifySalesloftSignature(rawBody, header(event, 'x-salesloft-signature'))) {
    return reply(401, { error: 'invalid signature' });
  }
  const eventType = header(event, 'x-salesloft-event');
  if (!eventType) return reply(400, { error: 'missing x-salesloft-event' });
  const text = rawBody.toString('utf8');
  try {
    JSON.parse(text);
  } catch {
    return reply(400, { error: 'body is not JSON' });
  }

  const eventId = createHash('sha256').update(`${eventType}\n`).update(rawBody).digest('hex');
  const receivedAt = new Date().toISOString();

  try {
    await dynamodb.send(
      new PutItemCommand({
        TableName: TABLE_NAME,
        Item: {
          pk: { S: eventId },
          event_type: { S: eventType },
          received_at: { S: receivedAt },
          expires_at: { N: String(Math.floor(Date.now() / 1000) + TTL_SECONDS) },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) {
      return reply(200, { event_id: eventId, status: 'duplicate' });
    }
    throw err;
  }

  const envelope =
    `{"provider":"salesloft","event_type":${JSON.stringify(eventType)},` +
    `"event_id":"${eventId}","received_at":"${receivedAt}","payload":${text}}`;
  try {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: QUEUE_URL,
        MessageBody: envelope,
        MessageAttributes: {
          provider: { DataType: 'String', StringValue: 'salesloft' },
          event_type: { DataType: 'String', StringValue: eventType },
          event_id: { DataType: 'String', StringValue: eventId },
        },
      }),
    );
  } catch (err) {
    // Release the claim so Salesloft's retry is not mistaken for a duplicate.
    await dynamodb
      .send(new DeleteItemCommand({ TableName: TABLE_NAME, Key: { pk: { S: eventId } } }))
      .catch(() => {});
    throw err;
  }

  console.log(
    JSON.stringify({ level: 'INFO', message: 'delivery', event_type: eventType, event_id: eventId, status: 202 }),
  );
  return reply(202, { event_id: eventId, status: 'accepted' });
};
