//! Fact attachment: located records of disclosure sources → the records that describe one
//! building (reconciled as usual), and scoped facts held out of reconciliation — a campus, an
//! operator's regional total, a "typical building", a past state — attached after it to the
//! campus or facilities they describe ([`Attachments`]: scope, target campus and facilities,
//! role). A scoped fact never becomes a facility, with one exception: a campus fact with no
//! building of its operator on record in its commune stands for that site (the inventory
//! would otherwise lose it). Per target, the latest dated campus fact governs the estimate
//! and older ones are history; the planned build-out of a campus whose buildings already
//! operate is kept, not used; a typical building is a reference; a regional total is a
//! constraint on the sum of the operator's sites in its département. A power of another
//! source placed at a hand-set point or a city centre is read as a campus fact too, and so is
//! an imprecise record refused for several buildings of one campus ([`hold_unplaced`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::common::slug;
use crate::geo::stage::LocatedRecord;
use crate::model::{DataIssue, IssueAction, IssueCode, Record};
use crate::reconcile::normalize::OperatorRegistry;
use crate::reconcile::{LinkRow, Reconciliation};

/// What a disclosed fact describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One building: reconciled like any record.
    Building,
    /// A campus of several buildings.
    Campus,
    /// An operator's total over a département or region (no commune).
    RegionalTotal,
    /// A "typical building" of a campus (a reference size, not a site).
    TypicalBuilding,
    /// An earlier state of a site (`(2016 state)`).
    PastState,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Building => "building",
            Scope::Campus => "campus",
            Scope::RegionalTotal => "regional_total",
            Scope::TypicalBuilding => "typical_building",
            Scope::PastState => "past_state",
        }
    }
}

/// How an attached fact enters the estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The latest dated campus fact of its campus: shared among the campus's buildings.
    Governs,
    /// An older fact (or a past state): kept, not used.
    History,
    /// The build-out total of a campus still under construction or planned, attached to
    /// operating buildings: what the campus will hold, not what is installed. Kept, not used.
    Planned,
    /// A typical building: a reference size for the campus's buildings without evidence.
    Reference,
    /// A regional total: bounds the sum of the operator's sites in the département.
    Constraint,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Governs => "governs",
            Role::History => "history",
            Role::Planned => "planned",
            Role::Reference => "reference",
            Role::Constraint => "constraint",
        }
    }
}

/// One scoped fact and what it describes.
#[derive(Debug, Clone)]
pub struct AttachedFact {
    pub record: LocatedRecord,
    pub scope: Scope,
    pub role: Role,
    pub operator_id: Option<String>,
    pub departement_code: String,
    /// The campus it describes (None for a regional total).
    pub campus_id: Option<String>,
    /// The facilities it describes (a campus's buildings; an operator's sites in the
    /// département), sorted.
    pub facility_ids: Vec<String>,
    /// `(year, month)` of the fact's date, when it has one.
    pub date: Option<(i32, u32)>,
}

/// All scoped facts of a build.
#[derive(Debug, Clone, Default)]
pub struct Attachments {
    pub facts: Vec<AttachedFact>,
}

impl Attachments {
    /// Record keys of the attached facts (not members of the facility they are linked to).
    pub fn record_keys(&self) -> HashSet<&str> {
        self.facts
            .iter()
            .map(|f| f.record.record.record_key.as_str())
            .collect()
    }
}

/// Scoped facts between [`hold_out`] and [`attach`].
#[derive(Debug, Default)]
pub struct Held {
    facts: Vec<HeldFact>,
}

/// A scoped fact, its operator and the keys of the records it describes.
#[derive(Debug)]
struct HeldFact {
    record: LocatedRecord,
    scope: Scope,
    operator_id: Option<String>,
    targets: Vec<String>,
    /// It describes the facilities holding its targets, not their whole campus.
    exact: bool,
}

/// The sources whose records are disclosed facts (adapter `disclosure-facts`).
pub fn fact_sources(specs: &[crate::catalog::SourceSpec]) -> HashSet<String> {
    specs
        .iter()
        .filter(|s| s.adapter == "disclosure-facts")
        .map(|s| s.id.clone())
        .collect()
}

