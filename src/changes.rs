//! Build-to-build changes: two inventory GeoPackages → facilities added, removed, moved
//! (> 100 m) and changed fields (before → after, with the record that gave the new value),
//! by stable facility id. Written as `<out>/changes.json` after each build and printed by
//! `dcinv diff <old.gpkg> <new.gpkg>`.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::common::distance_m;
use crate::error::StoreError;
use crate::store::tables::{FACILITIES, FACILITY_FIELDS, RUNS};

/// A move smaller than this is not reported, metres.
pub const MOVE_THRESHOLD_M: f64 = 100.0;

/// The fields compared between builds.
pub(crate) const FIELDS: &[&str] = &[
    "name",
    "operator",
    "status",
    "typology",
    "commune_insee",
    "departement_code",
    "region_code",
    "campus_id",
    "members",
    "it_mw_central",
    "energy_gwh_central",
];

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FacilityRef {
    pub facility_id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Moved {
    pub facility_id: String,
    pub name: Option<String>,
    pub distance_m: f64,
    pub before: [f64; 2],
    pub after: [f64; 2],
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldChange {
    pub facility_id: String,
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The record the new value came from (field-level provenance), when known.
    pub source_record: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Changes {
    pub previous_run: Option<String>,
    pub current_run: Option<String>,
    pub added: Vec<FacilityRef>,
    pub removed: Vec<FacilityRef>,
    pub moved: Vec<Moved>,
    pub changed: Vec<FieldChange>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.moved.is_empty()
            && self.changed.is_empty()
    }
}

/// A facility's point and compared field values.
type FacilityState = (Option<(f64, f64)>, BTreeMap<String, Option<String>>);

struct Snapshot {
    run: Option<String>,
    facilities: BTreeMap<String, FacilityState>,
    provenance: BTreeMap<(String, String), String>,
}

use crate::common::decode_point;

fn read(path: &Path) -> Result<Snapshot, StoreError> {
    let err = |e: rusqlite::Error| StoreError::Gpkg {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if !path.is_file() {
        return Err(StoreError::Gpkg {
            path: path.to_path_buf(),
            message: "no such inventory".into(),
        });
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(err)?;
    let run = conn
        .query_row(&format!("SELECT run_id FROM {RUNS}"), [], |r| {
            r.get::<_, String>(0)
        })
        .ok();
    let columns: Vec<String> = {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{FACILITIES}')"
            ))
            .map_err(err)?;
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map_err(err)?
            .filter_map(Result::ok)
            .collect()
    };
    let fields: Vec<&str> = FIELDS
        .iter()
        .copied()
        .filter(|f| columns.iter().any(|c| c == f))
        .collect();
    let sql = format!(
        "SELECT facility_id, geom{} FROM {FACILITIES}",
        fields
            .iter()
            .map(|f| format!(", CAST(\"{f}\" AS TEXT)"))
            .collect::<String>()
    );
    let mut stmt = conn.prepare(&sql).map_err(err)?;
    let mut facilities = BTreeMap::new();
    let rows = stmt
        .query_map([], |r| {
            let id: String = r.get(0)?;
            let geom: Option<Vec<u8>> = r.get(1)?;
            let mut values = BTreeMap::new();
            for (i, f) in fields.iter().enumerate() {
                values.insert((*f).to_string(), r.get::<_, Option<String>>(i + 2)?);
            }
            Ok((id, (geom.as_deref().and_then(decode_point), values)))
        })
        .map_err(err)?;
    for row in rows {
        let (id, v) = row.map_err(err)?;
        facilities.insert(id, v);
    }
    let mut provenance = BTreeMap::new();
    if let Ok(mut stmt) = conn.prepare(&format!(
        "SELECT facility_id, field, record_key FROM {FACILITY_FIELDS}"
    )) && let Ok(rows) = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    }) {
        for (f, field, key) in rows.flatten() {
            provenance.insert((f, field), key);
        }
    }
    Ok(Snapshot {
        run,
        facilities,
        provenance,
    })
}

/// The changes of a first build: every facility of `new` is added.
pub fn first_build(new: &Path) -> Result<Changes, StoreError> {
    let b = read(new)?;
    Ok(Changes {
        current_run: b.run,
        added: b
            .facilities
            .into_iter()
            .map(|(id, (_, values))| FacilityRef {
                facility_id: id,
                name: values.get("name").cloned().flatten(),
            })
            .collect(),
        ..Changes::default()
    })
}

/// The changes from `old` to `new`.
pub fn diff(old: &Path, new: &Path) -> Result<Changes, StoreError> {
    let (a, b) = (read(old)?, read(new)?);
    let mut c = Changes {
        previous_run: a.run.clone(),
        current_run: b.run.clone(),
        ..Changes::default()
    };
    let name = |v: &BTreeMap<String, Option<String>>| v.get("name").cloned().flatten();
    for (id, (point, values)) in &b.facilities {
        let Some((old_point, old_values)) = a.facilities.get(id) else {
            c.added.push(FacilityRef {
                facility_id: id.clone(),
                name: name(values),
            });
            continue;
        };
        if let (Some(p), Some(q)) = (old_point, point) {
            let d = distance_m(*p, *q);
            if d > MOVE_THRESHOLD_M {
                c.moved.push(Moved {
                    facility_id: id.clone(),
                    name: name(values),
                    distance_m: (d * 10.0).round() / 10.0,
                    before: [p.0, p.1],
                    after: [q.0, q.1],
                });
            }
        }
        for (field, after) in values {
            let before = old_values.get(field).cloned().flatten();
            if &before != after && old_values.contains_key(field) {
                c.changed.push(FieldChange {
                    facility_id: id.clone(),
                    field: field.clone(),
                    before,
                    after: after.clone(),
                    source_record: b.provenance.get(&(id.clone(), field.clone())).cloned(),
                });
            }
        }
    }
    for (id, (_, values)) in &a.facilities {
        if !b.facilities.contains_key(id) {
            c.removed.push(FacilityRef {
                facility_id: id.clone(),
                name: name(values),
            });
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::gpkg::encode_point;

    #[test]
    fn decodes_our_point_blobs() {
        assert_eq!(
            decode_point(&encode_point(2.35, 48.85, 4326)),
            Some((2.35, 48.85))
        );
        assert_eq!(decode_point(b"XX"), None);
    }
}
