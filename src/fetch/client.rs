//! One polite HTTP client for every source: in goes a [`FetchRequest`] (URL, GET or POST, stored
//! validators, accepted content types), out comes a [`FetchResponse`] (`NotModified`, or the
//! decoded body with its status, final URL, validators and content type) or a [`FetchError`]
//! naming the URL and the kind of failure, marked transient or not. Retries with backoff and
//! jitter, `Retry-After`, per-host concurrency and spacing, size caps before and after
//! decompression, redirect limits and truncation checks all live here; every wait goes through
//! an injectable [`Clock`].

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::Url;
use reqwest::blocking::Response;
use reqwest::header::{self, HeaderMap};

use super::store::StoreError;

/// Time source and sleeper. Every wait of the client (backoff, `Retry-After`, per-host spacing)
/// goes through [`Clock::sleep`], so tests can record or shorten waits.
pub trait Clock: Send + Sync {
    /// Monotonic now, for intervals and deadlines.
    fn now(&self) -> Instant;
    /// Wall-clock now, for `Retry-After` HTTP dates and snapshot times.
    fn now_utc(&self) -> DateTime<Utc>;
    /// Blocks the calling thread for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn now_utc(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, duration: Duration) {
        if !duration.is_zero() {
            std::thread::sleep(duration);
        }
    }
}

/// Politeness towards one host: at most `max_concurrent` requests in flight and at least
/// `min_interval` between the starts of two requests (every attempt and redirect hop counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    pub max_concurrent: usize,
    pub min_interval: Duration,
}

impl HostLimits {
    /// One request at a time, at most `n` a minute (PeeringDB anonymous: `per_minute(20)`).
    pub fn per_minute(n: u32) -> HostLimits {
        HostLimits {
            max_concurrent: 1,
            min_interval: Duration::from_secs(60) / n.max(1),
        }
    }
}

impl Default for HostLimits {
    fn default() -> HostLimits {
        HostLimits {
            max_concurrent: 2,
            min_interval: Duration::from_millis(500),
        }
    }
}

/// Settings of the shared client. Build with [`ClientConfig::new`] and override fields.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Sent on every request; names the tool and a contact, e.g. `dcinv/0.1 (+ops@example.org)`.
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Longest wait for the response head and for each read of the body (an idle body fails).
    pub read_timeout: Duration,
    /// Longest time one attempt may take from first byte sent to last byte read (a body that
    /// trickles in below `read_timeout` still fails here).
    pub total_timeout: Duration,
    /// Retries after the first attempt, for transient failures only.
    pub max_retries: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// `Retry-After` on 429/503 is honoured up to this wait (longer values are cut to it).
    pub max_retry_after: Duration,
    /// Cap on the body as sent on the wire (compressed).
    pub max_body_bytes: u64,
    /// Cap on the body after decoding gzip/deflate/brotli (a decompression bomb fails here).
    pub max_decompressed_bytes: u64,
    pub max_redirects: u32,
    /// Limits of hosts not named in `host_limits`.
    pub default_host_limits: HostLimits,
    /// Per-host limits keyed by lower-case host name (no port), e.g. `www.peeringdb.com`.
    pub host_limits: BTreeMap<String, HostLimits>,
    /// Honour `HTTP(S)_PROXY` / `NO_PROXY` from the environment.
    pub use_system_proxy: bool,
    /// After this many fetches in a row to one host end in a connection failure (retries
    /// spent), further requests to that host in this run fail at once (`HostUnreachable`)
    /// instead of each waiting through its own timeouts and retries. 0 = never.
    pub host_down_after: u32,
}

impl ClientConfig {
    /// Defaults, with a User-Agent `dcinv/<version> (+<contact>)`.
    pub fn new(contact: &str) -> ClientConfig {
        ClientConfig {
            user_agent: format!("dcinv/{} (+{})", env!("CARGO_PKG_VERSION"), contact.trim()),
            connect_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(90),
            total_timeout: Duration::from_secs(30 * 60),
            max_retries: 4,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(300),
            max_body_bytes: 2 * 1024 * 1024 * 1024,
            max_decompressed_bytes: 4 * 1024 * 1024 * 1024,
            max_redirects: 5,
            default_host_limits: HostLimits::default(),
            host_limits: BTreeMap::new(),
            use_system_proxy: true,
            host_down_after: 2,
        }
    }
}

