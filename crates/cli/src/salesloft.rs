//! Salesloft's webhook subscriptions API (`/v2/webhook_subscriptions`): list, get, create,
//! update, delete, with `Authorization: Bearer <key>`. Responses are read whether they come
//! wrapped in `{"data": …}` (Salesloft's v2 convention) or bare; `429` is retried after its
//! `Retry-After`.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::error::CliError;
use crate::token::{scrub, Token};

/// Salesloft's public API base: the default of `SALESLOFT_API_URL`.
pub const DEFAULT_API_URL: &str = "https://api.salesloft.com";
/// The resource path under the base.
pub const SUBSCRIPTIONS_PATH: &str = "/v2/webhook_subscriptions";

/// How many times a request answered 429 is sent again before giving up.
const MAX_THROTTLED_RETRIES: u32 = 5;
/// Longest wait for one `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Wait when a 429 has no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(2);
/// Retries of an idempotent request (GET, PUT, DELETE) answered 502, 503 or 504.
const MAX_UNAVAILABLE_RETRIES: u32 = 2;
/// At most this many pages of a list.
const MAX_PAGES: u32 = 100;

/// One webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Salesloft's id (a number; kept as its text).
    pub id: String,
    pub event_type: String,
    pub callback_url: String,
    /// `None` when Salesloft did not return it.
    pub callback_token: Option<Token>,
    pub enabled: bool,
}

impl Subscription {
    /// Reads a subscription object (after unwrapping `data`).
    fn from_value(value: &Value) -> Result<Self, CliError> {
        let bad = |what: &str| {
            CliError::new(format!(
                "Salesloft answered with a webhook subscription without {what}"
            ))
        };
        let id = match value.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(bad("an id")),
        };
        let text = |name: &str| value.get(name).and_then(Value::as_str);
        Ok(Subscription {
            event_type: text("event_type")
                .ok_or_else(|| bad("an event_type"))?
                .into(),
            callback_url: text("callback_url")
                .ok_or_else(|| bad("a callback_url"))?
                .into(),
            callback_token: text("callback_token")
                .filter(|t| !t.is_empty())
                .map(Token::new),
            // Absent means Salesloft's default, enabled.
            enabled: value
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            id,
        })
    }
}

