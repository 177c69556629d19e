//! Cases worked out by hand: exact parameters (low = central = high).
use super::*;
use crate::geo::locate::{LocateMethod, Location};
use crate::model::{
    EnergyObs, PowerFact, PowerKind, Provenance, Record, Status, SurfaceFact, SurfaceKind,
};
use crate::reconcile::Facility;
use std::path::Path;

const PARAMS: &[(&str, f64)] = &[
    ("pue_colocation", 1.5),
    ("utilisation_fleet", 0.5),
    ("pue_enterprise", 2.0),
    ("pue_telecom", 1.6),
    ("it_density_white_space_telecom", 1.0),
    ("grid_intensity_fr", 50.0),
    ("embodied_building_me_per_mw_it", 1000.0),
    ("embodied_building_me_lifetime", 25.0),
    ("embodied_it_per_kw_it", 2500.0),
    ("it_equipment_lifetime", 5.0),
    ("wue_fr_it_basis", 0.5),
    ("pue_at_design_load", 1.3),
    ("power_factor", 0.9),
    ("unspecified_power_it_share", 0.8),
    ("it_mw_prior_unknown", 1.0),
];

fn params() -> Parameters {
    let text: String = PARAMS
        .iter()
        .map(|(id, v)| {
            format!(
                "[[parameter]]\nid = \"{id}\"\ngroup = \"g\"\ntypology = \"any\"\nlow = {v}\ncentral = {v}\nhigh = {v}\nunit = \"u\"\ntag = \"E\"\nsource = \"test\"\nnote = \"exact\"\n\n"
            )
        })
        .collect();
    Parameters::parse(Path::new("hand.toml"), &text).unwrap()
}

fn location() -> Location {
    Location {
        commune_insee: None,
        commune_name: None,
        departement_code: "93".into(),
        departement_name: "Seine-Saint-Denis".into(),
        region_code: "11".into(),
        region_name: "Île-de-France".into(),
        method: LocateMethod::PointInPolygon,
        distance_m: 0.0,
    }
}

fn record(key: &str, name: &str) -> LocatedRecord {
    let mut r = Record::new(
        "test",
        key,
        Provenance {
            source_id: "test".into(),
            file: "f".into(),
            snapshot_sha256: String::new(),
            retrieved_at: String::new(),
            origin: String::new(),
            licence: String::new(),
            locator: String::new(),
        },
    );
    r.name = Some(name.into());
    LocatedRecord {
        record: r,
        location: location(),
    }
}

fn facility(id: &str, kind: Option<&str>) -> Facility {
    Facility {
        facility_id: id.into(),
        anchor: id.into(),
        members: vec![],
        sources: vec![],
        name: None,
        operator: None,
        operator_id: None,
        operator_kind: kind.map(str::to_string),
        codes: vec![],
        status: Status::Operating,
        typology: "unknown".into(),
        point: None,
        point_precision: crate::model::PointPrecision::None,
        location: location(),
        address: None,
        website: None,
        campus_id: format!("cp-{id}"),
        confidence: 0.5,
        fields: vec![],
    }
}

#[test]
fn three_facilities_by_hand() {
    let mut a = record("a", "Equinix PA3");
    a.record.powers.push(PowerFact {
        value: 10.0,
        unit: "MW",
        kind: PowerKind::It,
        kind_text: None,
        field: "power".into(),
    });
    let mut b = record("b", "Centre de Calculs");
    b.record.energy.push(EnergyObs {
        year: 2024,
        mwh: 4380.0,
    });
    let mut c = record("c", "Salle technique");
    c.record.surfaces.push(SurfaceFact {
        value_m2: 1000.0,
        kind: SurfaceKind::WhiteSpace,
        kind_text: None,
        field: "s".into(),
    });
    let records = vec![a, b, c];
    let owners = vec!["fa".to_string(), "fb".into(), "fc".into()];
    let facilities = vec![
        facility("fa", Some("colocation")),
        facility("fb", None),
        facility("fc", None),
    ];
    let est = estimate(
        &records,
        &owners,
        &facilities,
        &Attachments::default(),
        &HashMap::new(),
        &params(),
        &EstimateOptions::default(),
    );
    let e = &est.facilities;
    let close = |x: f64, y: f64| assert!((x - y).abs() < 1e-6 * y.abs().max(1.0), "{x} != {y}");
    // A: disclosed 10 MW IT; colocation, load 0.5, PUE 1.5.
    assert_eq!(e[0].typology.typology, "colocation");
    close(e[0].it_mw.central, 10.0);
    close(e[0].energy_gwh.central, 10.0 * 0.5 * 1.5 * 8.76); // 65.7
    close(e[0].co2e_operational_t.central, 65.7 * 50.0); // 3285
    close(
        e[0].co2e_embodied_t.central,
        10.0 * 1000.0 / 25.0 + 10_000.0 * 2.5 / 5.0,
    ); // 5400
    close(e[0].water_m3.central, 65.7 / 1.5 * 1000.0 * 0.5); // 21900
    // B: 4380 MWh measured; enterprise, PUE 2.0, utilisation 0.5 → 0.5 MW IT.
    assert_eq!(e[1].typology.typology, "enterprise");
    assert_eq!(e[1].evidence.method, Method::MeasuredEnergy);
    close(e[1].it_mw.central, 0.5);
    close(e[1].energy_gwh.central, 4.38);
    close(e[1].co2e_embodied_t.central, 20.0 + 250.0);
    close(e[1].water_m3.central, 4.38 / 2.0 * 1000.0 * 0.5); // 1095
    // C: 1000 m² of white space at 1 kW/m²; telecom, PUE 1.6, load 0.5.
    assert_eq!(e[2].typology.typology, "telecom");
    close(e[2].it_mw.central, 1.0);
    close(e[2].energy_gwh.central, 7.008);
    close(e[2].co2e_operational_t.central, 350.4);
    // Totals, by hand.
    let m = aggregate::sum(&facilities, e, &[0, 1, 2]);
    close(m.it_mw_central, 11.5);
    close(m.energy_gwh_central, 65.7 + 4.38 + 7.008);
    close(m.co2e_operational_t_central, 3285.0 + 219.0 + 350.4);
    close(m.co2e_embodied_t_central, 5400.0 + 270.0 + 540.0);
    close(m.water_m3_central, 21_900.0 + 1095.0 + 2190.0);
    close(
        m.energy_gwh_observed_share,
        (4.38 / 77.088 * 1e4_f64).round() / 1e4,
    );
    assert_eq!(m.it_mw_low, m.it_mw_high); // exact parameters: no spread
}
