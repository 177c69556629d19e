//! Live fetching for the build: a catalog file → a [`Snapshot`] through the one polite HTTP
//! client (`client`) and the content-addressed snapshot store (`store`): conditional
//! requests with the stored validators (a 304 reuses the snapshot), `--refresh`, `--offline`,
//! per-host rate limits from the catalog, URL overrides for one run, and the last good
//! snapshot of a file for the fallback. The catalog's live protocols are dispatched here:
//! Overpass POST queries with slot-aware waits, paged exports (`paging`), and PeeringDB's
//! incremental `since` (`incremental`), whose merged full set is what gets stored.

use std::collections::HashMap;
use std::path::PathBuf;

use super::client::{ClientConfig, FetchRequest, FetchResponse, HostLimits, HttpClient};
use super::snapshot::{FetchMode, FetchOutcome, FetchedSnapshot, fetch_snapshot, store_assembled};
use super::store::SnapshotStore;
use super::{Fetcher, Snapshot};
use super::{paging, peeringdb};
use crate::catalog::{FileSpec, SourceSpec};
use crate::catalog::{Incremental, Paging};
use crate::error::FetchError;

pub struct LiveFetcher {
    client: HttpClient,
    store: SnapshotStore,
    mode: FetchMode,
    cache_dir: PathBuf,
    /// `<source-id>` or `<source-id>/<file>` → URL, for this run only.
    overrides: HashMap<String, String>,
}

/// A fetcher that could not be set up (client or snapshot store): no source or URL yet.
fn setup(message: String) -> FetchError {
    FetchError::Http {
        source_id: String::new(),
        url: String::new(),
        message,
    }
}

fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
}

impl LiveFetcher {
    pub fn new(
        cache_dir: PathBuf,
        mode: FetchMode,
        contact: &str,
        overrides: HashMap<String, String>,
        specs: &[SourceSpec],
        max_retries: u32,
    ) -> Result<LiveFetcher, FetchError> {
        let mut config = ClientConfig::new(contact);
        config.max_retries = max_retries;
        LiveFetcher::with_config(cache_dir, mode, config, overrides, specs)
    }

    /// As [`LiveFetcher::new`], with every setting of the client given (timeouts, caps).
    pub fn with_config(
        cache_dir: PathBuf,
        mode: FetchMode,
        config: ClientConfig,
        overrides: HashMap<String, String>,
        specs: &[SourceSpec],
    ) -> Result<LiveFetcher, FetchError> {
        let client = HttpClient::new(config).map_err(|e| setup(e.to_string()))?;
        LiveFetcher::with_client(client, cache_dir, mode, overrides, specs)
    }

    /// A live fetcher over a client built by the caller (tests give it a fake clock).
    pub fn with_client(
        client: HttpClient,
        cache_dir: PathBuf,
        mode: FetchMode,
        overrides: HashMap<String, String>,
        specs: &[SourceSpec],
    ) -> Result<LiveFetcher, FetchError> {
        // An override that names no source or file of the catalog is a mistake, not a no-op.
        for key in overrides.keys() {
            let (id, name) = match key.split_once('/') {
                Some((id, name)) => (id, Some(name)),
                None => (key.as_str(), None),
            };
            let known = specs
                .iter()
                .any(|s| s.id == id && name.is_none_or(|n| s.files.iter().any(|f| f.name == n)));
            if !known {
                return Err(setup(format!(
                    "--source-url `{key}`: no such source or <source-id>/<file> in the catalog"
                )));
            }
        }
        let store = SnapshotStore::open(cache_dir.clone()).map_err(|e| setup(e.to_string()))?;
        let fetcher = LiveFetcher {
            client,
            store,
            mode,
            cache_dir,
            overrides,
        };
        for spec in specs {
            let Some(per_minute) = spec.requests_per_minute else {
                continue;
            };
            for file in &spec.files {
                if let Some(host) = fetcher.url_for(spec, file).as_deref().and_then(host_of) {
                    fetcher
                        .client
                        .set_host_limits(&host, HostLimits::per_minute(per_minute));
                }
            }
        }
        Ok(fetcher)
    }