/// GET, or POST with a body and its content type (Overpass queries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestMethod {
    Get,
    Post { body: Vec<u8>, content_type: String },
}

/// One request. `etag` / `last_modified` become `If-None-Match` / `If-Modified-Since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub url: String,
    pub method: RequestMethod,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Accepted media types (`application/json`, `text/*`); any other is an error. `None` (or
    /// an empty list) accepts anything.
    pub expect_content_types: Option<Vec<String>>,
    /// An Overpass-style `/api/status` page: after a 429 or 504 the client reads it and waits
    /// for the slot it announces (capped by `max_retry_after`) instead of backing off blindly.
    pub slot_status_url: Option<String>,
}

impl FetchRequest {
    pub fn get(url: impl Into<String>) -> FetchRequest {
        FetchRequest {
            url: url.into(),
            method: RequestMethod::Get,
            etag: None,
            last_modified: None,
            expect_content_types: None,
            slot_status_url: None,
        }
    }

    pub fn post(
        url: impl Into<String>,
        body: impl Into<Vec<u8>>,
        content_type: impl Into<String>,
    ) -> FetchRequest {
        FetchRequest {
            method: RequestMethod::Post {
                body: body.into(),
                content_type: content_type.into(),
            },
            ..FetchRequest::get(url)
        }
    }

    /// Sets the accepted content types.
    pub fn expecting<S: Into<String>>(
        mut self,
        types: impl IntoIterator<Item = S>,
    ) -> FetchRequest {
        self.expect_content_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the slot status page read after a 429 or 504.
    pub fn with_slot_status(mut self, status_url: impl Into<String>) -> FetchRequest {
        self.slot_status_url = Some(status_url.into());
        self
    }
}

/// What a successful fetch gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchResponse {
    /// 304: the validators sent still hold. The server may send refreshed validators.
    NotModified {
        final_url: String,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// The decoded body (after gzip/deflate/brotli).
    Body {
        bytes: Vec<u8>,
        status: u16,
        final_url: String,
        etag: Option<String>,
        last_modified: Option<String>,
        content_type: Option<String>,
    },
}

/// Where a timeout struck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    Connect,
    /// Waiting for the response head.
    Response,
    /// Waiting for the next piece of the body.
    Body,
    /// The whole attempt took longer than `total_timeout`.
    Total,
}

/// The kind of a fetch failure.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("client setup failed: {0}")]
    ClientSetup(String),
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("network error: {0}")]
    Network(String),
    #[error("timed out ({phase:?})")]
    Timeout { phase: TimeoutPhase },
    #[error("HTTP {code}{}", if snippet.is_empty() { String::new() } else { format!(": {snippet}") })]
    Status { code: u16, snippet: String },
    #[error("body larger than {limit} bytes (declared {declared:?})")]
    TooLarge { limit: u64, declared: Option<u64> },
    #[error("decoded body larger than {limit} bytes")]
    DecompressedTooLarge { limit: u64 },
    #[error("cannot decode {encoding} body: {detail}")]
    Decode { encoding: String, detail: String },
    #[error("unsupported Content-Encoding {0:?}")]
    UnsupportedEncoding(String),
    #[error("redirect loop: {}", chain.join(" -> "))]
    RedirectLoop { chain: Vec<String> },
    #[error("more than {max} redirects: {}", chain.join(" -> "))]
    TooManyRedirects { max: u32, chain: Vec<String> },
    #[error("bad redirect to {location:?}: {reason}")]
    BadRedirect { location: String, reason: String },
    #[error("content type {got:?} is not one of {expected:?}")]
    BadContentType {
        expected: Vec<String>,
        got: Option<String>,
    },
    #[error("body cut short after {received} bytes (expected {expected:?}): {detail}")]
    Truncated {
        received: u64,
        expected: Option<u64>,
        detail: String,
    },
    #[error("304 Not Modified without validators sent")]
    UnexpectedNotModified,
    #[error("offline: {0}")]
    Offline(String),
    #[error("host {host} unreachable: {failures} fetches in a row failed to connect in this run")]
    HostUnreachable { host: String, failures: u32 },
    #[error("snapshot store: {0}")]
    Store(#[source] Box<StoreError>),
}

