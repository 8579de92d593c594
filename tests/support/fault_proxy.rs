//! A fault-injecting HTTP proxy between the AWS SDK and moto, on loopback.
//!
//! Every request is forwarded to moto unchanged unless a [`Fault`] matches
//! it; then the proxy answers itself the way AWS would (the right status and
//! error body for the service's protocol), hangs, or truncates the body.
//! Requests are identified the way AWS routes them: the region and service
//! from the SigV4 credential scope, the operation from `Action=` (query
//! protocols), `X-Amz-Target` (JSON protocols) or method and path (REST).

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub region: String,
    pub service: String,
    /// The API operation when the protocol names it (query and JSON
    /// protocols); empty for REST protocols, which are matched by path.
    pub operation: String,
    /// Whether a fault answered it.
    pub faulted: bool,
}

/// What to do instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// 403 with the service's access-denied error.
    AccessDenied,
    /// 400 ThrottlingException (query/JSON) or 503 SlowDown (S3).
    Throttle,
    /// 500 InternalError.
    ServerError,
    /// Accept the request and never answer.
    Hang,
    /// Forward, then cut the response body in half.
    Truncate,
    /// Forward, then put a byte that is never valid UTF-8 (0xFF) in the
    /// middle of the body, as a hostile or broken endpoint might.
    NotUtf8,
    /// Answer 200 with this body (XML when it starts with `<`, JSON
    /// otherwise): a response recorded in AWS's documented shape, for what
    /// moto does not implement.
    Respond(&'static str),
}

/// A rule: requests matching every set field get `action`, `times` times
/// (then they pass), or always when `times` is `None`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub action: Action,
    pub region: Option<String>,
    pub service: Option<String>,
    pub operation: Option<String>,
    /// A substring of the path and query (for REST operations).
    pub target_contains: Option<String>,
    /// The whole path and query.
    pub target_is: Option<String>,
    pub times: Option<usize>,
}

impl Fault {
    pub fn new(action: Action) -> Fault {
        Fault {
            action,
            region: None,
            service: None,
            operation: None,
            target_contains: None,
            target_is: None,
            times: None,
        }
    }
    pub fn region(mut self, region: &str) -> Fault {
        self.region = Some(region.to_string());
        self
    }
    pub fn service(mut self, service: &str) -> Fault {
        self.service = Some(service.to_string());
        self
    }
    pub fn operation(mut self, operation: &str) -> Fault {
        self.operation = Some(operation.to_string());
        self
    }
    pub fn target_contains(mut self, fragment: &str) -> Fault {
        self.target_contains = Some(fragment.to_string());
        self
    }
    pub fn target_is(mut self, target: &str) -> Fault {
        self.target_is = Some(target.to_string());
        self
    }
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }

    fn matches(&self, seen: &Seen) -> bool {
        let field = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        field(&self.region, &seen.region)
            && field(&self.service, &seen.service)
            && field(&self.operation, &seen.operation)
            && self
                .target_contains
                .as_deref()
                .is_none_or(|f| seen.target.contains(f))
            && self.target_is.as_deref().is_none_or(|t| seen.target == t)
            && self.times.is_none_or(|n| n > 0)
    }
}

#[derive(Default)]
struct State {
    faults: Vec<Fault>,
    seen: Vec<Seen>,
}

pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let endpoint = format!("http://{}", listener.local_addr().expect("local addr"));
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let server_state = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, upstream.clone(), server_state.clone()));
            }
        });
        FaultProxy {
            endpoint,
            state,
            server,
        }
    }

    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    pub fn clear(&self) {
        self.lock().faults.clear();
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Request {
    head: String,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let content_length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + content_length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    Some(Request {
        head,
        body: buffer[header_end..].to_vec(),
    })
}

pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

fn identify(request: &Request) -> Seen {
    let mut first = request.head.lines().next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    // Credential=AKID/20261122/us-east-1/ec2/aws4_request
    let scope: Vec<&str> = header(&request.head, "authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|c| {
            c.split([',', ' '])
                .next()
                .unwrap_or_default()
                .split('/')
                .collect()
        })
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&request.body);
    let operation = header(&request.head, "x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .map(str::to_string)
        .or_else(|| {
            // Smithy RPC v2: /service/<Service>/operation/<Operation>
            super::cbor_bridge::is_cbor(&request.head)
                .then(|| target.rsplit('/').next().map(str::to_string))
                .flatten()
        })
        .or_else(|| {
            body.split('&')
                .find_map(|pair| pair.strip_prefix("Action="))
                .map(str::to_string)
        })
        .unwrap_or_default();
    Seen {
        method,
        target,
        region: scope.get(2).copied().unwrap_or_default().to_string(),
        service: scope.get(3).copied().unwrap_or_default().to_string(),
        operation,
        faulted: false,
    }
}

