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

/// An inventory opened read-only; a missing file says to build first.
fn open_inventory(gpkg: &Path) -> Result<Connection, StoreError> {
    if !gpkg.is_file() {
        return Err(StoreError::Gpkg {
            path: gpkg.to_path_buf(),
            message: "no such inventory; run `dcinv build` first".into(),
        });
    }
    Connection::open_with_flags(gpkg, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql_err(gpkg))
}

/// The rows of a query of two text columns.
fn text_pairs(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.collect()
}

/// The explanation text, or None when the facility is not in the inventory.
pub fn explain(gpkg: &Path, facility_id: &str) -> Result<Option<String>, StoreError> {
    let err = sql_err(gpkg);
    let conn = open_inventory(gpkg)?;
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
    let conn = open_inventory(gpkg)?;
    Ok(text_pairs(&conn, LINKS_SQL)
        .map_err(sql_err(gpkg))?
        .into_iter()
        .collect())
}

const LINKS_SQL: &str = "SELECT record_key, facility_id FROM links";

/// What each record is a member of, as the link evaluation scores it: its facility, except a
/// fact attached to a campus of several facilities (`attached_fact`, stored beside the
/// campus's best-matching facility), which describes the campus (`campus:<campus_id>`), not
/// the building it is stored with. A campus of one facility is that facility.
pub fn read_members(gpkg: &Path) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let err = sql_err(gpkg);
    let conn = open_inventory(gpkg)?;
    let mut members: std::collections::HashMap<String, String> = text_pairs(&conn, LINKS_SQL)
        .map_err(&err)?
        .into_iter()
        .collect();
    let has_attachments: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'fact_attachments'",
            [],
            |r| r.get(0),
        )
        .map_err(&err)?;
    if has_attachments {
        let campus_facts = text_pairs(
            &conn,
            "SELECT l.record_key, a.campus_id FROM links l JOIN fact_attachments a \
             USING (record_key) WHERE l.rule = 'attached_fact' AND a.campus_id IS NOT NULL \
             AND instr(a.facility_ids, ';') > 0",
        )
        .map_err(&err)?;
        for (key, campus) in campus_facts {
            members.insert(key, format!("campus:{campus}"));
        }
    }
    Ok(members)
}

/// One record as `why_not` shows it.
struct Shown {
    facility: String,
    rule: String,
    source: String,
    line: String,
    point: Option<(f64, f64)>,
}