impl ErrorKind {
    /// Whether trying again later may succeed (and so whether the client retries).
    pub fn is_transient(&self) -> bool {
        match self {
            ErrorKind::Connect(_)
            | ErrorKind::Network(_)
            | ErrorKind::Timeout { .. }
            | ErrorKind::Truncated { .. } => true,
            ErrorKind::Status { code, .. } => status_is_transient(*code),
            _ => false,
        }
    }
}

/// A failed fetch: the URL asked for, what went wrong, and how many attempts were made.
#[derive(Debug, thiserror::Error)]
#[error("fetching {url}: {kind} (after {attempts} attempt(s))")]
pub struct FetchError {
    pub url: String,
    #[source]
    pub kind: ErrorKind,
    pub attempts: u32,
}

impl FetchError {
    pub fn new(url: impl Into<String>, kind: ErrorKind, attempts: u32) -> FetchError {
        FetchError {
            url: url.into(),
            kind,
            attempts,
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }
}

/// What the client is doing, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchEvent {
    Attempt {
        url: String,
        attempt: u32,
    },
    /// Waiting for a host's minimum interval.
    HostWait {
        host: String,
        wait: Duration,
    },
    Redirect {
        from: String,
        to: String,
    },
    /// The slot status page was read after a 429 or 504: the wait it announced (capped),
    /// or `None` when it could not be read or said nothing about slots.
    SlotStatus {
        status_url: String,
        wait: Option<Duration>,
    },
    /// A transient failure; the client sleeps `wait` then tries again.
    Retry {
        url: String,
        attempt: u32,
        wait: Duration,
        from_retry_after: bool,
        error: String,
    },
}

/// Receives [`FetchEvent`]s.
pub type FetchObserver = Arc<dyn Fn(&FetchEvent) + Send + Sync>;

/// The shared HTTP client. Cheap to share by reference across threads.
pub struct HttpClient {
    config: ClientConfig,
    inner: reqwest::blocking::Client,
    clock: Arc<dyn Clock>,
    limiter: HostLimiter,
    observer: Option<FetchObserver>,
    /// Per host: fetches in a row that ended in a connection failure.
    connect_failures: Mutex<HashMap<String, u32>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A failed attempt, before deciding whether to retry.
struct Failure {
    kind: ErrorKind,
    retry_after: Option<Duration>,
}

impl From<ErrorKind> for Failure {
    fn from(kind: ErrorKind) -> Failure {
        Failure {
            kind,
            retry_after: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "br",
        }
    }
}

impl HttpClient {
    /// A client on the real clock.
    pub fn new(config: ClientConfig) -> Result<HttpClient, FetchError> {
        HttpClient::with_clock(config, Arc::new(SystemClock))
    }

