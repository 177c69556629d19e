//! Paged exports: in go the client, the catalog URL of a paged API and a page size; out comes
//! one [`Assembled`] document holding every page, which the generic adapters parse — a JSON
//! array of the results for Opendatasoft (`json` adapter), one FeatureCollection (or Esri JSON
//! object) with every feature for ArcGIS REST (`geojson` adapter) — or a [`PagingError`]
//! naming the page that failed. Nothing of a half-read export is returned.
//!
//! * **Opendatasoft** Explore API v2.1: `.../catalog/datasets/<id>/records` with `limit`
//!   (at most 100) and `offset`, answering `{"total_count": N, "results": [...]}`; paging stops
//!   at `total_count`. ODS refuses `offset + limit > 10000`, so a larger dataset is read in one
//!   request from `.../datasets/<id>/exports/json` (same filters), which answers a JSON array.
//! * **ArcGIS REST** `.../FeatureServer/<n>/query?where=1%3D1&outFields=*&f=geojson` with
//!   `resultOffset` / `resultRecordCount`; the next page is asked for while the answer says
//!   `exceededTransferLimit` (in `properties` for `f=geojson`, top level for `f=json`).

use reqwest::Url;
use serde_json::Value;

use super::client::{FetchError, FetchRequest, FetchResponse, HttpClient};

/// Opendatasoft's paging window: `offset + limit` may not exceed this.
pub const ODS_WINDOW_ROWS: u64 = 10_000;
/// Opendatasoft's largest `limit`.
pub const ODS_MAX_PAGE_ROWS: u32 = 100;
/// ArcGIS page size when the catalog gives none (a common `maxRecordCount` is 1000 or 2000;
/// the server may return fewer, and the offset follows what it returned).
pub const ARCGIS_DEFAULT_PAGE_ROWS: u32 = 1000;
/// A guard against servers that never stop saying there is more.
pub const MAX_PAGES: usize = 5_000;

/// Every page of one export, as one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub bytes: Vec<u8>,
    /// Requests made (pages, or 1 for an ODS export).
    pub pages: usize,
    /// Entries assembled.
    pub rows: usize,
    /// The last URL asked for.
    pub last_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PagingError {
    #[error("bad paged URL {url}: {message}")]
    BadUrl { url: String, message: String },
    #[error("page {page}: {source}")]
    Fetch {
        page: usize,
        #[source]
        source: FetchError,
    },
    #[error("page {page} ({url}): {message}")]
    Format {
        page: usize,
        url: String,
        message: String,
    },
    #[error("more than {MAX_PAGES} pages from {url}; the server keeps announcing more")]
    TooManyPages { url: String },
}

/// Reads every record of an Opendatasoft `.../records` URL (its own query parameters such as
/// `where`, `select` or `refine` are kept).
pub fn fetch_opendatasoft(
    client: &HttpClient,
    url: &str,
    page_size: Option<u32>,
) -> Result<Assembled, PagingError> {
    let limit = page_size
        .unwrap_or(ODS_MAX_PAGE_ROWS)
        .clamp(1, ODS_MAX_PAGE_ROWS);
    let base = parse(url)?;
    let mut results: Vec<Value> = Vec::new();
    let mut total: Option<u64> = None;
    let mut pages = Pages::new(client, url);
    loop {
        let offset = results.len() as u64;
        // The last pages may not reach past the window (offset + limit <= 10,000).
        let limit = ods_page_limit(limit, offset);
        let doc = pages.get(with_params(
            &base,
            &["limit", "offset"],
            &[("limit", limit.to_string()), ("offset", offset.to_string())],
        ))?;
        let count = doc
            .get("total_count")
            .and_then(Value::as_u64)
            .ok_or_else(|| pages.format(ods_shape_message(&doc)))?;
        match total {
            None if count > ODS_WINDOW_ROWS => {
                return fetch_ods_export(client, &base, count);
            }
            None => total = Some(count),
            Some(t) if t != count => {
                return Err(pages.format(format!(
                    "total_count changed from {t} to {count} while paging (the dataset was updated); try again later"
                )));
            }
            Some(_) => {}
        }
        let Some(Value::Array(rows)) = doc.get("results").cloned() else {
            return Err(pages.format("no `results` array".into()));
        };
        let total = total.unwrap_or(count);
        if rows.is_empty() && offset < total {
            return Err(pages.format(format!("empty page at offset {offset} of {total} rows")));
        }
        results.extend(rows);
        if results.len() as u64 >= total {
            break;
        }
    }
    let rows = results.len();
    Ok(pages.assembled(to_bytes(&Value::Array(results)), rows))
}