/// What a fact describes, from its subject and quote: an earlier state, a typical building,
/// an operator total (a fact naming no commune), a campus (the word, a hub, several buildings or site
/// codes), else one building.
pub fn scope_of(r: &Record) -> Scope {
    let name = format!("-{}-", slug(r.name.as_deref().unwrap_or_default()));
    let has = |w: &str| name.contains(&format!("-{w}-"));
    if has("state") || has("etat") {
        return Scope::PastState;
    }
    if name.contains("-typical-building-") || name.contains("-batiment-type-") {
        return Scope::TypicalBuilding;
    }
    if r.commune_name.is_none() {
        return Scope::RegionalTotal;
    }
    let buildings = r
        .description
        .as_deref()
        .and_then(|d| {
            d.split(" buildings]")
                .next()?
                .rsplit('[')
                .next()?
                .parse::<u32>()
                .ok()
        })
        .unwrap_or(1);
    // "first building of the ... Hub" is a building.
    if has("building") || has("batiment") {
        return Scope::Building;
    }
    if has("campus") || has("hub") || buildings > 1 || r.codes.len() > 1 {
        return Scope::Campus;
    }
    Scope::Building
}

/// The registered operator of a record (see [`OperatorRegistry::of_record`]).
fn operator_of<'a>(reg: &'a OperatorRegistry, r: &Record) -> Option<&'a str> {
    reg.of_record(
        r.operator.as_deref(),
        r.operator_wikidata.as_deref(),
        r.name.as_deref(),
    )
    .map(|o| o.id.as_str())
}

/// `(year, month)` of a written date (`2025-05`, `c. 2016`, `undated c.2025-26`).
pub fn parse_date(text: &str) -> Option<(i32, u32)> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(3)).find_map(|i| {
        let four = &text.get(i..i + 4)?;
        let digits = four.bytes().all(|c| c.is_ascii_digit());
        let boundary = i == 0 || !b[i - 1].is_ascii_digit();
        let year: i32 = four.parse().ok()?;
        if !(digits && boundary && (1990..=2100).contains(&year)) {
            return None;
        }
        let month = text
            .get(i + 5..i + 7)
            .filter(|_| b.get(i + 4) == Some(&b'-'))
            .and_then(|m| m.parse::<u32>().ok())
            .filter(|m| (1..=12).contains(m))
            .unwrap_or(0);
        Some((year, month))
    })
}

/// Splits the located records: building records go on to reconciliation; scoped facts are
/// held (with the keys of the records they describe) or, when they describe nothing on
/// record, dropped with a data issue — except a campus fact, which then stands for its site.
pub fn hold_out(
    located: Vec<LocatedRecord>,
    fact_sources: &HashSet<String>,
    reg: &OperatorRegistry,
) -> (Vec<LocatedRecord>, Held, Vec<DataIssue>) {
    // Building records by (operator, commune) and by (operator, département).
    let mut by_commune: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut by_dep: HashMap<(String, String), Vec<String>> = HashMap::new();
    let scopes: Vec<Scope> = located
        .iter()
        .map(|lr| {
            if fact_sources.contains(&lr.record.source_id) {
                scope_of(&lr.record)
            } else if site_level_figure(&lr.record) {
                Scope::Campus
            } else {
                Scope::Building
            }
        })
        .collect();
    for (lr, scope) in located.iter().zip(&scopes) {
        let Some(op) = operator_of(reg, &lr.record).filter(|_| *scope == Scope::Building) else {
            continue;
        };
        let key = lr.record.record_key.clone();
        if let Some(c) = &lr.location.commune_insee {
            by_commune
                .entry((op.to_string(), c.clone()))
                .or_default()
                .push(key.clone());
        }
        by_dep
            .entry((op.to_string(), lr.location.departement_code.clone()))
            .or_default()
            .push(key);
    }
    let mut kept = Vec::with_capacity(located.len());
    let mut held = Held::default();
    let mut issues = Vec::new();
    for (lr, scope) in located.into_iter().zip(scopes) {
        if scope == Scope::Building {
            kept.push(lr);
            continue;
        }
        let op = operator_of(reg, &lr.record).map(str::to_string);
        let targets = match (&op, scope, &lr.location.commune_insee) {
            (Some(op), Scope::RegionalTotal, _) => by_dep
                .get(&(op.clone(), lr.location.departement_code.clone()))
                .cloned(),
            (Some(op), _, Some(c)) => by_commune.get(&(op.clone(), c.clone())).cloned(),
            _ => None,
        }
        .unwrap_or_default();
        if scope == Scope::RegionalTotal {
            issues.push(fact_issue(
                &lr.record,
                IssueCode::AggregateFact,
                format!(
                    "a figure over several sites, not a site: a constraint on the {} records of {} in département {}",
                    targets.len(),
                    op.as_deref().unwrap_or("an unregistered operator"),
                    lr.location.departement_code
                ),
            ));
        }
        if scope == Scope::RegionalTotal || !targets.is_empty() {
            held.facts.push(HeldFact {
                record: lr,
                scope,
                operator_id: op,
                targets,
                exact: false,
            });
        } else if scope == Scope::Campus {
            kept.push(lr); // the only description of its site
        } else {
            issues.push(fact_issue(
                &lr.record,
                IssueCode::FactUnattached,
                format!(
                    "a {} fact, not a site, and no building of its operator is on record in its commune",
                    scope.as_str().replace('_', " ")
                ),
            ));
        }
    }
    (kept, held, issues)
}