    /// A client whose waits go through `clock`.
    pub fn with_clock(
        config: ClientConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<HttpClient, FetchError> {
        let setup = |msg: String| FetchError::new("(client setup)", ErrorKind::ClientSetup(msg), 0);
        if config.user_agent.trim().is_empty() {
            return Err(setup("empty User-Agent".into()));
        }
        let mut builder = reqwest::blocking::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.read_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Decoding is done here, under the size caps, whatever features reqwest has.
            .no_gzip()
            .no_brotli()
            .no_deflate()
            .no_zstd();
        if !config.use_system_proxy {
            builder = builder.no_proxy();
        }
        let inner = builder.build().map_err(|e| setup(error_chain(&e)))?;
        let limiter = HostLimiter::new(config.default_host_limits, &config.host_limits);
        Ok(HttpClient {
            config,
            inner,
            clock,
            limiter,
            observer: None,
            connect_failures: Mutex::new(HashMap::new()),
        })
    }

    /// Sends every [`FetchEvent`] to `observer`.
    pub fn with_observer(mut self, observer: FetchObserver) -> HttpClient {
        self.observer = Some(observer);
        self
    }

    /// Sets (or replaces) the limits of one host, e.g. from the catalog.
    pub fn set_host_limits(&self, host: &str, limits: HostLimits) {
        self.limiter.set(host, limits);
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// Fetches `request`, retrying transient failures. Redirects are followed by hand (http and
    /// https only, at most `max_redirects`, a URL seen twice is a loop).
    pub fn fetch(&self, request: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let url =
            parse_http_url(&request.url).map_err(|kind| FetchError::new(&request.url, kind, 0))?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let failures = self.host_connect_failures(&host);
        if self.config.host_down_after > 0 && failures >= self.config.host_down_after {
            let kind = ErrorKind::HostUnreachable { host, failures };
            return Err(FetchError::new(&request.url, kind, 0));
        }
        let result = self.fetch_with_retries(&url, request);
        let connect_failed = matches!(
            &result,
            Err(e) if matches!(
                e.kind,
                ErrorKind::Connect(_) | ErrorKind::Timeout { phase: TimeoutPhase::Connect }
            )
        );
        let mut counts = self
            .connect_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if connect_failed {
            *counts.entry(host).or_default() += 1;
        } else {
            counts.remove(&host);
        }
        result
    }

    /// Fetches in a row to `host` that ended in a connection failure, in this run.
    fn host_connect_failures(&self, host: &str) -> u32 {
        self.connect_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .copied()
            .unwrap_or(0)
    }

    fn fetch_with_retries(
        &self,
        url: &Url,
        request: &FetchRequest,
    ) -> Result<FetchResponse, FetchError> {
        let url = url.clone();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.emit(|| FetchEvent::Attempt {
                url: request.url.clone(),
                attempt,
            });
            let failure = match self.attempt(&url, request) {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            if !failure.kind.is_transient() || attempt > self.config.max_retries {
                return Err(FetchError::new(&request.url, failure.kind, attempt));
            }
            let slot_wait = match (&failure.kind, &request.slot_status_url) {
                (
                    ErrorKind::Status {
                        code: 429 | 504, ..
                    },
                    Some(status_url),
                ) => self.slot_wait(status_url),
                _ => None,
            };
            let (wait, from_retry_after) = match (slot_wait, failure.retry_after) {
                (Some(slot), _) => (slot, false),
                (None, Some(after)) => (after.min(self.config.max_retry_after), true),
                (None, None) => (self.backoff(attempt), false),
            };
            self.emit(|| FetchEvent::Retry {
                url: request.url.clone(),
                attempt,
                wait,
                from_retry_after,
                error: failure.kind.to_string(),
            });
            self.clock.sleep(wait);
        }
    }

    /// Reads the slot status page (one attempt, no retry) and returns the wait until the next
    /// free slot plus one second of margin, capped by `max_retry_after`; `None` when the page
    /// cannot be read or announces nothing.
    fn slot_wait(&self, status_url: &str) -> Option<Duration> {
        let wait = parse_http_url(status_url).ok().and_then(|url| {
            let request = FetchRequest::get(status_url);
            match self.attempt(&url, &request) {
                Ok(FetchResponse::Body { bytes, .. }) => {
                    let text = String::from_utf8_lossy(&bytes);
                    super::slots::parse_status(&text, self.clock.now_utc())
                        .and_then(|s| s.wait())
                        .map(|w| (w + Duration::from_secs(1)).min(self.config.max_retry_after))
                }
                _ => None,
            }
        });
        self.emit(|| FetchEvent::SlotStatus {
            status_url: status_url.to_string(),
            wait,
        });
        wait
    }

    /// Exponential backoff with "equal jitter": half the step, plus a random part of the other
    /// half, so two clients that failed together do not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let step = self
            .config
            .base_backoff
            .checked_mul(factor)
            .unwrap_or(self.config.max_backoff)
            .min(self.config.max_backoff);
        let half = step / 2;
        let half_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if half_nanos == 0 {
            0
        } else {
            rand::random_range(0..=half_nanos)
        };
        half + Duration::from_nanos(jitter)
    }

    fn emit(&self, event: impl FnOnce() -> FetchEvent) {
        if let Some(observer) = &self.observer {
            observer(&event());
        }
    }

    /// One attempt, redirects included.
    fn attempt(&self, start: &Url, request: &FetchRequest) -> Result<FetchResponse, Failure> {
        let deadline = self.clock.now() + self.config.total_timeout;
        let validators_sent = request.etag.is_some() || request.last_modified.is_some();
        let mut url = start.clone();
        let mut as_get = false;
        let mut chain = vec![url.to_string()];
        loop {
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            let _permit = self.limiter.acquire(&host, &*self.clock, |wait| {
                self.emit(|| FetchEvent::HostWait {
                    host: host.clone(),
                    wait,
                })
            });
            let mut response = self.send(&url, request, as_get)?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let final_url = response.url().to_string();

            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let next = redirect_target(&url, &headers)?;
                let next_str = next.to_string();
                if chain.contains(&next_str) {
                    chain.push(next_str);
                    return Err(ErrorKind::RedirectLoop { chain }.into());
                }
                if chain.len() > self.config.max_redirects as usize {
                    chain.push(next_str);
                    return Err(ErrorKind::TooManyRedirects {
                        max: self.config.max_redirects,
                        chain,
                    }
                    .into());
                }
                self.emit(|| FetchEvent::Redirect {
                    from: url.to_string(),
                    to: next_str.clone(),
                });
                let is_post = matches!(request.method, RequestMethod::Post { .. });
                if status == 303 || (is_post && matches!(status, 301 | 302)) {
                    as_get = true;
                }
                chain.push(next_str);
                url = next;
                continue;
            }

            if status == 304 {
                if !validators_sent {
                    return Err(ErrorKind::UnexpectedNotModified.into());
                }
                return Ok(FetchResponse::NotModified {
                    final_url,
                    etag: header_string(&headers, header::ETAG),
                    last_modified: header_string(&headers, header::LAST_MODIFIED),
                });
            }

            if !(200..300).contains(&status) || status == 206 {
                let retry_after = if matches!(status, 429 | 503) {
                    header_string(&headers, header::RETRY_AFTER)
                        .and_then(|v| parse_retry_after(&v, self.clock.now_utc()))
                } else {
                    None
                };
                let snippet = if headers.contains_key(header::CONTENT_ENCODING) {
                    String::new()
                } else {
                    read_snippet(&mut response)
                };
                return Err(Failure {
                    kind: ErrorKind::Status {
                        code: status,
                        snippet,
                    },
                    retry_after,
                });
            }

            let content_type = header_string(&headers, header::CONTENT_TYPE);
            if let Some(expected) = request
                .expect_content_types
                .as_ref()
                .filter(|e| !e.is_empty())
                && !content_type_matches(content_type.as_deref(), expected)
            {
                return Err(ErrorKind::BadContentType {
                    expected: expected.clone(),
                    got: content_type,
                }
                .into());
            }
            let encoding = parse_encoding(header_string(&headers, header::CONTENT_ENCODING))?;
            let declared = response.content_length();
            if let Some(declared) = declared
                && declared > self.config.max_body_bytes
            {
                return Err(ErrorKind::TooLarge {
                    limit: self.config.max_body_bytes,
                    declared: Some(declared),
                }
                .into());
            }
            let bytes = self.read_body(&mut response, encoding, declared, deadline)?;
            return Ok(FetchResponse::Body {
                bytes,
                status,
                final_url,
                etag: header_string(&headers, header::ETAG),
                last_modified: header_string(&headers, header::LAST_MODIFIED),
                content_type,
            });
        }
    }

