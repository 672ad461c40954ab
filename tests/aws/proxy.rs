//! A tiny HTTP/1.1 proxy for tests: forwards each request to the upstream server on a fresh
//! connection, counts requests by method and path, and injects faults by rule — throttling
//! (503 SlowDown), server errors, access denied, connection resets and truncated bodies — or
//! delays. It also keeps a timeline: when each request arrived and when it was answered.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    SlowDown,
    ServerError,
    AccessDenied,
    Reset,
    Truncate,
    Expired,
    /// 301 PermanentRedirect naming eu-west-1 as the bucket's region.
    WrongRegion,
    /// A JSON-protocol answer (Athena, Glue, CloudTrail): this status and body instead of
    /// upstream's, e.g. `{"__type": "TooManyRequestsException", "message": "…"}`.
    Json(u16, &'static str),
    /// Wait this long, then go on as without this rule: a delay does not take the place of
    /// another matching rule's fault, it comes before it.
    Delay(Duration),
}

/// A moment of the proxy's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moment {
    /// The request's head was read.
    Arrived,
    /// Its answer (or fault) was written, or the connection dropped.
    Answered,
}

/// One entry of [`Proxy::timeline`].
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub path: String,
    pub moment: Moment,
    pub at: Instant,
}

/// A fault for requests whose path contains `path` (and, if set, of this method), `times`
/// times (u32::MAX: always).
#[derive(Debug, Clone)]
pub struct Rule {
    pub method: Option<&'static str>,
    pub path: String,
    pub fault: Fault,
    pub times: u32,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    log: Vec<(String, String)>,
    timeline: Vec<Event>,
}

impl State {
    fn note(&mut self, method: &str, path: &str, moment: Moment) {
        self.timeline.push(Event {
            method: method.to_owned(),
            path: path.to_owned(),
            moment,
            at: Instant::now(),
        });
    }
}

/// Takes one use of a rule (rules with `u32::MAX` uses are never used up).
fn use_once(r: &mut Rule) {
    r.times = r
        .times
        .saturating_sub(if r.times == u32::MAX { 0 } else { 1 });
}

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    pub fn start(upstream_port: u16, rules: Vec<Rule>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            rules,
            log: Vec::new(),
            timeline: Vec::new(),
        }));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream_port, &st);
                });
            }
        });
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    /// (method, path) of every request seen, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().log.clone()
    }

    /// When each request arrived and was answered, in order.
    pub fn timeline(&self) -> Vec<Event> {
        self.state.lock().unwrap().timeline.clone()
    }
}

fn read_head(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<(String, Vec<String>)>> {
    let mut first = String::new();
    if r.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        headers.push(line.trim_end().to_owned());
    }
    Ok(Some((first.trim_end().to_owned(), headers)))
}

fn content_length(headers: &[String]) -> usize {
    headers
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0)
}

fn serve(conn: TcpStream, upstream_port: u16, st: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut client = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let Some((first, headers)) = read_head(&mut client)? else {
            return Ok(());
        };
        let mut body = vec![0; content_length(&headers)];
        client.read_exact(&mut body)?;
        let mut parts = first.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let mut path = parts.next().unwrap_or_default().to_owned();
        // query-protocol calls (STS, IAM) name their action in the form body, JSON-protocol
        // calls (Athena, Glue) in X-Amz-Target: log it as `/#Action`
        if method == "POST" {
            let text = String::from_utf8_lossy(&body);
            let target = headers.iter().find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.eq_ignore_ascii_case("x-amz-target")
                    .then(|| v.trim().to_owned())
            });
            if let Some(action) = text.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
                path = format!("{path}#{action}");
            } else if let Some(t) = target {
                path = format!("{path}#{t}");
            }
        }
        let (delay, fault) = {
            let mut s = st.lock().unwrap();
            s.log.push((method.clone(), path.clone()));
            s.note(&method, &path, Moment::Arrived);
            let applies = |r: &Rule| {
                r.times > 0 && path.contains(&r.path) && r.method.is_none_or(|m| m == method)
            };
            let mut delay = Duration::ZERO;
            for r in s.rules.iter_mut() {
                if let (true, Fault::Delay(d)) = (applies(r), r.fault) {
                    delay += d;
                    use_once(r);
                }
            }
            let hit = s
                .rules
                .iter_mut()
                .find(|r| !matches!(r.fault, Fault::Delay(_)) && applies(r));
            (
                delay,
                hit.map(|r| {
                    use_once(r);
                    r.fault
                }),
            )
        };
        std::thread::sleep(delay);
        let answered = answer(&mut out, fault, &first, &headers, &body, upstream_port);
        st.lock().unwrap().note(&method, &path, Moment::Answered);
        if !answered? {
            return Ok(());
        }
    }
}

/// Answers one request: with its fault, or upstream's answer. False when the connection
/// must close.
fn answer(
    out: &mut TcpStream,
    fault: Option<Fault>,
    first: &str,
    headers: &[String],
    body: &[u8],
    upstream_port: u16,
) -> std::io::Result<bool> {
    let method = first.split(' ').next().unwrap_or_default();
    match fault {
        Some(Fault::SlowDown) => {
            let b = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            write!(out, "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{b}", b.len())?;
            return Ok(true);
        }
        Some(Fault::ServerError) => {
            let b = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>";
            write!(out, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{b}", b.len())?;
            return Ok(true);
        }
        Some(Fault::AccessDenied) => {
            let b = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
            write!(out, "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{b}", b.len())?;
            return Ok(true);
        }
        Some(Fault::Expired) => {
            let b = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>";
            write!(out, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{b}", b.len())?;
            return Ok(true);
        }
        Some(Fault::WrongRegion) => {
            let b = if method == "HEAD" {
                ""
            } else {
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>"
            };
            write!(out, "HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-1\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{b}", b.len())?;
            return Ok(true);
        }
        Some(Fault::Json(status, b)) => {
            write!(out, "HTTP/1.1 {status} Error\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: r\r\nContent-Length: {}\r\n\r\n{b}", b.len())?;
            return Ok(true);
        }
        Some(Fault::Reset) => return Ok(false), // drop the connection without answering
        _ => {}
    }
    // forward on a fresh upstream connection
    let mut up = TcpStream::connect(("127.0.0.1", upstream_port))?;
    let mut req = format!("{first}\r\n");
    for h in headers {
        if !h.to_ascii_lowercase().starts_with("connection:") {
            req.push_str(h);
            req.push_str("\r\n");
        }
    }
    req.push_str("Connection: close\r\n\r\n");
    up.write_all(req.as_bytes())?;
    up.write_all(body)?;
    let mut up_r = BufReader::new(up);
    let Some((status, rheaders)) = read_head(&mut up_r)? else {
        return Ok(false);
    };
    let mut rbody = Vec::new();
    up_r.read_to_end(&mut rbody)?;
    let mut resp = format!("{status}\r\n");
    for h in &rheaders {
        let l = h.to_ascii_lowercase();
        if !l.starts_with("connection:")
            && !l.starts_with("content-length:")
            && !l.starts_with("transfer-encoding:")
        {
            resp.push_str(h);
            resp.push_str("\r\n");
        }
    }
    resp.push_str(&format!("Content-Length: {}\r\n\r\n", rbody.len()));
    out.write_all(resp.as_bytes())?;
    if fault == Some(Fault::Truncate) && method == "GET" && rbody.len() > 16 {
        out.write_all(&rbody[..rbody.len() / 2])?;
        return Ok(false); // close mid-body
    }
    out.write_all(&rbody)?;
    Ok(true)
}