/// A power placed at a hand-set point or a city centre (an operator's site as a whole, from
/// its reports) describes the operator's campus in that commune, not one building.
fn site_level_figure(r: &Record) -> bool {
    r.point_precision == crate::model::PointPrecision::Approximate && !r.powers.is_empty()
}

fn fact_issue(r: &Record, code: IssueCode, message: String) -> DataIssue {
    DataIssue {
        source_id: r.source_id.clone(),
        code,
        action: IssueAction::Dropped,
        file: r.provenance.file.clone(),
        locator: r.provenance.locator.clone(),
        record_key: Some(r.record_key.clone()),
        message,
    }
}

/// The facility of each record key, and the campus of each facility.
fn places<'a>(
    located: &'a [LocatedRecord],
    recon: &'a Reconciliation,
) -> (HashMap<&'a str, &'a str>, HashMap<&'a str, &'a str>) {
    let facility_of = located
        .iter()
        .zip(&recon.record_facility)
        .map(|(lr, f)| (lr.record.record_key.as_str(), f.as_str()))
        .collect();
    let campus_of = recon
        .facilities
        .iter()
        .map(|f| (f.facility_id.as_str(), f.campus_id.as_str()))
        .collect();
    (facility_of, campus_of)
}

/// After reconciliation: a facility made only of imprecise records (a commune, a city centre,
/// a hand-set point) that matched a site but was refused because it fits several buildings
/// of it equally well, or would bridge two of them, describes that site without placing
/// itself in one building. When every building it was refused for is on one campus, its
/// records leave the facilities and are held as campus facts of those buildings (attached by
/// [`attach`] like any campus fact): the site is counted once, and its figure is shared, not
/// added. The campuses are then formed again without the facilities that left, so that no
/// campus id names one of them.
pub fn hold_unplaced(
    located: &mut Vec<LocatedRecord>,
    recon: &mut Reconciliation,
    held: &mut Held,
    reg: &OperatorRegistry,
) {
    use crate::model::PointPrecision;
    use crate::reconcile::link::{Outcome, Refusal};
    let refusals = [
        Outcome::Ambiguous.as_str(),
        Refusal::ImpreciseBridge.as_str(),
    ];
    let (facility_of, campus_of) = places(located, recon);
    let imprecise: HashSet<&str> = located
        .iter()
        .filter(|lr| {
            matches!(
                lr.record.point_precision,
                PointPrecision::Commune | PointPrecision::Approximate | PointPrecision::None
            )
        })
        .map(|lr| lr.record.record_key.as_str())
        .collect();
    // Facility → the records its imprecise members were refused for.
    let mut refused_for: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in &recon.pairs {
        if !refusals.contains(&p.outcome) {
            continue;
        }
        for (x, y) in [(&p.record_a, &p.record_b), (&p.record_b, &p.record_a)] {
            let (Some(fx), Some(fy)) = (facility_of.get(x.as_str()), facility_of.get(y.as_str()))
            else {
                continue;
            };
            if imprecise.contains(x.as_str()) && fx != fy {
                refused_for.entry(fx).or_default().push(y.as_str());
            }
        }
    }
    let moved: HashMap<String, Vec<String>> = refused_for
        .into_iter()
        .filter(|(f, targets)| {
            let campuses: BTreeSet<&str> =
                targets.iter().map(|t| campus_of[facility_of[t]]).collect();
            let only_imprecise = recon
                .facilities
                .iter()
                .find(|x| x.facility_id == *f)
                .is_some_and(|x| x.members.iter().all(|m| imprecise.contains(m.as_str())));
            campuses.len() == 1 && only_imprecise
        })
        .map(|(f, targets)| {
            let mut t: Vec<String> = targets.iter().map(|s| s.to_string()).collect();
            t.sort();
            t.dedup();
            (f.to_string(), t)
        })
        .collect();
    if moved.is_empty() {
        return;
    }
    let mut keep_records = Vec::with_capacity(located.len());
    let mut keep_facility = Vec::with_capacity(located.len());
    for (lr, f) in std::mem::take(located)
        .into_iter()
        .zip(std::mem::take(&mut recon.record_facility))
    {
        match moved.get(&f) {
            Some(targets) => {
                let op = operator_of(reg, &lr.record).map(str::to_string);
                held.facts.push(HeldFact {
                    record: lr,
                    scope: Scope::Campus,
                    operator_id: op,
                    targets: targets.clone(),
                    exact: true,
                });
            }
            None => {
                keep_records.push(lr);
                keep_facility.push(f);
            }
        }
    }
    *located = keep_records;
    recon.record_facility = keep_facility;
    recon
        .facilities
        .retain(|f| !moved.contains_key(&f.facility_id));
    recon.links.retain(|l| !moved.contains_key(&l.facility_id));
    crate::reconcile::campus::assign_campuses(&mut recon.facilities);
}