    fn send(&self, url: &Url, request: &FetchRequest, as_get: bool) -> Result<Response, Failure> {
        let mut builder = match (&request.method, as_get) {
            (RequestMethod::Post { body, content_type }, false) => self
                .inner
                .post(url.clone())
                .header(header::CONTENT_TYPE, content_type.as_str())
                .body(body.clone()),
            _ => self.inner.get(url.clone()),
        };
        let accept = match &request.expect_content_types {
            Some(types) if !types.is_empty() => types.join(", "),
            _ => "*/*".to_string(),
        };
        builder = builder
            .header(header::ACCEPT, accept)
            .header(header::ACCEPT_ENCODING, "gzip, br, deflate");
        if let Some(etag) = &request.etag {
            builder = builder.header(header::IF_NONE_MATCH, etag.as_str());
        }
        if let Some(last_modified) = &request.last_modified {
            builder = builder.header(header::IF_MODIFIED_SINCE, last_modified.as_str());
        }
        builder
            .send()
            .map_err(|e| Failure::from(classify_send_error(&e)))
    }

    /// Reads and decodes the body under both caps, the per-read timeout (reqwest's) and the
    /// attempt deadline; a short body is an error.
    fn read_body(
        &self,
        response: &mut Response,
        encoding: Encoding,
        declared: Option<u64>,
        deadline: Instant,
    ) -> Result<Vec<u8>, ErrorKind> {
        let cap = self.config.max_decompressed_bytes;
        let mut raw = RawReader {
            inner: response,
            clock: &*self.clock,
            deadline,
            received: 0,
            limit: self.config.max_body_bytes,
            declared,
            failure: None,
        };
        let capacity = declared.unwrap_or(0).min(cap).min(64 * 1024 * 1024);
        let capacity = usize::try_from(capacity).unwrap_or(0);
        let result = match encoding {
            Encoding::Identity => copy_capped(&mut raw, cap, capacity),
            Encoding::Gzip => copy_capped(flate2::read::MultiGzDecoder::new(&mut raw), cap, 0),
            Encoding::Brotli => copy_capped(
                brotli_decompressor::Decompressor::new(&mut raw, 64 * 1024),
                cap,
                0,
            ),
            Encoding::Deflate => {
                let mut buffered = BufReader::new(&mut raw);
                match buffered.fill_buf() {
                    Ok(head) if looks_like_zlib(head) => {
                        copy_capped(flate2::bufread::ZlibDecoder::new(buffered), cap, 0)
                    }
                    Ok(_) => copy_capped(flate2::bufread::DeflateDecoder::new(buffered), cap, 0),
                    Err(e) => Err(CopyFail::Io(e)),
                }
            }
        };
        let bytes = match result {
            Ok(bytes) => bytes,
            Err(CopyFail::Cap) => {
                return Err(raw.failure.take().unwrap_or(match encoding {
                    Encoding::Identity => ErrorKind::TooLarge {
                        limit: cap,
                        declared,
                    },
                    _ => ErrorKind::DecompressedTooLarge { limit: cap },
                }));
            }
            Err(CopyFail::Io(e)) => {
                return Err(raw.failure.take().unwrap_or_else(|| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        ErrorKind::Truncated {
                            received: raw.received,
                            expected: declared,
                            detail: format!("{} stream ends early", encoding.name()),
                        }
                    } else {
                        ErrorKind::Decode {
                            encoding: encoding.name().to_string(),
                            detail: error_chain(&e),
                        }
                    }
                }));
            }
        };
        if encoding != Encoding::Identity {
            // Whatever follows the compressed stream must still arrive whole.
            let mut sink = [0u8; 8192];
            loop {
                match raw.read(&mut sink) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(raw.failure.take().unwrap_or(ErrorKind::Truncated {
                            received: raw.received,
                            expected: declared,
                            detail: error_chain(&e),
                        }));
                    }
                }
            }
        }
        if let Some(expected) = declared
            && raw.received != expected
        {
            return Err(ErrorKind::Truncated {
                received: raw.received,
                expected: Some(expected),
                detail: "connection closed before the declared Content-Length".into(),
            });
        }
        Ok(bytes)
    }
}

