//! Ties the client to the store: in go a source id, a file name, a [`FetchRequest`] and a
//! [`FetchMode`]; out comes a [`FetchedSnapshot`] (verified bytes, their sha256 and sidecar, and
//! whether they were downloaded, confirmed by a 304, or read from the store offline).

use super::client::{
    ErrorKind, FetchError, FetchRequest, FetchResponse, HttpClient, RequestMethod,
};
use super::store::{Provenance, SnapshotMeta, SnapshotStore, StoreError};

/// How a file is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchMode {
    /// Conditional GET with the validators of the latest snapshot; a 304 reuses it.
    Normal,
    /// Unconditional download.
    Refresh,
    /// Latest stored snapshot; never touches the network.
    Offline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchOutcome {
    Downloaded,
    NotModified,
    FromCacheOffline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedSnapshot {
    pub sha256: String,
    pub bytes: Vec<u8>,
    pub meta: SnapshotMeta,
    pub outcome: FetchOutcome,
}

/// Fetches (`source_id`, `file_name`) according to `mode` and keeps what it downloads.
///
/// Normal mode sends the validators (ETag, Last-Modified) of the latest snapshot when it was
/// downloaded from the same URL with GET and its bytes are still in the store, overriding those
/// of `request`; a POST (e.g. an Overpass query) is never conditional. If a 304 arrives but the
/// stored bytes turn out corrupt or gone, the file is downloaded again unconditionally. Refresh
/// mode ignores all validators. Nothing is marked good here: the caller does that with
/// [`SnapshotStore::mark_good`] once the bytes parse.
pub fn fetch_snapshot(
    client: &HttpClient,
    store: &SnapshotStore,
    source_id: &str,
    file_name: &str,
    request: &FetchRequest,
    mode: FetchMode,
) -> Result<FetchedSnapshot, FetchError> {
    let store_err = |e: StoreError| FetchError::new(&request.url, ErrorKind::Store(Box::new(e)), 0);
    match mode {
        FetchMode::Offline => {
            let Some(meta) = store.latest(source_id, file_name).map_err(store_err)? else {
                return Err(FetchError::new(
                    &request.url,
                    ErrorKind::Offline(format!(
                        "no snapshot of {source_id}/{file_name} in {}",
                        store.root().display()
                    )),
                    0,
                ));
            };
            let bytes = match store.read(source_id, &meta.sha256) {
                Ok(bytes) => bytes,
                Err(StoreError::NotFound { .. }) => {
                    return Err(FetchError::new(
                        &request.url,
                        ErrorKind::Offline(format!(
                            "snapshot {} of {source_id}/{file_name} is no longer in {}",
                            meta.sha256,
                            store.root().display()
                        )),
                        0,
                    ));
                }
                Err(e) => return Err(store_err(e)),
            };
            Ok(FetchedSnapshot {
                sha256: meta.sha256.clone(),
                bytes,
                meta,
                outcome: FetchOutcome::FromCacheOffline,
            })
        }
        FetchMode::Refresh => download(client, store, source_id, file_name, request, None),
        FetchMode::Normal => {
            let cached = match request.method {
                RequestMethod::Get => store
                    .latest(source_id, file_name)
                    .map_err(store_err)?
                    .filter(|m| m.url == request.url)
                    .filter(|m| store.contains(source_id, &m.sha256).unwrap_or(false)),
                RequestMethod::Post { .. } => None,
            };
            download(client, store, source_id, file_name, request, cached)
        }
    }
}

fn download(
    client: &HttpClient,
    store: &SnapshotStore,
    source_id: &str,
    file_name: &str,
    request: &FetchRequest,
    cached: Option<SnapshotMeta>,
) -> Result<FetchedSnapshot, FetchError> {
    let store_err = |e: StoreError| FetchError::new(&request.url, ErrorKind::Store(Box::new(e)), 0);
    let mut request = request.clone();
    request.etag = cached.as_ref().and_then(|m| m.etag.clone());
    request.last_modified = cached.as_ref().and_then(|m| m.last_modified.clone());
    match client.fetch(&request)? {
        FetchResponse::NotModified {
            etag,
            last_modified,
            ..
        } => {
            let Some(cached) = cached else {
                // Unreachable: without validators the client turns a 304 into an error.
                return Err(FetchError::new(
                    &request.url,
                    ErrorKind::UnexpectedNotModified,
                    1,
                ));
            };
            match store.read(source_id, &cached.sha256) {
                Ok(bytes) => {
                    let meta = store
                        .record_not_modified(
                            source_id,
                            file_name,
                            etag.as_deref(),
                            last_modified.as_deref(),
                            client.clock().now_utc(),
                        )
                        .map_err(store_err)?;
                    Ok(FetchedSnapshot {
                        sha256: cached.sha256,
                        bytes,
                        meta,
                        outcome: FetchOutcome::NotModified,
                    })
                }
                Err(StoreError::Corrupt { .. } | StoreError::NotFound { .. }) => {
                    download(client, store, source_id, file_name, &request, None)
                }
                Err(e) => Err(store_err(e)),
            }
        }
        FetchResponse::Body {
            bytes,
            status,
            final_url,
            etag,
            last_modified,
            content_type,
        } => {
            let provenance = Provenance {
                url: request.url.clone(),
                final_url,
                status,
                etag,
                last_modified,
                content_type,
            };
            store_downloaded(client, store, source_id, file_name, &provenance, bytes)
        }
    }
}

/// Stores bytes the framework assembled itself (the pages of a paged export, a PeeringDB
/// merge) as the latest snapshot of (`source_id`, `file_name`), downloaded from `url` (the
/// catalog URL; `final_url` is the last URL asked for). Such snapshots carry no validators.
pub fn store_assembled(
    client: &HttpClient,
    store: &SnapshotStore,
    source_id: &str,
    file_name: &str,
    url: &str,
    final_url: &str,
    bytes: Vec<u8>,
) -> Result<FetchedSnapshot, FetchError> {
    let provenance = Provenance {
        url: url.to_string(),
        final_url: final_url.to_string(),
        status: 200,
        etag: None,
        last_modified: None,
        content_type: Some("application/json".into()),
    };
    store_downloaded(client, store, source_id, file_name, &provenance, bytes)
}

/// Stores downloaded bytes as the latest snapshot of (`source_id`, `file_name`).
fn store_downloaded(
    client: &HttpClient,
    store: &SnapshotStore,
    source_id: &str,
    file_name: &str,
    provenance: &Provenance,
    bytes: Vec<u8>,
) -> Result<FetchedSnapshot, FetchError> {
    let meta = store
        .put(
            source_id,
            file_name,
            &bytes,
            provenance,
            client.clock().now_utc(),
        )
        .map_err(|e| FetchError::new(&provenance.url, ErrorKind::Store(Box::new(e)), 0))?;
    Ok(FetchedSnapshot {
        sha256: meta.sha256.clone(),
        bytes,
        meta,
        outcome: FetchOutcome::Downloaded,
    })
}