/// The `limit` of the page at `offset`: the catalog's, shortened so that `offset + limit`
/// stays within Opendatasoft's paging window (only called while `offset` < the total, which
/// is at most the window).
fn ods_page_limit(limit: u32, offset: u64) -> u32 {
    let room = ODS_WINDOW_ROWS.saturating_sub(offset).max(1);
    u32::try_from(room).map_or(limit, |room| limit.min(room))
}

fn ods_shape_message(doc: &Value) -> String {
    match doc.get("message").or_else(|| doc.get("error")) {
        Some(m) => format!("Opendatasoft error: {m}"),
        None => "no `total_count`: not an Explore API v2.1 records answer".into(),
    }
}

/// A dataset larger than the paging window, in one request to `/exports/json`.
fn fetch_ods_export(client: &HttpClient, base: &Url, total: u64) -> Result<Assembled, PagingError> {
    let mut export = with_params(base, &["limit", "offset"], &[]);
    let path = base.path();
    let Some(dataset) = path.strip_suffix("/records") else {
        return Err(PagingError::BadUrl {
            url: base.to_string(),
            message: format!(
                "{total} rows exceed Opendatasoft's {ODS_WINDOW_ROWS}-row paging window and the URL does not end in /records, so the /exports/json endpoint cannot be derived"
            ),
        });
    };
    let mut url = parse(&export)?;
    url.set_path(&format!("{dataset}/exports/json"));
    export = url.to_string();
    let doc = get_json(client, &export, 1)?;
    let Value::Array(rows) = &doc else {
        return Err(PagingError::Format {
            page: 1,
            url: export,
            message: "the /exports/json answer is not a JSON array".into(),
        });
    };
    let rows = rows.len();
    Ok(Assembled {
        bytes: to_bytes(&doc),
        pages: 1,
        rows,
        last_url: export,
    })
}

/// Reads every feature of an ArcGIS REST `.../query` URL (`f=geojson` unless it says
/// otherwise).
pub fn fetch_arcgis(
    client: &HttpClient,
    url: &str,
    page_size: Option<u32>,
) -> Result<Assembled, PagingError> {
    let count = page_size.unwrap_or(ARCGIS_DEFAULT_PAGE_ROWS).max(1);
    let mut base = parse(url)?;
    if !base.query_pairs().any(|(k, _)| k == "f") {
        base.query_pairs_mut().append_pair("f", "geojson");
    }
    let mut first: Option<Value> = None;
    let mut features: Vec<Value> = Vec::new();
    let mut previous_head: Option<Value> = None;
    let mut pages = Pages::new(client, url);
    loop {
        let doc = pages.get(with_params(
            &base,
            &["resultOffset", "resultRecordCount"],
            &[
                ("resultOffset", features.len().to_string()),
                ("resultRecordCount", count.to_string()),
            ],
        ))?;
        if let Some(err) = doc.get("error") {
            return Err(pages.format(format!("ArcGIS error: {err}")));
        }
        let Some(Value::Array(rows)) = doc.get("features") else {
            return Err(pages.format("no `features` array".into()));
        };
        let exceeded = exceeded_transfer_limit(&doc);
        if exceeded && rows.is_empty() {
            return Err(pages.format(
                "exceededTransferLimit with no features: the server does not page".into(),
            ));
        }
        let head = rows.first().cloned();
        if pages.page > 1 && head.is_some() && head == previous_head {
            return Err(pages.format(
                "the page repeats the previous one: the layer ignores resultOffset (supportsPagination false)".into(),
            ));
        }
        previous_head = head;
        features.extend(rows.iter().cloned());
        if first.is_none() {
            first = Some(doc);
        }
        if !exceeded {
            break;
        }
    }
    let mut out = first.unwrap_or(Value::Null);
    if let Some(obj) = out.as_object_mut() {
        obj.remove("exceededTransferLimit");
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            props.remove("exceededTransferLimit");
            if props.is_empty() {
                obj.remove("properties");
            }
        }
        let rows = features.len();
        obj.insert("features".into(), Value::Array(features));
        return Ok(pages.assembled(to_bytes(&out), rows));
    }
    unreachable!("the first page was checked to be an object with features")
}

