//! `dcinv explain`: reads one facility from an inventory GeoPackage and renders its members,
//! how each joined, the scored pairs among and around them (parts, hard rules, outcome) and
//! the field-level provenance with conflicts.

use std::fmt::Write as _;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};

use crate::error::StoreError;

fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Gpkg {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The explanation text, or None when the facility is not in the inventory.
pub fn explain(gpkg: &Path, facility_id: &str) -> Result<Option<String>, StoreError> {
    let err = sql_err(gpkg);
    let conn = Connection::open_with_flags(gpkg, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(&err)?;
    let head = conn.query_row(
        "SELECT name, operator, status, typology, campus_id, confidence, commune_name, \
         departement_code, region_name, point_precision, anchor_record \
         FROM facilities WHERE facility_id = ?1",
        params![facility_id],
        |r| {
            Ok(format!(
                "{facility_id}  {}\n  operator {}  status {}  typology {}\n  campus {}  confidence {}\n  {} ({}), {}; point from a {} record; id anchored on {}",
                r.get::<_, Option<String>>(0)?.unwrap_or_else(|| "(no name)".into()),
                r.get::<_, Option<String>>(1)?.unwrap_or_else(|| "-".into()),
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, f64>(5)?,
                r.get::<_, Option<String>>(6)?.unwrap_or_else(|| "-".into()),
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, String>(10)?,
            ))
        },
    );
    let head = match head {
        Ok(h) => h,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    let mut t = head;
    t.push_str("\n\nmembers (how they joined, best pair score, distance to the facility point):\n");
    let mut stmt = conn
        .prepare(
            "SELECT l.record_key, l.rule, l.score, l.distance_m, s.name, s.operator, s.codes \
             FROM links l JOIN source_records s USING (record_key) \
             WHERE l.facility_id = ?1 ORDER BY l.record_key",
        )
        .map_err(&err)?;
    let members: Vec<String> = stmt
        .query_map(params![facility_id], |r| {
            let key: String = r.get(0)?;
            let score: Option<f64> = r.get(2)?;
            let dist: Option<f64> = r.get(3)?;
            Ok((
                key.clone(),
                format!(
                    "  {key:<58} {:<17} score {:>6}  {:>7}  {} | {} | {}",
                    r.get::<_, String>(1)?,
                    score.map_or("-".into(), |s| format!("{s:.1}")),
                    dist.map_or("-".into(), |d| format!("{d:.0} m")),
                    r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                ),
            ))
        })
        .map_err(&err)?
        .filter_map(Result::ok)
        .map(|(key, line)| {
            t.push_str(&line);
            t.push('\n');
            key
        })
        .collect();
    t.push_str("\npairs (score = sum of parts; hard rules override scores):\n");
    let mut stmt = conn
        .prepare(
            "SELECT record_a, record_b, distance_m, score, parts, hard_rule, outcome \
             FROM pair_scores WHERE record_a IN (SELECT record_key FROM links WHERE facility_id = ?1) \
             OR record_b IN (SELECT record_key FROM links WHERE facility_id = ?1) \
             ORDER BY score DESC, record_a, record_b",
        )
        .map_err(&err)?;
    let rows = stmt
        .query_map(params![facility_id], |r| {
            let a: String = r.get(0)?;
            let b: String = r.get(1)?;
            let dist: Option<f64> = r.get(2)?;
            Ok(format!(
                "  {:<9} {:>6.1}  {} ~ {}  {}  [{}]{}",
                r.get::<_, String>(6)?,
                r.get::<_, f64>(3)?,
                a,
                b,
                dist.map_or("-".into(), |d| format!("{d:.0} m")),
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?
                    .map(|h| format!(" {h}"))
                    .unwrap_or_default()
            ))
        })
        .map_err(&err)?;
    for row in rows.filter_map(Result::ok) {
        let _ = writeln!(t, "{row}");
    }
    t.push_str("\nfields (chosen value, from, rule; conflicts list the other values):\n");
    let mut stmt = conn
        .prepare(
            "SELECT field, value, record_key, rule, conflict, alternatives FROM facility_fields \
             WHERE facility_id = ?1 ORDER BY field",
        )
        .map_err(&err)?;
    let rows = stmt
        .query_map(params![facility_id], |r| {
            let conflict: i64 = r.get(4)?;
            Ok(format!(
                "  {:<9} {:?} from {} by {}{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                if conflict == 1 {
                    format!("; CONFLICT with {}", r.get::<_, String>(5)?)
                } else {
                    String::new()
                }
            ))
        })
        .map_err(&err)?;
    for row in rows.filter_map(Result::ok) {
        let _ = writeln!(t, "{row}");
    }
    if let Ok(chain) = conn.query_row(
        "SELECT chain, parameters FROM estimates WHERE facility_id = ?1",
        params![facility_id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    ) {
        let _ = writeln!(
            t,
            "\nestimate (chain of evidence):\n  {}\n  parameters: {}",
            chain.0, chain.1
        );
    }
    let _ = writeln!(t, "\n{} members", members.len());
    Ok(Some(t))
}

/// record key → facility id of an inventory.
pub fn read_links(gpkg: &Path) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let err = sql_err(gpkg);
    if !gpkg.is_file() {
        return Err(StoreError::Gpkg {
            path: gpkg.to_path_buf(),
            message: "no such inventory; run `dcinv build` first".into(),
        });
    }
    let conn = Connection::open_with_flags(gpkg, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(&err)?;
    let mut stmt = conn
        .prepare("SELECT record_key, facility_id FROM links")
        .map_err(&err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(&err)?;
    Ok(rows.filter_map(Result::ok).collect())
}