/// After reconciliation: each held fact gets the campus (the campus holding most of the
/// records it describes; ties to the smallest id) and facilities it describes, and its role.
/// Campus, typical-building and past-state facts join the records, stored with (and linked,
/// `attached_fact`, to) the facility of their campus that matches them best; a regional total
/// stays out of the records (its data issue says so).
pub fn attach(
    held: Held,
    located: &mut Vec<LocatedRecord>,
    recon: &mut Reconciliation,
) -> Attachments {
    let (facility_of, campus_of) = places(located, recon);
    let mut facts = Vec::new();
    for held_fact in held.facts {
        let HeldFact {
            record: lr,
            scope,
            operator_id,
            targets,
            exact,
        } = held_fact;
        let target_facilities: Vec<&str> = targets
            .iter()
            .filter_map(|k| facility_of.get(k.as_str()).copied())
            .collect();
        let (campus_id, mut facility_ids) = if scope == Scope::RegionalTotal {
            let ids: Vec<String> = target_facilities.iter().map(|s| s.to_string()).collect();
            (None, ids)
        } else {
            let mut count: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &target_facilities {
                *count.entry(campus_of[f]).or_default() += 1;
            }
            let campus = count
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(c, _)| c.to_string());
            let ids: Vec<String> = recon
                .facilities
                .iter()
                .filter(|f| Some(&f.campus_id) == campus.as_ref())
                .filter(|f| !exact || target_facilities.contains(&f.facility_id.as_str()))
                .map(|f| f.facility_id.clone())
                .collect();
            (campus, ids)
        };
        facility_ids.sort();
        facility_ids.dedup();
        let date = lr.record.fact_date.as_deref().and_then(parse_date);
        facts.push(AttachedFact {
            departement_code: lr.location.departement_code.clone(),
            record: lr,
            scope,
            role: Role::History,
            operator_id,
            campus_id,
            facility_ids,
            date,
        });
    }
    let operating: HashSet<&str> = recon
        .facilities
        .iter()
        .filter(|f| f.status == crate::model::Status::Operating)
        .map(|f| f.facility_id.as_str())
        .collect();
    assign_roles(&mut facts, &operating);
    for f in &facts {
        if f.scope == Scope::RegionalTotal {
            continue;
        }
        let Some(first) = representative(f, &recon.facilities) else {
            continue;
        };
        recon.links.push(LinkRow {
            record_key: f.record.record.record_key.clone(),
            facility_id: first.clone(),
            rule: "attached_fact",
            score: None,
            distance_m: None,
        });
        recon.record_facility.push(first.clone());
        located.push(f.record.clone());
        // Stored with the facility it is linked to (every record belongs to one facility);
        // the estimates read it as an attached fact, not as a member's observation.
        if let Some(fac) = recon.facilities.iter_mut().find(|x| x.facility_id == first) {
            fac.members.push(f.record.record.record_key.clone());
            fac.members.sort();
            if !fac.sources.contains(&f.record.record.source_id) {
                fac.sources.push(f.record.record.source_id.clone());
                fac.sources.sort();
            }
        }
    }
    facts.retain(|f| !f.facility_ids.is_empty() || f.scope == Scope::RegionalTotal);
    Attachments { facts }
}

