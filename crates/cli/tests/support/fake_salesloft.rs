//! A local stand-in for Salesloft's webhook subscriptions API, for tests only: a small
//! HTTP/1.1 server on 127.0.0.1 (tokio, one request per connection) implementing the
//! documented contract of `/v2/webhook_subscriptions`:
//!
//! - `GET` lists, filtered by `callback_url` and `enabled` when given; `GET /{id}` reads one;
//!   `POST` creates (`callback_url`, `callback_token`, `event_type`; 422 when one is missing);
//!   `PUT /{id}` updates `enabled`, `callback_token`, `callback_url`; `DELETE /{id}` deletes
//!   (204);
//! - `Authorization: Bearer <key>` or 401; an unknown id is 404;
//! - answers wrapped in `{"data": …}` (Salesloft's v2 convention) or bare ([`set_wrapped`]);
//! - `429` with `Retry-After: 1` for the next N requests ([`throttle_next`]).
//!
//! Every request is recorded ([`calls`]), and a hook ([`on_change`]) runs before each change
//! is applied, so a test can look at the world (the secret) at the very moment Salesloft
//! would start signing with a token.
//!
//! Shared by the CLI crate's tests and the root package's end-to-end test (`#[path]`).
//!
//! [`set_wrapped`]: FakeSalesloft::set_wrapped
//! [`throttle_next`]: FakeSalesloft::throttle_next
//! [`calls`]: FakeSalesloft::calls
//! [`on_change`]: FakeSalesloft::on_change

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One subscription as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sub {
    pub id: u64,
    pub event_type: String,
    pub callback_url: String,
    pub callback_token: String,
    pub enabled: bool,
}

impl Sub {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "event_type": self.event_type,
            "callback_url": self.callback_url,
            "callback_token": self.callback_token,
            "enabled": self.enabled,
            "user_guid": "00000000-0000-0000-0000-000000000001",
            "tenant_id": 1,
        })
    }
}

/// One request as received, and the status it got.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub status: u16,
}

/// A change about to be applied, given to the hook.
#[derive(Debug, Clone)]
pub struct Change {
    /// `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// The subscription before the change (none for a creation).
    pub before: Option<Sub>,
    /// The event type concerned.
    pub event_type: String,
    /// The token Salesloft will sign with from now on, if this change sets one.
    pub new_token: Option<String>,
}

pub type Hook = Arc<dyn Fn(Change) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Default)]
struct State {
    key: String,
    subs: BTreeMap<u64, Sub>,
    next_id: u64,
    wrapped: bool,
    throttle: u32,
    calls: Vec<Call>,
    hook: Option<Hook>,
}