async fn serve(mut client: TcpStream, upstream: String, state: Arc<Mutex<State>>) {
    let Some(request) = read_request(&mut client).await else {
        return;
    };
    let mut seen = identify(&request);
    let action = {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let action = state.faults.iter_mut().find(|f| f.matches(&seen)).map(|f| {
            if let Some(n) = f.times.as_mut() {
                *n -= 1;
            }
            f.action
        });
        seen.faulted = action.is_some();
        state.seen.push(seen.clone());
        action
    };
    let reply = match action {
        None => forward(&request, &upstream).await,
        Some(Action::Truncate) => forward(&request, &upstream).await.map(truncate),
        Some(Action::NotUtf8) => forward(&request, &upstream).await.map(not_utf8),
        Some(Action::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        Some(Action::Respond(body)) => Some(recorded(body)),
        Some(action) => Some(aws_error(action, &seen, &request)),
    };
    if let Some(reply) = reply {
        let _ = client.write_all(&reply).await;
    }
    let _ = client.shutdown().await;
}

/// Sends the request to moto on a fresh connection and returns its whole
/// response; a Smithy RPC v2 CBOR request goes as JSON 1.0 and its answer
/// comes back as CBOR (see `cbor_bridge`).
async fn forward(request: &Request, upstream: &str) -> Option<Vec<u8>> {
    if !super::cbor_bridge::is_cbor(&request.head) {
        return forward_as_is(request, upstream).await;
    }
    let (head, body) = super::cbor_bridge::to_json_request(&request.head, &request.body)?;
    let response = forward_as_is(&Request { head, body }, upstream).await?;
    super::cbor_bridge::to_cbor_response(&response)
}

async fn forward_as_is(request: &Request, upstream: &str) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await.ok()?;
    let head: String = request
        .head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    server
        .write_all(format!("{head}Connection: close\r\n\r\n").as_bytes())
        .await
        .ok()?;
    server.write_all(&request.body).await.ok()?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await.ok()?;
    Some(response)
}

/// Keeps the headers (and so the announced length) but only half the body:
/// the client sees the connection close early.
fn truncate(response: Vec<u8>) -> Vec<u8> {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response;
    };
    let body = response.len() - (end + 4);
    response[..end + 4 + body / 2].to_vec()
}

/// Same length, same headers; one byte in the middle of the body is 0xFF.
fn not_utf8(mut response: Vec<u8>) -> Vec<u8> {
    if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
        let body_start = end + 4;
        if response.len() > body_start {
            let middle = body_start + (response.len() - body_start) / 2;
            response[middle] = 0xFF;
        }
    }
    response
}

fn recorded(body: &str) -> Vec<u8> {
    let content_type = if body.trim_start().starts_with('<') {
        "application/xml"
    } else {
        "application/json"
    };
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn aws_error(action: Action, seen: &Seen, request: &Request) -> Vec<u8> {
    let (status, code, message) = match (action, seen.service.as_str()) {
        (Action::AccessDenied, "ec2") => (
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        ),
        (Action::AccessDenied, _) if is_json(request) || seen.service == "eks" => (
            403,
            "AccessDeniedException",
            "User is not authorized to perform this action",
        ),
        (Action::AccessDenied, _) => (403, "AccessDenied", "Access Denied"),
        (Action::Throttle, "s3") => (503, "SlowDown", "Please reduce your request rate."),
        (Action::Throttle, _) if is_json(request) || seen.service == "eks" => {
            (400, "ThrottlingException", "Rate exceeded")
        }
        (Action::Throttle, _) => (400, "Throttling", "Rate exceeded"),
        _ => (500, "InternalError", "We encountered an internal error."),
    };
    if super::cbor_bridge::is_cbor(&request.head) {
        let body = super::cbor_bridge::error_body(code, message);
        let mut reply = format!(
            "HTTP/1.1 {status} Fault\r\nContent-Type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        reply.extend_from_slice(&body);
        return reply;
    }
    let (content_type, body) = if is_json(request) || seen.service == "eks" {
        (
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
        )
    } else if seen.service == "ec2" {
        (
            "text/xml",
            format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"
            ),
        )
    } else if seen.service == "s3" {
        (
            "application/xml",
            format!(
                "<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
            ),
        )
    } else {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
            ),
        )
    };
    format!(
        "HTTP/1.1 {status} Fault\r\nContent-Type: {content_type}\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// JSON and CBOR protocols name errors the same way (`AccessDeniedException`).
fn is_json(request: &Request) -> bool {
    header(&request.head, "x-amz-target").is_some() || super::cbor_bridge::is_cbor(&request.head)
}