    /// Whether a `--source-url` names this file or its source.
    pub fn overrides(&self, spec: &SourceSpec, file: &FileSpec) -> bool {
        self.overrides
            .contains_key(&format!("{}/{}", spec.id, file.name))
            || self.overrides.contains_key(&spec.id)
    }

    /// The URL of a file for this run: an override, else the catalog's.
    pub fn url_for(&self, spec: &SourceSpec, file: &FileSpec) -> Option<String> {
        self.overrides
            .get(&format!("{}/{}", spec.id, file.name))
            .or_else(|| self.overrides.get(&spec.id))
            .cloned()
            .or_else(|| file.url.clone())
    }

    /// Removes old snapshots, keeping the `keep` most recent per file and every last good one.
    pub fn gc(&self, keep: usize) -> Result<(usize, u64), FetchError> {
        let report = self.store.gc(keep).map_err(|e| FetchError::Io {
            source_id: String::new(),
            path: self.cache_dir.clone(),
            err: std::io::Error::other(e.to_string()),
        })?;
        Ok((
            report.removed.len(),
            report.removed.iter().map(|r| r.bytes).sum(),
        ))
    }
}

impl LiveFetcher {
    /// One file by the protocol the catalog declares for it; offline, every protocol reads
    /// the latest stored snapshot.
    fn fetch_protocol(
        &self,
        spec: &SourceSpec,
        file: &FileSpec,
        url: &str,
    ) -> Result<FetchedSnapshot, String> {
        let plain = |request: FetchRequest| {
            fetch_snapshot(
                &self.client,
                &self.store,
                &spec.id,
                &file.name,
                &request,
                self.mode,
            )
            .map_err(|e| e.to_string())
        };
        // A plain download, checked against the content types the catalog allows.
        let get = || {
            let request = FetchRequest::get(url);
            match &file.content_types {
                Some(types) => request.expecting(types.iter().cloned()),
                None => request,
            }
        };
        if self.mode == FetchMode::Offline {
            return plain(get());
        }
        let assembled = |bytes: Vec<u8>, final_url: &str| {
            store_assembled(
                &self.client,
                &self.store,
                &spec.id,
                &file.name,
                url,
                final_url,
                bytes,
            )
            .map_err(|e| e.to_string())
        };
        if let Some(overpass) = &file.overpass {
            let mut form =
                reqwest::Url::parse("http://form.invalid/").map_err(|e| e.to_string())?;
            form.query_pairs_mut()
                .append_pair("data", &overpass.query().to_ql());
            let body = form.query().unwrap_or_default().to_string();
            let request = FetchRequest::post(url, body, "application/x-www-form-urlencoded")
                .with_slot_status(overpass.status_url_for(url));
            return plain(request);
        }
        if let Some(kind) = file.paging {
            let pages = match kind {
                Paging::Opendatasoft => {
                    paging::fetch_opendatasoft(&self.client, url, file.page_size)
                }
                Paging::Arcgis => paging::fetch_arcgis(&self.client, url, file.page_size),
            }
            .map_err(|e| e.to_string())?;
            return assembled(pages.bytes, &pages.last_url);
        }
        if file.incremental == Some(Incremental::Peeringdb) {
            return self.fetch_peeringdb(spec, file, url, assembled);
        }
        plain(get())
    }

