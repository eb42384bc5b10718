//! A fault-injecting HTTP proxy on loopback, between the function's AWS clients and moto.
//!
//! Every request is classified by its AWS operation (the `X-Amz-Target` suffix, e.g.
//! `PutItem`, `SendMessage`, `GetSecretValue`); rules, applied in order and each for a fixed
//! number of requests (a deterministic schedule), answer with throttling or a 5xx, delay the
//! request, hold it and then drop it unanswered (it never reaches moto), or close the
//! connection. Everything else is forwarded to moto unchanged. The proxy also records the
//! operations it saw, so a test can assert that no AWS call happened.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What to do with a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 `ThrottlingException` (the SDK retries it with backoff).
    Throttle,
    /// 500 `InternalFailure` (retried by the SDK, then an error).
    ServerError,
    /// Hold the request, then close the connection without forwarding it.
    Hang(Duration),
    /// Close the connection at once without forwarding.
    Drop,
}

#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    body_contains: Option<String>,
    fault: Fault,
    remaining: Option<usize>,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<String>,
}

/// Handle to a running proxy; it stops when dropped (its runtime task is aborted).
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (moto's endpoint) on the current runtime.
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let client = reqwest::Client::new();
        let upstream = upstream.to_string();
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (st, client, upstream) = (st.clone(), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(socket, st, client, upstream).await;
                });
            }
        });
        Self {
            endpoint,
            state,
            task,
        }
    }

    /// Applies `fault` to the next `times` requests for `operation` (all of them when
    /// `times` is `None`), optionally only those whose body contains `body_contains` (a queue
    /// name, say).
    pub fn inject(
        &self,
        operation: &str,
        body_contains: Option<&str>,
        fault: Fault,
        times: Option<usize>,
    ) {
        self.state.lock().unwrap().rules.push(Rule {
            operation: operation.into(),
            body_contains: body_contains.map(str::to_string),
            fault,
            remaining: times,
        });
    }

    /// Removes every rule: the proxy forwards everything again.
    pub fn heal(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// The operations seen so far, in order.
    pub fn seen(&self) -> Vec<String> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many requests for `operation` were seen.
    pub fn count(&self, operation: &str) -> usize {
        self.seen().iter().filter(|o| *o == operation).count()
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    assert!(
        !headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")),
        "the fault proxy does not handle chunked request bodies"
    );
    let body_start = header_end + 4;
    while buf.len() < body_start + length {
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[body_start..body_start + length].to_vec();
    buf.drain(..body_start + length);
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn operation_of(req: &Request) -> String {
    if let Some((_, target)) = req.headers.iter().find(|(k, _)| k == "x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    // Query-protocol services name the action in the form body.
    let body = String::from_utf8_lossy(&req.body);
    match body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        Some(action) => action.to_string(),
        // S3 (REST): the method is the operation, e.g. `S3:PUT` for PutObject.
        None => format!("S3:{}", req.method),
    }
}

fn decide(state: &Mutex<State>, op: &str, body: &[u8]) -> Option<Fault> {
    let mut st = state.lock().unwrap();
    st.seen.push(op.to_string());
    let text = String::from_utf8_lossy(body);
    for rule in st.rules.iter_mut() {
        let matches = rule.operation == op
            && rule
                .body_contains
                .as_deref()
                .is_none_or(|s| text.contains(s))
            && rule.remaining != Some(0);
        if matches {
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            return Some(rule.fault);
        }
    }
    None
}

async fn write_response(
    socket: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    socket.write_all(out.as_bytes()).await?;
    socket.write_all(body).await?;
    socket.flush().await
}

async fn serve(
    mut socket: TcpStream,
    state: Arc<Mutex<State>>,
    client: reqwest::Client,
    upstream: String,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut socket, &mut buf).await {
        let op = operation_of(&req);
        match decide(&state, &op, &req.body) {
            Some(Fault::Throttle) => {
                let body =
                    br#"{"__type":"ThrottlingException","message":"Rate exceeded (injected)"}"#;
                let h = vec![(
                    "content-type".to_string(),
                    "application/x-amz-json-1.0".to_string(),
                )];
                write_response(&mut socket, 400, &h, body).await?;
                continue;
            }
            Some(Fault::ServerError) => {
                let body = br#"{"__type":"InternalFailure","message":"injected"}"#;
                let h = vec![(
                    "content-type".to_string(),
                    "application/x-amz-json-1.0".to_string(),
                )];
                write_response(&mut socket, 500, &h, body).await?;
                continue;
            }
            Some(Fault::Hang(d)) => {
                tokio::time::sleep(d).await;
                return Ok(());
            }
            Some(Fault::Drop) => return Ok(()),
            None => {}
        }
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap();
        let mut forward = client.request(method, format!("{upstream}{}", req.path));
        for (k, v) in &req.headers {
            if !matches!(k.as_str(), "host" | "content-length" | "connection") {
                forward = forward.header(k, v);
            }
        }
        let resp = match forward.body(req.body).send().await {
            Ok(r) => r,
            Err(_) => return Ok(()),
        };
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "content-length" | "transfer-encoding" | "connection"
                )
            })
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = resp.bytes().await.unwrap_or_default();
        write_response(&mut socket, status, &headers, &body).await?;
    }
    Ok(())
}
