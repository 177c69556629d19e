//! Live fetching: downloads a catalog URL with one shared reqwest client (rustls, gzip,
//! timeouts, a User-Agent naming the tool) into a content-addressed snapshot cache
//! (`<cache>/<source-id>/<sha256>` plus a JSON sidecar), written atomically. Politeness
//! (validators, retries, rate limits) is the job of a later stage and plugs in here.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::{Fetcher, Snapshot, write_atomic};
use crate::catalog::{FileSpec, SourceSpec};
use crate::error::FetchError;

/// Largest body accepted, in bytes.
const MAX_BYTES: u64 = 2 * 1024 * 1024 * 1024;

pub struct HttpFetcher {
    pub cache_dir: PathBuf,
    client: reqwest::blocking::Client,
}

#[derive(Serialize)]
struct Sidecar<'a> {
    url: &'a str,
    final_url: String,
    status: u16,
    etag: Option<String>,
    last_modified: Option<String>,
    sha256: &'a str,
    bytes: usize,
    fetched_at: &'a str,
    tool_version: &'a str,
}

impl HttpFetcher {
    pub fn new(cache_dir: PathBuf) -> Result<HttpFetcher, FetchError> {
        let client = reqwest::blocking::Client::builder()
            .user_agent(concat!(
                "dcinv/",
                env!("CARGO_PKG_VERSION"),
                " (open data-centre inventory)"
            ))
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(300))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| FetchError::Http {
                source_id: String::new(),
                url: String::new(),
                message: e.to_string(),
            })?;
        Ok(HttpFetcher { cache_dir, client })
    }
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, spec: &SourceSpec, file: &FileSpec) -> Result<Snapshot, FetchError> {
        let url = file.url.as_deref().ok_or_else(|| FetchError::NoUrl {
            source_id: spec.id.clone(),
            file: file.name.clone(),
        })?;
        let http_err = |message: String| FetchError::Http {
            source_id: spec.id.clone(),
            url: url.to_string(),
            message,
        };
        let response = self
            .client
            .get(url)
            .send()
            .map_err(|e| http_err(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(http_err(format!("HTTP {status}")));
        }
        if response.content_length().is_some_and(|n| n > MAX_BYTES) {
            return Err(http_err(format!("body larger than {MAX_BYTES} bytes")));
        }
        let final_url = response.url().to_string();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (etag, last_modified) = (header("etag"), header("last-modified"));
        let bytes = response
            .bytes()
            .map_err(|e| http_err(e.to_string()))?
            .to_vec();
        let snapshot = Snapshot::new(bytes, url.to_string());
        let dir = self.cache_dir.join(&spec.id);
        let io = |e: std::io::Error, path: PathBuf| FetchError::Io {
            source_id: spec.id.clone(),
            path,
            err: e,
        };
        let raw = dir.join(&snapshot.sha256);
        write_atomic(&raw, &snapshot.bytes).map_err(|e| io(e, raw.clone()))?;
        let sidecar = Sidecar {
            url,
            final_url,
            status: status.as_u16(),
            etag,
            last_modified,
            sha256: &snapshot.sha256,
            bytes: snapshot.bytes.len(),
            fetched_at: &snapshot.retrieved_at,
            tool_version: env!("CARGO_PKG_VERSION"),
        };
        let json = serde_json::to_vec_pretty(&sidecar).unwrap_or_default();
        let side = dir.join(format!("{}.json", snapshot.sha256));
        write_atomic(&side, &json).map_err(|e| io(e, side.clone()))?;
        let latest = dir.join(format!("{}.latest", file.name));
        write_atomic(&latest, snapshot.sha256.as_bytes()).map_err(|e| io(e, latest.clone()))?;
        Ok(snapshot)
    }

    fn describe(&self) -> String {
        format!("live (snapshot cache {})", self.cache_dir.display())
    }
}