/// The wire body: counts bytes against the compressed cap, enforces the attempt deadline and
/// remembers why it failed (decoders only see an opaque I/O error).
struct RawReader<'a> {
    inner: &'a mut Response,
    clock: &'a dyn Clock,
    deadline: Instant,
    received: u64,
    limit: u64,
    declared: Option<u64>,
    failure: Option<ErrorKind>,
}

impl RawReader<'_> {
    fn fail(&mut self, kind: ErrorKind) -> io::Error {
        let message = kind.to_string();
        self.failure = Some(kind);
        io::Error::other(message)
    }
}

impl Read for RawReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(kind) = &self.failure {
            return Err(io::Error::other(kind.to_string()));
        }
        if self.clock.now() > self.deadline {
            return Err(self.fail(ErrorKind::Timeout {
                phase: TimeoutPhase::Total,
            }));
        }
        match self.inner.read(buf) {
            Ok(n) => {
                self.received += n as u64;
                if self.received > self.limit {
                    let declared = self.declared;
                    return Err(self.fail(ErrorKind::TooLarge {
                        limit: self.limit,
                        declared,
                    }));
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let kind = if io_is_timeout(&e) {
                    ErrorKind::Timeout {
                        phase: TimeoutPhase::Body,
                    }
                } else {
                    ErrorKind::Truncated {
                        received: self.received,
                        expected: self.declared,
                        detail: error_chain(&e),
                    }
                };
                Err(self.fail(kind))
            }
        }
    }
}

