//! Test-only scriptable HTTP/1.1 server on 127.0.0.1: in go canned [`Reply`]s per path (status,
//! headers, body, delays, bodies cut short or stalled, connections closed early); out come the
//! requests it saw (method, path, headers, body, arrival time) and the most requests it served
//! at once. Each path plays its replies in order and repeats the last one.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the body goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
enum BodyMode {
    Full,
    /// Sends this many body bytes, then closes the connection.
    CutAfter(usize),
    /// Sends this many body bytes, waits, then sends the rest.
    StallAfter(usize, Duration),
}

/// One canned response.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
    mode: BodyMode,
    content_length: bool,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            mode: BodyMode::Full,
            content_length: true,
        }
    }

    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(200).body(body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    /// Waits this long before sending anything.
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Declares the full Content-Length but sends only `n` body bytes, then closes.
    pub fn cut_after(mut self, n: usize) -> Reply {
        self.mode = BodyMode::CutAfter(n);
        self
    }

    /// Sends `n` body bytes, waits `pause`, then sends the rest.
    pub fn stall_after(mut self, n: usize, pause: Duration) -> Reply {
        self.mode = BodyMode::StallAfter(n, pause);
        self
    }

    /// No Content-Length: the body ends when the connection closes.
    pub fn without_content_length(mut self) -> Reply {
        self.content_length = false;
        self
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the request head had been read.
    pub at: Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, VecDeque<Reply>>>,
    seen: Mutex<Vec<Seen>>,
    active: AtomicUsize,
    max_active: AtomicUsize,
}

pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || serve_connection(stream, &state));
                }
            })
        };
        TestServer {
            addr,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// Replies for `path` (without query), played in order; the last one repeats.
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        lock(&self.state.routes).insert(path.to_string(), replies.into());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.state.seen).clone()
    }

    /// Requests seen for `path` (query ignored).
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.state.seen)
            .iter()
            .filter(|s| s.target.split('?').next() == Some(path))
            .count()
    }

    /// The most requests that were being answered at the same time.
    pub fn max_concurrent(&self) -> usize {
        self.state.max_active.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn serve_connection(stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    while let Some(seen) = read_request(&mut reader) {
        let path = seen
            .target
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        let wants_close = seen
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        lock(&state.seen).push(seen);
        let reply = {
            let mut routes = lock(&state.routes);
            match routes.get_mut(&path) {
                Some(queue) if queue.len() > 1 => queue.pop_front(),
                Some(queue) => queue.front().cloned(),
                None => None,
            }
        }
        .unwrap_or_else(|| Reply::new(404).body(format!("testserver: no route for {path}")));
        let now = state.active.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_active.fetch_max(now, Ordering::SeqCst);
        let keep_open = send_reply(&mut writer, &reply);
        state.active.fetch_sub(1, Ordering::SeqCst);
        if !keep_open || wants_close {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let at = Instant::now();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        headers,
        body,
        at,
    })
}

/// Writes the reply; returns whether the connection may be reused.
fn send_reply(writer: &mut TcpStream, reply: &Reply) -> bool {
    std::thread::sleep(reply.delay);
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.content_length {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    } else {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    if writer.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let sent = match &reply.mode {
        BodyMode::Full => writer.write_all(&reply.body).is_ok(),
        BodyMode::CutAfter(n) => {
            let _ = writer.write_all(&reply.body[..(*n).min(reply.body.len())]);
            let _ = writer.flush();
            return false;
        }
        BodyMode::StallAfter(n, pause) => {
            let n = (*n).min(reply.body.len());
            let first = writer
                .write_all(&reply.body[..n])
                .and_then(|()| writer.flush());
            std::thread::sleep(*pause);
            first.is_ok() && writer.write_all(&reply.body[n..]).is_ok()
        }
    };
    let _ = writer.flush();
    sent && reply.content_length
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
