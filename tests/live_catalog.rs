//! The live national catalog entries (`mirror_optional`, absent from the shared mirror) read
//! a synthetic fixture in their documented live layout with the repository's own mapping.

use std::path::Path;

use dcinv::adapters::{self, FileInput};
use dcinv::catalog;
use dcinv::model::{PointPrecision, Provenance};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[test]
fn cerema_layer_maps_names_communes_and_precision() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sources");
    let specs = catalog::load_dir(&dir).unwrap();
    let spec = specs.iter().find(|s| s.id == "cerema-datacenters").unwrap();
    assert!(
        spec.mirror_optional,
        "the mirror has no copy: a mirror build must skip it"
    );
    let file = &spec.files[0];
    assert!(
        file.url
            .as_deref()
            .is_some_and(|u| u.contains("/FeatureServer/"))
    );
    let bytes = fixture("arcgis/cerema_datacenters_synthetic.geojson");
    let out = adapters::find(spec.adapter_for(file))
        .unwrap()
        .parse(&FileInput {
            spec,
            file,
            bytes: &bytes,
            provenance: Provenance {
                source_id: spec.id.clone(),
                file: file.name.clone(),
                snapshot_sha256: "0".repeat(64),
                retrieved_at: "2026-12-03T00:00:00Z".into(),
                origin: "fixture".into(),
                licence: spec.licence.clone(),
                locator: String::new(),
            },
        })
        .unwrap();
    assert_eq!(out.units_read, 3);
    assert_eq!(out.records.len(), 3, "{:?}", out.issues);
    let by_id = |id: &str| out.records.iter().find(|r| r.native_id == id).unwrap();
    let a = by_id("DC-0001");
    assert_eq!(a.name.as_deref(), Some("Centre de données témoin A"));
    assert_eq!(a.commune_name.as_deref(), Some("Saint-Denis"));
    assert_eq!(a.point_precision, PointPrecision::Building);
    // qualite_xy 5 = commune centroid: approximate, not the building
    assert_eq!(
        by_id("DC-0002").point_precision,
        PointPrecision::Approximate
    );
    assert_eq!(by_id("DC-0003").point_precision, PointPrecision::Building);
}