/// The facility of its campus a fact is stored with: a campus-wide feature ("Paris Digital
/// Park", "Data4 Campus Paris Saclay") first, then the one sharing most site codes, then most
/// name words, then the smallest id.
fn representative(f: &AttachedFact, facilities: &[crate::reconcile::Facility]) -> Option<String> {
    use crate::reconcile::normalize::name_words;
    let r = &f.record.record;
    let words: HashSet<String> = name_words(r.name.as_deref().unwrap_or_default())
        .into_iter()
        .collect();
    facilities
        .iter()
        .filter(|x| f.facility_ids.contains(&x.facility_id))
        .map(|x| {
            let name = format!("-{}-", slug(x.name.as_deref().unwrap_or_default()));
            let campus_wide = ["campus", "park", "parc", "hub"]
                .iter()
                .any(|w| name.contains(&format!("-{w}-")));
            let codes = x.codes.iter().filter(|c| r.codes.contains(c)).count();
            let shared = name_words(x.name.as_deref().unwrap_or_default())
                .iter()
                .filter(|w| words.contains(*w))
                .count();
            (
                campus_wide,
                codes,
                shared,
                std::cmp::Reverse(x.facility_id.clone()),
            )
        })
        .max()
        .map(|(_, _, _, std::cmp::Reverse(id))| id)
}