/// `{"data": x}` → `x`; anything else as it is. An object that has an `id` is a bare
/// subscription even if it also has a member named `data`.
pub fn unwrap_data(value: Value) -> Value {
    match value {
        Value::Object(mut map) if map.contains_key("data") && !map.contains_key("id") => {
            map.remove("data").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// The wait a 429 asks for: `Retry-After` in seconds (an HTTP date, or nothing usable, gives
/// the default), at most a minute.
pub fn retry_after(header: Option<&str>) -> Duration {
    header
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s).min(MAX_RETRY_AFTER))
        .unwrap_or(DEFAULT_RETRY_AFTER)
}

/// The client: the API base, the key, and one HTTP client.
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    /// `base` is `SALESLOFT_API_URL` (with or without a trailing `/v2`); `key` the API key.
    pub fn new(base: &str, key: String) -> Result<Self, CliError> {
        let mut base = base.trim().trim_end_matches('/').to_string();
        if let Some(stripped) = base.strip_suffix("/v2") {
            base = stripped.to_string();
        }
        let parsed = url::Url::parse(&base).map_err(|_| {
            CliError::usage(format!(
                "SALESLOFT_API_URL {base:?} is not a URL (default: {DEFAULT_API_URL})"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CliError::usage(format!(
                "SALESLOFT_API_URL {base:?} must be an http(s) URL"
            )));
        }
        if key.trim().is_empty() {
            return Err(CliError::usage(
                "SALESLOFT_API_KEY is not set: give the Salesloft API key (or OAuth token) in it",
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("salesloft-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::new(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            key: key.trim().to_string(),
        })
    }

    /// The subscriptions, all of them or those with this `callback_url` (filtered by
    /// Salesloft and again here, so a server that ignored the filter cannot make the CLI
    /// touch another URL's subscriptions). Follows `metadata.paging.next_page` if present.
    pub async fn list(&self, callback_url: Option<&str>) -> Result<Vec<Subscription>, CliError> {
        let mut all = Vec::new();
        let mut page: Option<u64> = None;
        for _ in 0..MAX_PAGES {
            let mut query: Vec<(&str, String)> = Vec::new();
            if let Some(url) = callback_url {
                query.push(("callback_url", url.to_string()));
            }
            if let Some(p) = page {
                query.push(("page", p.to_string()));
            }
            let body = self
                .send(Method::GET, SUBSCRIPTIONS_PATH, &query, None, &[])
                .await?
                .unwrap_or(Value::Null);
            let next = body
                .pointer("/metadata/paging/next_page")
                .and_then(Value::as_u64);
            let items = match unwrap_data(body) {
                Value::Array(items) => items,
                _ => {
                    return Err(CliError::new(
                        "Salesloft answered the list of webhook subscriptions with something that is not a list",
                    ))
                }
            };
            for item in &items {
                all.push(Subscription::from_value(item)?);
            }
            match next {
                Some(n) if Some(n) != page && !items.is_empty() => page = Some(n),
                _ => break,
            }
        }
        if let Some(url) = callback_url {
            all.retain(|s| s.callback_url == url);
        }
        Ok(all)
    }

    /// One subscription (`None`: Salesloft has no such id).
    pub async fn get(&self, id: &str) -> Result<Option<Subscription>, CliError> {
        match self
            .send(
                Method::GET,
                &format!("{SUBSCRIPTIONS_PATH}/{id}"),
                &[],
                None,
                &[],
            )
            .await?
        {
            Some(body) => Ok(Some(Subscription::from_value(&unwrap_data(body))?)),
            None => Ok(None),
        }
    }

    /// Creates a subscription (Salesloft enables it).
    pub async fn create(
        &self,
        callback_url: &str,
        event_type: &str,
        token: &Token,
    ) -> Result<Subscription, CliError> {
        let body = json!({
            "callback_url": callback_url,
            "callback_token": token.expose(),
            "event_type": event_type,
        });
        let answer = self
            .send(
                Method::POST,
                SUBSCRIPTIONS_PATH,
                &[],
                Some(body),
                &[token.expose()],
            )
            .await?
            .ok_or_else(|| CliError::new("Salesloft answered 404 to creating a subscription"))?;
        Subscription::from_value(&unwrap_data(answer))
    }

    /// Changes a subscription's token and/or enables it.
    pub async fn update(
        &self,
        id: &str,
        token: Option<&Token>,
        enabled: Option<bool>,
    ) -> Result<(), CliError> {
        let mut body = serde_json::Map::new();
        if let Some(t) = token {
            body.insert("callback_token".into(), Value::String(t.expose().into()));
        }
        if let Some(e) = enabled {
            body.insert("enabled".into(), Value::Bool(e));
        }
        let secrets: Vec<&str> = token.map(Token::expose).into_iter().collect();
        self.send(
            Method::PUT,
            &format!("{SUBSCRIPTIONS_PATH}/{id}"),
            &[],
            Some(Value::Object(body)),
            &secrets,
        )
        .await?
        .map(|_| ())
        .ok_or_else(|| {
            CliError::new(format!(
                "Salesloft has no webhook subscription {id} (HTTP 404 on update): it was deleted meanwhile; run the command again"
            ))
        })
    }

    /// Deletes a subscription; false if Salesloft had no such id (already gone).
    pub async fn delete(&self, id: &str) -> Result<bool, CliError> {
        Ok(self
            .send(
                Method::DELETE,
                &format!("{SUBSCRIPTIONS_PATH}/{id}"),
                &[],
                None,
                &[],
            )
            .await?
            .is_some())
    }

    /// Sends one request: `Ok(None)` for 404, `Ok(Some(body))` for 2xx (`null` when empty).
    /// `secrets` are scrubbed from anything quoted from the answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
        secrets: &[&str],
    ) -> Result<Option<Value>, CliError> {
        let url = format!("{}{path}", self.base);
        let what = format!("{method} {path}");
        let idempotent = method != Method::POST;
        let (mut throttled, mut unavailable) = (0u32, 0u32);
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.key)
                .header(reqwest::header::ACCEPT, "application/json")
                .query(query);
            if let Some(b) = &body {
                request = request.json(b);
            }
            let response = request.send().await.map_err(|e| self.unreachable(&e))?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS && throttled < MAX_THROTTLED_RETRIES {
                throttled += 1;
                let wait = retry_after(
                    response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()),
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            if idempotent
                && matches!(status.as_u16(), 502..=504)
                && unavailable < MAX_UNAVAILABLE_RETRIES
            {
                unavailable += 1;
                tokio::time::sleep(Duration::from_secs(u64::from(unavailable))).await;
                continue;
            }
            let text = response.text().await.map_err(|e| self.unreachable(&e))?;
            return match status.as_u16() {
                200..=299 => {
                    if text.trim().is_empty() {
                        Ok(Some(Value::Null))
                    } else {
                        serde_json::from_str(&text).map(Some).map_err(|_| {
                            CliError::new(format!(
                                "Salesloft answered {what} with a body that is not JSON"
                            ))
                        })
                    }
                }
                404 => Ok(None),
                401 => Err(CliError::new(format!(
                    "Salesloft refused the API key (HTTP 401 on {what}): check SALESLOFT_API_KEY"
                ))),
                403 => Err(CliError::new(format!(
                    "Salesloft refused {what} (HTTP 403): the API key lacks the permission to manage webhook subscriptions"
                ))),
                429 => Err(CliError::new(format!(
                    "Salesloft kept answering {what} with 429 (rate limited) after {MAX_THROTTLED_RETRIES} retries; try again later"
                ))),
                code => {
                    let mut secrets = secrets.to_vec();
                    secrets.push(&self.key);
                    let detail: String = scrub(&text, &secrets).chars().take(300).collect();
                    Err(CliError::new(format!(
                        "Salesloft answered {what} with HTTP {code}: {detail}"
                    )))
                }
            };
        }
    }

    /// One line for a request that got no answer.
    fn unreachable(&self, err: &reqwest::Error) -> CliError {
        let reason = if err.is_timeout() {
            "timed out".to_string()
        } else {
            // The innermost cause says what happened (e.g. "Connection refused").
            let mut source: &dyn std::error::Error = err;
            while let Some(next) = source.source() {
                source = next;
            }
            source.to_string()
        };
        CliError::new(format!(
            "cannot reach Salesloft's API at {} ({}): check SALESLOFT_API_URL and the network",
            self.base,
            scrub(&reason, &[&self.key])
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_and_bare_bodies_read_the_same() {
        let sub = json!({"id": 7, "event_type": "person_updated", "callback_url": "u",
                         "callback_token": "t", "enabled": false, "data": "x"});
        assert_eq!(unwrap_data(sub.clone()), sub);
        assert_eq!(unwrap_data(json!({"data": sub.clone()})), sub);
        assert_eq!(unwrap_data(json!({"data": [1]})), json!([1]));
        assert_eq!(unwrap_data(json!([1])), json!([1]));
        let s = Subscription::from_value(&sub).unwrap();
        assert_eq!(s.id, "7");
        assert!(!s.enabled);
        assert_eq!(s.callback_token, Some(Token::new("t")));
        let s = Subscription::from_value(&json!({"id": "8", "event_type": "a",
                                                 "callback_url": "u"}))
        .unwrap();
        assert!(s.enabled);
        assert_eq!(s.callback_token, None);
        assert!(
            Subscription::from_value(&json!({"event_type": "a", "callback_url": "u"})).is_err()
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_bounded() {
        assert_eq!(retry_after(Some("3")), Duration::from_secs(3));
        assert_eq!(retry_after(Some(" 0.5 ")), Duration::from_millis(500));
        assert_eq!(retry_after(Some("86400")), MAX_RETRY_AFTER);
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            DEFAULT_RETRY_AFTER
        );
        assert_eq!(retry_after(Some("-1")), DEFAULT_RETRY_AFTER);
        assert_eq!(retry_after(None), DEFAULT_RETRY_AFTER);
    }

    #[test]
    fn the_base_may_end_in_v2_and_a_key_is_required() {
        let api = Api::new("http://127.0.0.1:9/v2/", "k".into()).unwrap();
        assert_eq!(api.base, "http://127.0.0.1:9");
        assert_eq!(
            Api::new("http://127.0.0.1:9", " ".into())
                .err()
                .unwrap()
                .exit_code(),
            2
        );
        assert!(Api::new("not a url", "k".into()).is_err());
        assert!(Api::new("ftp://127.0.0.1", "k".into()).is_err());
    }
}