    /// A full download the first time (and with `--refresh`); afterwards only the objects
    /// changed since the previous download, merged over the previous full set.
    fn fetch_peeringdb(
        &self,
        spec: &SourceSpec,
        file: &FileSpec,
        url: &str,
        assembled: impl Fn(Vec<u8>, &str) -> Result<FetchedSnapshot, String>,
    ) -> Result<FetchedSnapshot, String> {
        let previous = match self.mode {
            FetchMode::Normal => self
                .store
                .latest(&spec.id, &file.name)
                .ok()
                .flatten()
                .filter(|m| m.url == url)
                .and_then(|m| {
                    let at = chrono::DateTime::parse_from_rfc3339(&m.fetched_at).ok()?;
                    let bytes = self.store.read(&spec.id, &m.sha256).ok()?;
                    peeringdb::check_full(&bytes).ok()?;
                    Some((at.timestamp(), bytes))
                }),
            _ => None,
        };
        let get = |target: &str| match self.client.fetch(&FetchRequest::get(target)) {
            Ok(FetchResponse::Body { bytes, .. }) => Ok(bytes),
            Ok(FetchResponse::NotModified { .. }) => Err(format!("{target}: unexpected 304")),
            Err(e) => Err(e.to_string()),
        };
        match previous {
            None => {
                let bytes = get(url)?;
                peeringdb::check_full(&bytes).map_err(|e| e.to_string())?;
                assembled(bytes, url)
            }
            Some((fetched_at_s, previous)) => {
                let since = peeringdb::since_url(url, fetched_at_s - peeringdb::SINCE_OVERLAP_S)?;
                let delta = get(&since)?;
                let merged = peeringdb::merge(&previous, &delta).map_err(|e| e.to_string())?;
                assembled(merged.bytes, &since)
            }
        }
    }
}

impl Fetcher for LiveFetcher {
    fn fetch(&self, spec: &SourceSpec, file: &FileSpec) -> Result<Snapshot, FetchError> {
        let url = match (self.url_for(spec, file), self.mode) {
            (Some(u), _) => u,
            (None, FetchMode::Offline) => String::from("offline:"),
            (None, _) => {
                return Err(FetchError::NoUrl {
                    source_id: spec.id.clone(),
                    file: file.name.clone(),
                });
            }
        };
        let fetched =
            self.fetch_protocol(spec, file, &url)
                .map_err(|message| FetchError::Http {
                    source_id: spec.id.clone(),
                    url: url.clone(),
                    message,
                })?;
        Ok(Snapshot {
            sha256: fetched.sha256,
            bytes: fetched.bytes,
            retrieved_at: fetched.meta.fetched_at.clone(),
            origin: fetched.meta.url.clone(),
            outcome: match fetched.outcome {
                FetchOutcome::Downloaded => "downloaded",
                FetchOutcome::NotModified => "not_modified",
                FetchOutcome::FromCacheOffline => "offline_cache",
            },
        })
    }

    fn last_good(&self, spec: &SourceSpec, file: &FileSpec) -> Option<(Snapshot, u64)> {
        let good = self.store.last_good(&spec.id, &file.name).ok()??;
        let bytes = self.store.read(&spec.id, &good.sha256).ok()?;
        let meta = self.store.meta(&spec.id, &good.sha256).ok();
        Some((
            Snapshot {
                sha256: good.sha256.clone(),
                bytes,
                retrieved_at: meta
                    .as_ref()
                    .map_or(good.marked_at.clone(), |m| m.fetched_at.clone()),
                origin: meta.map_or_else(String::new, |m| m.url),
                outcome: "last_good",
            },
            good.record_count,
        ))
    }

    fn mark_good(
        &self,
        spec: &SourceSpec,
        file: &FileSpec,
        sha256: &str,
        count: u64,
    ) -> Result<(), FetchError> {
        self.store
            .mark_good(&spec.id, &file.name, sha256, count)
            .map_err(|e| FetchError::Io {
                source_id: spec.id.clone(),
                path: self.cache_dir.clone(),
                err: std::io::Error::other(format!("marking {} good: {e}", file.name)),
            })
            .map(|_| ())
    }

    fn describe(&self) -> String {
        let mode = match self.mode {
            FetchMode::Normal => "live",
            FetchMode::Refresh => "live, refresh",
            FetchMode::Offline => "offline, snapshot cache only",
        };
        format!("{mode} (snapshot cache {})", self.cache_dir.display())
    }
}
