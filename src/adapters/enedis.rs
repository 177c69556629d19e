//! Enedis consumption adapter: the address-level file (`departements[].datacenters[]` with a
//! yearly `historique` of MWh) → one record per delivery address with its energy by year.
//! Several entries for one year (several delivery points at the address) are summed. Each
//! site is decoded from its own slice of the file; a value of the wrong type is left out.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::lenient::{self, Doc};
use super::mapped::{PointCheck, check_point, issue};
use super::{Adapter, FileInput, fields};
use crate::error::ParseError;
use crate::model::{
    DataIssue, EnergyObs, IssueAction, IssueCode, ParseOutput, PointPrecision, Record, Status,
};

pub struct EnedisHistory;

#[derive(Deserialize)]
struct File<'a> {
    #[serde(borrow)]
    departements: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Departement<'a> {
    #[serde(default)]
    code: Value,
    #[serde(borrow, default)]
    datacenters: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Site {
    nom: Option<String>,
    adresse_complete: Option<String>,
    lat: Option<f64>,
    lng: Option<f64>,
    departement: Option<String>,
    code_naf: Option<String>,
    #[serde(default)]
    historique: Vec<Year>,
}

#[derive(Deserialize)]
struct Year {
    annee: i32,
    mwh: f64,
}

impl Adapter for EnedisHistory {
    fn parse(&self, input: &FileInput<'_>) -> Result<ParseOutput, ParseError> {
        let doc = Doc::open(input)?;
        let file: File<'_> = doc.parse()?;
        let mut out = ParseOutput::default();
        for (d, raw_dep) in file.departements.iter().enumerate() {
            let dep_locator = format!("departements[{d}]");
            let dep: Departement<'_> = match serde_json::from_str(raw_dep.get()) {
                Ok(dep) => dep,
                Err(e) => {
                    // The entries it holds cannot be told apart: one unit, dropped.
                    out.units_read += 1;
                    let issue = match serde_json::from_str::<Value>(raw_dep.get()) {
                        Ok(v) if !v.is_object() => lenient::not_an_object(input, &dep_locator, &v),
                        _ => lenient::unreadable(input, &dep_locator, &e.to_string()),
                    };
                    out.issues.push(issue);
                    continue;
                }
            };
            let code = match &dep.code {
                Value::String(c) => c.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            for (i, raw) in dep.datacenters.iter().enumerate() {
                out.units_read += 1;
                let locator = format!("{dep_locator}.datacenters[{i}]");
                match lenient::typed_entry::<Site>(input, &doc, raw, &locator, "an Enedis site") {
                    Ok((site, issues)) => {
                        let r = site_record(input, &code, i, &site, locator, &mut out.issues);
                        out.issues.extend(issues.into_iter().map(|mut x| {
                            x.record_key = Some(r.record_key.clone());
                            x
                        }));
                        out.records.push(r);
                    }
                    Err(issues) => out.issues.extend(issues),
                }
            }
        }
        Ok(out)
    }
}

/// The record of one site of département `code` (`i`: its index, for a site without address).
fn site_record(
    input: &FileInput<'_>,
    code: &str,
    i: usize,
    site: &Site,
    locator: String,
    issues: &mut Vec<DataIssue>,
) -> Record {
    let address = site
        .adresse_complete
        .clone()
        .or_else(|| site.nom.clone())
        .unwrap_or_default();
    let native = if address.is_empty() {
        format!("{code}-{i}")
    } else {
        fields::slug(&address)
    };
    let mut r = Record::new(&input.spec.id, &native, input.provenance_at(locator));
    r.address.full = site.adresse_complete.clone();
    r.address.street = site.nom.clone();
    if let Some((postcode, city)) = split_postcode_city(&address) {
        r.address.postcode = Some(postcode);
        r.address.city = Some(city.clone());
        r.commune_name = Some(city);
    }
    r.departement_hint = site
        .departement
        .clone()
        .or((!code.is_empty()).then(|| code.to_string()));
    r.description = site.code_naf.as_ref().map(|n| format!("NAF {n}"));
    r.status = Status::Operating;
    r.status_text = Some("measured consumption".into());
    let point = match (site.lng, site.lat) {
        (Some(lon), Some(lat)) => Some(check_point(lon, lat)),
        _ => None,
    };
    match point {
        Some(PointCheck::Ok(p)) => {
            r.point = Some(p);
            r.point_precision = PointPrecision::Address;
        }
        _ => issues.push(issue(
            input,
            IssueCode::MissingCoords,
            IssueAction::Kept,
            &r.provenance.locator.clone(),
            Some(&r.record_key),
            "no valid coordinates; to be located by postcode".into(),
        )),
    }
    let mut by_year: BTreeMap<i32, f64> = BTreeMap::new();
    for y in &site.historique {
        if y.mwh.is_finite() && y.mwh >= 0.0 {
            *by_year.entry(y.annee).or_default() += y.mwh;
        }
    }
    r.energy = by_year
        .into_iter()
        .map(|(year, mwh)| EnergyObs { year, mwh })
        .collect();
    r
}

/// `35 RUE DE LA MOTTE, 93000 Aubervilliers` → (`93000`, `Aubervilliers`).
fn split_postcode_city(address: &str) -> Option<(String, String)> {
    let tail = address.rsplit(',').next()?.trim();
    let (code, city) = tail.split_once(' ')?;
    (code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()))
        .then(|| (code.to_string(), city.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_source_header;
    use crate::adapters::test_support::{input, spec};

    const SPEC: &str = concat!(
        test_source_header!("enedis-consumption", "enedis-history"),
        r#"
[[files]]
name = "data.json"
"#
    );

    // Synthetic entry in the exact structure of the Enedis file (two delivery points in 2021).
    const DOC: &str = r#"{"metadata":{},"departements":[{"code":"93","datacenters":[
 {"nom":"153 AVENUE JEAN JAURES","adresse_complete":"153 AVENUE JEAN JAURES, 93000 Aubervilliers",
  "lat":48.9,"lng":2.39,"departement":"93","code_naf":"63",
  "historique":[{"annee":2022,"mwh":59.881},{"annee":2021,"mwh":30.668},{"annee":2021,"mwh":844.664}],
  "match_carte":true},
 {"nom":"X","lat":"bad"}]}]}"#;

    #[test]
    fn sums_delivery_points_per_year() {
        let s = spec(SPEC);
        let out = EnedisHistory.parse(&input(&s, DOC.as_bytes())).unwrap();
        let r = &out.records[0];
        assert_eq!(
            r.record_key,
            "enedis-consumption:153-avenue-jean-jaures-93000-aubervilliers"
        );
        assert_eq!(r.energy.len(), 2);
        assert!((r.energy[0].mwh - 875.332).abs() < 1e-9);
        assert_eq!(r.address.postcode.as_deref(), Some("93000"));
        assert_eq!(r.commune_name.as_deref(), Some("Aubervilliers"));
        assert_eq!(out.units_read, 2);
        // `{"nom":"X","lat":"bad"}`: kept, its latitude of the wrong type left out.
        assert_eq!(out.records.len(), 2);
        let codes: Vec<&str> = out.issues.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, ["missing_coords", "wrong_json_type"]);
    }
}