/// The running fake. Stops when dropped.
pub struct FakeSalesloft {
    /// The API base to give as `SALESLOFT_API_URL`.
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSalesloft {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSalesloft {
    /// Starts on a free loopback port, accepting `key`; answers wrapped in `data`.
    pub async fn start(key: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            key: key.to_string(),
            next_id: 1000,
            wrapped: true,
            ..State::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        FakeSalesloft { base, state, task }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `true`: answers are `{"data": …}`; `false`: the bare object or array.
    pub fn set_wrapped(&self, wrapped: bool) {
        self.state().wrapped = wrapped;
    }

    /// The next `n` requests are answered 429 with `Retry-After: 1`.
    pub fn throttle_next(&self, n: u32) {
        self.state().throttle = n;
    }

    /// Runs `hook` before each change is applied (and waits for it).
    pub fn on_change(&self, hook: Hook) {
        self.state().hook = Some(hook);
    }

    /// Adds a subscription directly (as if made elsewhere); returns its id.
    pub fn insert(&self, event_type: &str, callback_url: &str, token: &str, enabled: bool) -> u64 {
        let mut s = self.state();
        s.next_id += 1;
        let id = s.next_id;
        s.subs.insert(
            id,
            Sub {
                id,
                event_type: event_type.into(),
                callback_url: callback_url.into(),
                callback_token: token.into(),
                enabled,
            },
        );
        id
    }

    /// Every subscription, by id.
    pub fn subscriptions(&self) -> Vec<Sub> {
        self.state().subs.values().cloned().collect()
    }

    /// The subscriptions to `url`.
    pub fn subscriptions_to(&self, url: &str) -> Vec<Sub> {
        self.subscriptions()
            .into_iter()
            .filter(|s| s.callback_url == url)
            .collect()
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// How many requests so far could change something (anything but GET).
    pub fn changing_calls(&self) -> usize {
        self.calls().iter().filter(|c| c.method != "GET").count()
    }
}

/// Percent-decodes a query component (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    // The head.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 65_536 {
            return Ok(());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    // The body.
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), parse_query(q)),
        None => (target.clone(), BTreeMap::new()),
    };
    let (status, extra, answer) = respond(&state, &method, &path, &query, &headers, &body).await;
    state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .calls
        .push(Call {
            method,
            path,
            query,
            status,
        });
    let text = answer.map(|v| v.to_string()).unwrap_or_default();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        401 => "Unauthorized",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        _ => "Other",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{text}",
        text.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// (status, extra header lines, body).
async fn respond(
    state: &Arc<Mutex<State>>,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &BTreeMap<String, String>,
    body: &[u8],
) -> (u16, String, Option<Value>) {
    let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
    {
        let mut s = lock();
        if s.throttle > 0 {
            s.throttle -= 1;
            return (
                429,
                "retry-after: 1\r\n".into(),
                Some(json!({"error": "rate limited"})),
            );
        }
        let expected = format!("Bearer {}", s.key);
        if headers.get("authorization") != Some(&expected) {
            return (401, String::new(), Some(json!({"error": "Unauthorized"})));
        }
    }
    let wrap = |value: Value| -> Value {
        if lock().wrapped {
            json!({"data": value})
        } else {
            value
        }
    };
    let not_found = (404, String::new(), Some(json!({"error": "Not Found"})));
    let rest = match path.strip_prefix("/v2/webhook_subscriptions") {
        Some(rest) => rest.trim_end_matches('/'),
        None => return not_found,
    };
    let id: Option<u64> = match rest {
        "" => None,
        r => match r.strip_prefix('/').and_then(|i| i.parse().ok()) {
            Some(id) => Some(id),
            None => return not_found,
        },
    };
    let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |name: &str| input.get(name).and_then(Value::as_str).map(str::to_string);
    match (method, id) {
        ("GET", None) => {
            let enabled = query.get("enabled").map(|v| v == "true");
            let s = lock();
            let list: Vec<Value> = s
                .subs
                .values()
                .filter(|sub| {
                    query
                        .get("callback_url")
                        .is_none_or(|u| &sub.callback_url == u)
                })
                .filter(|sub| enabled.is_none_or(|e| sub.enabled == e))
                .map(Sub::to_json)
                .collect();
            drop(s);
            (200, String::new(), Some(wrap(Value::Array(list))))
        }
        ("GET", Some(id)) => {
            let found = lock().subs.get(&id).map(Sub::to_json);
            match found {
                Some(v) => (200, String::new(), Some(wrap(v))),
                None => not_found,
            }
        }
        ("POST", None) => {
            let (Some(url), Some(token), Some(event_type)) = (
                field("callback_url"),
                field("callback_token"),
                field("event_type"),
            ) else {
                return (
                    422,
                    String::new(),
                    Some(
                        json!({"errors": {"base": ["callback_url, callback_token and event_type are required"]}}),
                    ),
                );
            };
            run_hook(
                state,
                Change {
                    method: "POST".into(),
                    before: None,
                    event_type: event_type.clone(),
                    new_token: Some(token.clone()),
                },
            )
            .await;
            let mut s = lock();
            s.next_id += 1;
            let id = s.next_id;
            let sub = Sub {
                id,
                event_type,
                callback_url: url,
                callback_token: token,
                enabled: true,
            };
            s.subs.insert(id, sub.clone());
            drop(s);
            (201, String::new(), Some(wrap(sub.to_json())))
        }
        ("PUT", Some(id)) => {
            let Some(before) = lock().subs.get(&id).cloned() else {
                return not_found;
            };
            run_hook(
                state,
                Change {
                    method: "PUT".into(),
                    before: Some(before.clone()),
                    event_type: before.event_type.clone(),
                    new_token: field("callback_token"),
                },
            )
            .await;
            let mut s = lock();
            let Some(sub) = s.subs.get_mut(&id) else {
                return not_found;
            };
            if let Some(t) = field("callback_token") {
                sub.callback_token = t;
            }
            if let Some(u) = field("callback_url") {
                sub.callback_url = u;
            }
            if let Some(e) = input.get("enabled").and_then(Value::as_bool) {
                sub.enabled = e;
            }
            let v = sub.to_json();
            drop(s);
            (200, String::new(), Some(wrap(v)))
        }
        ("DELETE", Some(id)) => {
            let Some(before) = lock().subs.get(&id).cloned() else {
                return not_found;
            };
            run_hook(
                state,
                Change {
                    method: "DELETE".into(),
                    event_type: before.event_type.clone(),
                    before: Some(before),
                    new_token: None,
                },
            )
            .await;
            lock().subs.remove(&id);
            (204, String::new(), None)
        }
        _ => not_found,
    }
}

async fn run_hook(state: &Arc<Mutex<State>>, change: Change) {
    let hook = state.lock().unwrap_or_else(|p| p.into_inner()).hook.clone();
    if let Some(hook) = hook {
        hook(change).await;
    }
}
