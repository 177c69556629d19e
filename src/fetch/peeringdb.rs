//! PeeringDB incremental fetching: in go the last full set (`{"data": [...], "meta": {}}`)
//! and the answer to `?since=<unix s>` (the objects created, changed or deleted since); out
//! comes the merged full set — objects keyed by `id`, the changed ones replaced, those with
//! `status = "deleted"` removed, ordered by id — that the `peeringdb` adapter parses exactly as
//! it parses a full download.

use std::collections::BTreeMap;

use reqwest::Url;
use serde_json::Value;

/// `since` is this much earlier than the previous download: objects changed while that
/// download ran are asked for again (merging by id makes repeats harmless).
pub const SINCE_OVERLAP_S: i64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{what} is not a PeeringDB answer: {message}")]
    Shape { what: &'static str, message: String },
}

/// `url` with `since=<since_unix_s>` (replacing any `since` already there).
pub fn since_url(url: &str, since_unix_s: i64) -> Result<String, String> {
    let parsed = Url::parse(url).map_err(|e| e.to_string())?;
    Ok(super::paging::with_params(
        &parsed,
        &["since"],
        &[("since", since_unix_s.to_string())],
    ))
}

/// The `data` objects of a PeeringDB answer, checked to carry an integer `id`.
fn objects(bytes: &[u8], what: &'static str) -> Result<(Value, Vec<Value>), MergeError> {
    let shape = |message: String| MergeError::Shape { what, message };
    let mut doc: Value = serde_json::from_slice(bytes).map_err(|e| shape(e.to_string()))?;
    let Some(Value::Array(data)) = doc.get_mut("data").map(Value::take) else {
        return Err(shape("no `data` array".into()));
    };
    if let Some(bad) = data
        .iter()
        .find(|o| o.get("id").and_then(Value::as_i64).is_none())
    {
        return Err(shape(format!("an object has no integer `id`: {bad}")));
    }
    Ok((doc, data))
}

/// Checks that a full download is a PeeringDB answer (`{"data": [...]}` with ids).
pub fn check_full(bytes: &[u8]) -> Result<usize, MergeError> {
    objects(bytes, "the full download").map(|(_, data)| data.len())
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub bytes: Vec<u8>,
    pub changed: usize,
    pub added: usize,
    pub deleted: usize,
}

/// Applies `delta` (a `since` answer) to `previous` (a full set).
pub fn merge(previous: &[u8], delta: &[u8]) -> Result<Merged, MergeError> {
    let (mut doc, data) = objects(previous, "the previous full set")?;
    let (_, changes) = objects(delta, "the `since` answer")?;
    let id = |o: &Value| o.get("id").and_then(Value::as_i64).unwrap_or_default();
    let mut by_id: BTreeMap<i64, Value> = data.into_iter().map(|o| (id(&o), o)).collect();
    let (mut changed, mut added, mut deleted) = (0, 0, 0);
    for object in changes {
        let key = id(&object);
        if object.get("status").and_then(Value::as_str) == Some("deleted") {
            deleted += usize::from(by_id.remove(&key).is_some());
        } else if by_id.insert(key, object).is_some() {
            changed += 1;
        } else {
            added += 1;
        }
    }
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("data".into(), Value::Array(by_id.into_values().collect()));
    }
    Ok(Merged {
        bytes: serde_json::to_vec(&doc).unwrap_or_default(),
        changed,
        added,
        deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_replaces_an_old_since() {
        assert_eq!(
            since_url(
                "https://www.peeringdb.com/api/fac?country=FR&since=1",
                1700000000
            )
            .unwrap(),
            "https://www.peeringdb.com/api/fac?country=FR&since=1700000000"
        );
    }

    #[test]
    fn merge_replaces_adds_and_deletes_by_id() {
        let previous = br#"{"data":[{"id":2,"name":"B","status":"ok"},{"id":1,"name":"A","status":"ok"}],"meta":{}}"#;
        let delta = br#"{"data":[{"id":1,"name":"A2","status":"ok"},{"id":2,"status":"deleted"},{"id":3,"name":"C","status":"ok"},{"id":9,"status":"deleted"}],"meta":{}}"#;
        let m = merge(previous, delta).unwrap();
        assert_eq!((m.changed, m.added, m.deleted), (1, 1, 1));
        let v: Value = serde_json::from_slice(&m.bytes).unwrap();
        let names: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["A2", "C"]);
        assert!(v.get("meta").is_some());
    }

    #[test]
    fn a_non_peeringdb_answer_is_refused() {
        assert!(check_full(br#"{"meta":{"error":"throttled"}}"#).is_err());
        assert!(merge(br#"{"data":[]}"#, b"<html>").is_err());
    }
}