enum CopyFail {
    Cap,
    Io(io::Error),
}

fn copy_capped<R: Read>(mut reader: R, cap: u64, capacity: usize) -> Result<Vec<u8>, CopyFail> {
    let mut out = Vec::with_capacity(capacity);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyFail::Io(e)),
        };
        if (out.len() + n) as u64 > cap {
            return Err(CopyFail::Cap);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// A zlib header: deflate method, and the check bits that make the first two bytes a multiple
/// of 31. Some servers send raw deflate under `Content-Encoding: deflate`.
fn looks_like_zlib(head: &[u8]) -> bool {
    match head {
        [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0,
        _ => false,
    }
}

fn parse_encoding(value: Option<String>) -> Result<Encoding, ErrorKind> {
    let Some(value) = value else {
        return Ok(Encoding::Identity);
    };
    let codings: Vec<String> = value
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    match codings.as_slice() {
        [] => Ok(Encoding::Identity),
        [one] => match one.as_str() {
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            "deflate" => Ok(Encoding::Deflate),
            "br" => Ok(Encoding::Brotli),
            _ => Err(ErrorKind::UnsupportedEncoding(value)),
        },
        _ => Err(ErrorKind::UnsupportedEncoding(value)),
    }
}

fn parse_http_url(raw: &str) -> Result<Url, ErrorKind> {
    let url = Url::parse(raw).map_err(|e| ErrorKind::InvalidRequest(format!("bad URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ErrorKind::InvalidRequest(format!(
            "scheme {:?} is not http(s)",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ErrorKind::InvalidRequest("URL has no host".into()));
    }
    Ok(url)
}

fn redirect_target(from: &Url, headers: &HeaderMap) -> Result<Url, ErrorKind> {
    let Some(location) = header_string(headers, header::LOCATION) else {
        return Err(ErrorKind::BadRedirect {
            location: String::new(),
            reason: "no Location header".into(),
        });
    };
    let mut next = from.join(&location).map_err(|e| ErrorKind::BadRedirect {
        location: location.clone(),
        reason: e.to_string(),
    })?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(ErrorKind::BadRedirect {
            reason: format!("scheme {:?} is not http(s)", next.scheme()),
            location,
        });
    }
    next.set_fragment(None);
    Ok(next)
}

fn header_string(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn read_snippet(response: &mut Response) -> String {
    let mut buf = Vec::new();
    let _ = response.take(512).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let mut snippet = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if snippet.len() > 200 {
        let mut end = 200;
        while !snippet.is_char_boundary(end) {
            end -= 1;
        }
        snippet.truncate(end);
        snippet.push('…');
    }
    snippet
}

/// Retryable statuses: request timeout, too early, too many requests, and server errors that
/// are not about the request itself.
fn status_is_transient(code: u16) -> bool {
    matches!(code, 408 | 425 | 429) || ((500..600).contains(&code) && !matches!(code, 501 | 505))
}

/// Accepts `type/subtype`, `type/*` and `*/*`; parameters (`; charset=...`) are ignored.
fn content_type_matches(got: Option<&str>, expected: &[String]) -> bool {
    let Some(got) = got else {
        return false;
    };
    let media = media_type(got);
    let major = media.split('/').next().unwrap_or_default();
    expected.iter().any(|e| {
        let e = media_type(e);
        e == "*/*" || e == media || e.strip_suffix("/*").is_some_and(|p| p == major)
    })
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `Retry-After` as delta-seconds or an HTTP date (IMF-fixdate, RFC 850 or asctime), relative
/// to `now`. A date in the past means no wait.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let when = DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
                .map(|n| n.and_utc())
        })?;
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

fn classify_send_error(e: &reqwest::Error) -> ErrorKind {
    if e.is_builder() {
        ErrorKind::InvalidRequest(error_chain(e))
    } else if e.is_timeout() {
        ErrorKind::Timeout {
            phase: if e.is_connect() {
                TimeoutPhase::Connect
            } else {
                TimeoutPhase::Response
            },
        }
    } else if e.is_connect() {
        ErrorKind::Connect(error_chain(e))
    } else {
        ErrorKind::Network(error_chain(e))
    }
}

fn io_is_timeout(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::TimedOut {
        return true;
    }
    let mut next: Option<&(dyn StdError + 'static)> = e.get_ref().map(|inner| inner as _);
    while let Some(err) = next {
        if let Some(r) = err.downcast_ref::<reqwest::Error>()
            && r.is_timeout()
        {
            return true;
        }
        if let Some(io) = err.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::TimedOut
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// An error and its causes, joined with `: ` (without repeats).
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// Per-host concurrency and spacing. A slot's start time is reserved under the lock, then the
/// caller sleeps (through the clock) until it.
struct HostLimiter {
    defaults: HostLimits,
    hosts: Mutex<HashMap<String, HostState>>,
    freed: Condvar,
}

struct HostState {
    limits: HostLimits,
    in_flight: usize,
    next_start: Option<Instant>,
}

struct HostPermit<'a> {
    limiter: &'a HostLimiter,
    host: String,
}

impl Drop for HostPermit<'_> {
    fn drop(&mut self) {
        let mut hosts = self
            .limiter
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = hosts.get_mut(&self.host) {
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        drop(hosts);
        self.limiter.freed.notify_all();
    }
}

impl HostLimiter {
    fn new(defaults: HostLimits, per_host: &BTreeMap<String, HostLimits>) -> HostLimiter {
        let hosts = per_host
            .iter()
            .map(|(host, limits)| {
                (
                    host.to_ascii_lowercase(),
                    HostState {
                        limits: *limits,
                        in_flight: 0,
                        next_start: None,
                    },
                )
            })
            .collect();
        HostLimiter {
            defaults,
            hosts: Mutex::new(hosts),
            freed: Condvar::new(),
        }
    }

    fn set(&self, host: &str, limits: HostLimits) {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts
            .entry(host.to_ascii_lowercase())
            .and_modify(|s| s.limits = limits)
            .or_insert(HostState {
                limits,
                in_flight: 0,
                next_start: None,
            });
        drop(hosts);
        self.freed.notify_all();
    }

    fn acquire(
        &self,
        host: &str,
        clock: &dyn Clock,
        on_wait: impl FnOnce(Duration),
    ) -> HostPermit<'_> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let defaults = self.defaults;
            let state = hosts.entry(host.to_string()).or_insert(HostState {
                limits: defaults,
                in_flight: 0,
                next_start: None,
            });
            if state.in_flight < state.limits.max_concurrent.max(1) {
                let now = clock.now();
                let start = state.next_start.map_or(now, |t| t.max(now));
                state.next_start = Some(start + state.limits.min_interval);
                state.in_flight += 1;
                drop(hosts);
                let wait = start.saturating_duration_since(now);
                if !wait.is_zero() {
                    on_wait(wait);
                    clock.sleep(wait);
                }
                return HostPermit {
                    limiter: self,
                    host: host.to_string(),
                };
            }
            hosts = self
                .freed
                .wait(hosts)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}