/// Per set of described facilities, the latest dated campus fact with a figure governs
/// (undated facts rank oldest), unless it is the planned build-out of a campus whose
/// buildings already operate (`Planned`); other campus facts and past states are history;
/// typical buildings are references; regional totals are constraints.
fn assign_roles(facts: &mut [AttachedFact], operating: &HashSet<&str>) {
    let planned = |f: &AttachedFact| {
        f.scope == Scope::Campus
            && matches!(
                f.record.record.status,
                crate::model::Status::UnderConstruction | crate::model::Status::Project
            )
            && f.facility_ids
                .iter()
                .any(|id| operating.contains(id.as_str()))
    };
    // Facts describing the same facilities compete; a fact about one building of a campus
    // and a fact about the whole campus both govern (the estimates share the campus's
    // figure among the buildings the building's figure left without evidence).
    let described = |f: &AttachedFact| f.facility_ids.join(" ");
    let mut best: HashMap<String, usize> = HashMap::new();
    for (i, f) in facts.iter().enumerate() {
        let has_figure = !f.record.record.powers.is_empty() || !f.record.record.surfaces.is_empty();
        if f.scope != Scope::Campus || !has_figure || f.campus_id.is_none() || planned(f) {
            continue;
        }
        let key = |f: &AttachedFact| {
            (
                f.date,
                std::cmp::Reverse(f.record.record.record_key.clone()),
            )
        };
        match best.get(&described(f)) {
            Some(&j) if key(&facts[j]) >= key(f) => {}
            _ => {
                best.insert(described(f), i);
            }
        }
    }
    for (i, f) in facts.iter_mut().enumerate() {
        f.role = match f.scope {
            Scope::RegionalTotal => Role::Constraint,
            Scope::TypicalBuilding => Role::Reference,
            Scope::Campus if best.get(&described(f)) == Some(&i) => Role::Governs,
            Scope::Campus if planned(f) => Role::Planned,
            _ => Role::History,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Provenance;

    fn fact(name: &str, commune: Option<&str>, description: &str) -> Record {
        let mut r = Record::new(
            "operator-disclosures",
            &slug(name),
            Provenance {
                source_id: "operator-disclosures".into(),
                file: "f".into(),
                snapshot_sha256: String::new(),
                retrieved_at: String::new(),
                origin: String::new(),
                licence: String::new(),
                locator: String::new(),
            },
        );
        r.name = Some(name.into());
        r.commune_name = commune.map(str::to_string);
        r.address.city = r.commune_name.clone();
        r.codes = crate::adapters::fields::site_codes(name);
        r.description = Some(description.into());
        r
    }

    fn attached(
        key: &str,
        status: crate::model::Status,
        date: (i32, u32),
        ids: &[&str],
    ) -> AttachedFact {
        let mut r = fact(key, Some("Lisses"), "");
        r.status = status;
        r.powers.push(crate::model::PowerFact {
            value: 100.0,
            unit: "MW",
            kind: crate::model::PowerKind::It,
            kind_text: None,
            field: "power_mw".into(),
        });
        AttachedFact {
            record: LocatedRecord {
                record: r,
                location: crate::geo::locate::Location {
                    commune_insee: None,
                    commune_name: None,
                    departement_code: "91".into(),
                    departement_name: "Essonne".into(),
                    region_code: "11".into(),
                    region_name: "Île-de-France".into(),
                    method: crate::geo::locate::LocateMethod::PointInPolygon,
                    distance_m: 0.0,
                },
            },
            scope: Scope::Campus,
            role: Role::History,
            operator_id: None,
            departement_code: "91".into(),
            campus_id: Some("cp-1".into()),
            facility_ids: ids.iter().map(|s| s.to_string()).collect(),
            date: Some(date),
        }
    }

    #[test]
    fn the_latest_installed_figure_governs_and_a_planned_build_out_does_not() {
        use crate::model::Status;
        let mut facts = vec![
            attached("old", Status::Operating, (2016, 0), &["a", "b"]),
            attached(
                "build-out",
                Status::UnderConstruction,
                (2022, 11),
                &["a", "b"],
            ),
            attached("new", Status::Operating, (2020, 0), &["a", "b"]),
            // One building of the campus described on its own competes with nothing.
            attached("b-only", Status::Operating, (2010, 0), &["b"]),
        ];
        let operating: HashSet<&str> = ["a", "b"].into_iter().collect();
        assign_roles(&mut facts, &operating);
        let roles: Vec<Role> = facts.iter().map(|f| f.role).collect();
        assert_eq!(
            roles,
            [Role::History, Role::Planned, Role::Governs, Role::Governs]
        );
        // Where no described building operates yet, the build-out is the campus's figure.
        assign_roles(&mut facts, &HashSet::new());
        assert_eq!(facts[1].role, Role::Governs);
    }

    #[test]
    fn scopes_from_the_subject() {
        let s = |name: &str, commune: Option<&str>, d: &str| scope_of(&fact(name, commune, d));
        assert_eq!(
            s(
                "Data4 Marcoussis campus (2016 state)",
                Some("Marcoussis"),
                ""
            ),
            Scope::PastState
        );
        assert_eq!(
            s(
                "Data4 typical building (PAR1 2023 openings)",
                Some("Marcoussis"),
                ""
            ),
            Scope::TypicalBuilding
        );
        assert_eq!(
            s("Data4 Essonne total (PAR1+PAR2+PAR3)", None, ""),
            Scope::RegionalTotal
        );
        assert_eq!(
            s("Data4 PAR1 campus, Marcoussis", Some("Marcoussis"), ""),
            Scope::Campus
        );
        assert_eq!(
            s(
                "Data4 PAR1, Marcoussis",
                Some("Marcoussis"),
                "u (2023) [19 buildings]: q"
            ),
            Scope::Campus
        );
        assert_eq!(
            s(
                "Data4 PAR2, Marcoussis",
                Some("Marcoussis"),
                "u (2023) [1 buildings]: q"
            ),
            Scope::Building
        );
        assert_eq!(
            s("Equinix PA4 (ex postal sorting centre)", Some("Pantin"), ""),
            Scope::Building
        );
        assert_eq!(
            s(
                "Digital Realty Dugny Digital Hub (PAR15 + 2 further buildings)",
                Some("Dugny"),
                ""
            ),
            Scope::Campus
        );
    }

    #[test]
    fn dates_as_written() {
        assert_eq!(parse_date("2025-05 ; 2023-04"), Some((2025, 5)));
        assert_eq!(parse_date("c. 2016"), Some((2016, 0)));
        assert_eq!(parse_date("undated c.2025-26"), Some((2025, 0)));
        assert_eq!(parse_date("2024-04-09"), Some((2024, 4)));
        assert_eq!(parse_date("undated"), None);
        assert_eq!(parse_date("12345"), None);
    }
}