/// The bookkeeping of a page loop: pages asked for (at most [`MAX_PAGES`]) and the last URL,
/// which errors and the result name.
struct Pages<'a> {
    client: &'a HttpClient,
    /// The catalog URL, named when the server never stops announcing more.
    origin: &'a str,
    page: usize,
    last_url: String,
}

impl<'a> Pages<'a> {
    fn new(client: &'a HttpClient, origin: &'a str) -> Self {
        Pages {
            client,
            origin,
            page: 0,
            last_url: String::new(),
        }
    }

    /// Asks for the next page.
    fn get(&mut self, url: String) -> Result<Value, PagingError> {
        self.page += 1;
        if self.page > MAX_PAGES {
            return Err(PagingError::TooManyPages {
                url: self.origin.into(),
            });
        }
        let doc = get_json(self.client, &url, self.page)?;
        self.last_url = url;
        Ok(doc)
    }

    /// The page just read is not what the protocol says.
    fn format(&self, message: String) -> PagingError {
        PagingError::Format {
            page: self.page,
            url: self.last_url.clone(),
            message,
        }
    }

    fn assembled(self, bytes: Vec<u8>, rows: usize) -> Assembled {
        Assembled {
            bytes,
            pages: self.page,
            rows,
            last_url: self.last_url,
        }
    }
}

fn exceeded_transfer_limit(doc: &Value) -> bool {
    let flag = |v: Option<&Value>| v.and_then(Value::as_bool).unwrap_or(false);
    flag(doc.get("exceededTransferLimit"))
        || flag(
            doc.get("properties")
                .and_then(|p| p.get("exceededTransferLimit")),
        )
}

fn parse(url: &str) -> Result<Url, PagingError> {
    Url::parse(url).map_err(|e| PagingError::BadUrl {
        url: url.to_string(),
        message: e.to_string(),
    })
}

/// `base` without the query parameters named in `drop`, then `add` appended.
pub(super) fn with_params(base: &Url, drop: &[&str], add: &[(&str, String)]) -> String {
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| !drop.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut url = base.clone();
    url.set_query(None);
    if !kept.is_empty() || !add.is_empty() {
        let mut q = url.query_pairs_mut();
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        for (k, v) in add {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

fn get_json(client: &HttpClient, url: &str, page: usize) -> Result<Value, PagingError> {
    let response = client
        .fetch(&FetchRequest::get(url))
        .map_err(|source| PagingError::Fetch { page, source })?;
    let FetchResponse::Body { bytes, .. } = response else {
        return Err(PagingError::Format {
            page,
            url: url.into(),
            message: "304 without validators".into(),
        });
    };
    serde_json::from_slice(&bytes).map_err(|e| PagingError::Format {
        page,
        url: url.into(),
        message: format!("not JSON: {e}"),
    })
}

fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_parameters_replace_the_ones_in_the_url() {
        let base = Url::parse("https://x.org/records?where=a%3D1&limit=5&offset=7").unwrap();
        let url = with_params(
            &base,
            &["limit", "offset"],
            &[("limit", "100".into()), ("offset", "200".into())],
        );
        assert_eq!(
            url,
            "https://x.org/records?where=a%3D1&limit=100&offset=200"
        );
    }

    #[test]
    fn ods_pages_stay_inside_the_paging_window() {
        assert_eq!(ods_page_limit(100, 0), 100);
        assert_eq!(ods_page_limit(100, 9_900), 100);
        assert_eq!(ods_page_limit(30, 9_990), 10);
        assert_eq!(ods_page_limit(100, 9_996), 4);
    }

    #[test]
    fn exceeded_transfer_limit_is_read_in_both_places() {
        let geojson = serde_json::json!({"type": "FeatureCollection", "features": [], "properties": {"exceededTransferLimit": true}});
        let esri = serde_json::json!({"features": [], "exceededTransferLimit": true});
        assert!(exceeded_transfer_limit(&geojson));
        assert!(exceeded_transfer_limit(&esri));
        assert!(!exceeded_transfer_limit(
            &serde_json::json!({"features": []})
        ));
    }
}