fn shown(conn: &Connection, key: &str) -> rusqlite::Result<Option<Shown>> {
    let row = conn.query_row(
        "SELECT l.facility_id, l.rule, s.source_id, s.name, s.operator, s.codes, s.point_precision, \
         s.address, s.geom FROM links l JOIN source_records s USING (record_key) \
         WHERE l.record_key = ?1",
        params![key],
        |r| {
            let text = |i: usize| -> rusqlite::Result<String> {
                Ok(r.get::<_, Option<String>>(i)?.unwrap_or_else(|| "-".into()))
            };
            Ok(Shown {
                facility: r.get(0)?,
                rule: r.get(1)?,
                source: r.get(2)?,
                line: format!(
                    "{} | operator {} | codes {} | {} point | address {}",
                    text(3)?,
                    text(4)?,
                    text(5)?,
                    text(6)?,
                    text(7)?
                ),
                point: r
                    .get::<_, Option<Vec<u8>>>(8)?
                    .as_deref()
                    .and_then(crate::common::decode_point),
            })
        },
    );
    match row {
        Ok(s) => Ok(Some(s)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What an outcome of `pair_scores` means.
fn outcome_meaning(outcome: &str) -> &'static str {
    match outcome {
        "accepted" => "merged by this pair",
        "redundant" => "already in one facility when this pair was taken",
        "rejected" => "refused: a hard rule says no, or the score is below the threshold (3.0)",
        "deferred" => {
            "refused as a pair: one record says nothing but where it is, and distance is the only \
             evidence; such a record joins only the clearly nearest site (attach rule)"
        }
        "ambiguous" => {
            "refused: the imprecise record (city centre, commune) fits several sites about \
             equally well (their best scores differ by less than 1.0), so it joins none"
        }
        "blocked_contradiction" => {
            "refused: a member of one facility contradicts a member of the other (a hard no, a \
             score below -2, two records of one source without direct evidence, or a curator \
             split); the contradicting pairs are listed below"
        }
        "blocked_imprecise_bridge" => {
            "refused: an imprecise point (city centre, commune) may join one site, never bridge \
             two sites that each have a precise point"
        }
        "blocked_anonymous_bridge" => {
            "refused: distance alone through an anonymous record may not join two identified \
             sites"
        }
        _ => "",
    }
}

/// Why two records are (or are not) in one facility: the pair's score parts, the hard rule
/// or clustering rule that refused it, the contradicting pairs between the two facilities,
/// or, when the pair was never scored, why it was not a candidate. None when a record is not
/// in the inventory.
pub fn why_not(gpkg: &Path, a: &str, b: &str) -> Result<Option<String>, StoreError> {
    let err = sql_err(gpkg);
    let conn = open_inventory(gpkg)?;
    let (Some(ra), Some(rb)) = (
        shown(&conn, a).map_err(&err)?,
        shown(&conn, b).map_err(&err)?,
    ) else {
        return Ok(None);
    };
    let mut t = String::new();
    for (key, r) in [(a, &ra), (b, &rb)] {
        let _ = writeln!(t, "{key}\n  {}\n  in {} ({})", r.line, r.facility, r.rule);
    }
    let distance = match (ra.point, rb.point) {
        (Some(p), Some(q)) => Some(crate::common::distance_m(p, q)),
        _ => None,
    };
    if let Some(d) = distance {
        let _ = writeln!(t, "distance {d:.0} m");
    }
    if ra.facility == rb.facility {
        let _ = writeln!(
            t,
            "\nMERGED: both are members of {} (`dcinv explain {}` shows how).",
            ra.facility, ra.facility
        );
    } else {
        let _ = writeln!(t, "\nNOT MERGED: {} and {}.", ra.facility, rb.facility);
    }
    let pair = conn.query_row(
        "SELECT score, parts, hard_rule, outcome FROM pair_scores \
         WHERE (record_a = ?1 AND record_b = ?2) OR (record_a = ?2 AND record_b = ?1)",
        params![a, b],
        |r| {
            Ok((
                r.get::<_, f64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        },
    );
    match pair {
        Ok((score, parts, hard, outcome)) => {
            let _ = writeln!(
                t,
                "pair score {score:.1} = [{parts}]{}\noutcome {outcome}: {}",
                hard.map(|h| format!("; hard rule {h}")).unwrap_or_default(),
                outcome_meaning(&outcome)
            );
        }
        Err(rusqlite::Error::QueryReturnedNoRows) => {
            let _ = writeln!(
                t,
                "never scored: not a candidate pair. Precise records meet their 20 nearest \
                 precise neighbours within 4 x the larger precision tolerance (building 80 m, \
                 address 250 m; at most 1 km); imprecise ones meet records sharing a site \
                 code, operator, name word or commune; all share exact keys (OSM id, \
                 PeeringDB id, operator + code, commune + address).{}",
                if ra.source == rb.source {
                    " Both come from one source."
                } else {
                    ""
                }
            );
        }
        Err(e) => return Err(err(e)),
    }
    if ra.facility != rb.facility {
        // The pairs between the two facilities that forbid them to be one.
        let mut stmt = conn
            .prepare(
                "SELECT p.record_a, p.record_b, p.score, p.parts, p.hard_rule FROM pair_scores p \
                 JOIN links la ON la.record_key = p.record_a \
                 JOIN links lb ON lb.record_key = p.record_b \
                 WHERE ((la.facility_id = ?1 AND lb.facility_id = ?2) \
                     OR (la.facility_id = ?2 AND lb.facility_id = ?1)) \
                 AND (p.hard_rule LIKE 'cannot_link%' OR p.score < -2.0 \
                      OR p.outcome = 'rejected' AND p.parts LIKE '%same_source%') \
                 ORDER BY p.score, p.record_a, p.record_b",
            )
            .map_err(&err)?;
        let rows: Vec<String> = stmt
            .query_map(params![ra.facility, rb.facility], |r| {
                Ok(format!(
                    "  {} ~ {}  {:.1} [{}]{}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, f64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?
                        .map(|h| format!(" {h}"))
                        .unwrap_or_default()
                ))
            })
            .map_err(&err)?
            .filter_map(Result::ok)
            .collect();
        if !rows.is_empty() {
            let _ = writeln!(t, "contradicting pairs between the two facilities:");
            for r in rows {
                let _ = writeln!(t, "{r}");
            }
        }
    }
    Ok(Some(t))
}
