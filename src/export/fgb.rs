//! `facilities.fgb`: the facility [`Table`] → FlatGeobuf bytes (Point layer `facilities`,
//! EPSG:4326, with its packed Hilbert R-tree spatial index; features in Hilbert order).
//! Columns are the GeoJSON's properties (text, double, bool); a null is an absent property.
//! Every facility with a point is written. A facility without one (located by postcode only)
//! is left out: each feature of an indexed FlatGeobuf needs a bounding box (GDAL refuses null
//! geometries in an indexed file and cannot read the empty geometry this crate would write);
//! those facilities are in the GeoParquet, GeoJSON and GeoPackage with a null geometry.

use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geozero::{ColumnValue, GeomProcessor, GeozeroGeometry, PropertyProcessor};

use super::columns::{Data, Table};
use crate::error::StoreError;

pub const FILE_NAME: &str = "facilities.fgb";
pub const LAYER_NAME: &str = "facilities";

/// A lon/lat point.
struct Point(f64, f64);

impl GeozeroGeometry for Point {
    fn process_geom<P: GeomProcessor>(&self, p: &mut P) -> geozero::error::Result<()> {
        p.point_begin(0)?;
        p.xy(self.0, self.1, 0)?;
        p.point_end(0)
    }
}

/// Facilities left out of the FlatGeobuf (no point).
pub fn left_out(table: &Table) -> usize {
    table.points.iter().filter(|p| p.is_none()).count()
}

pub fn to_bytes(table: &Table) -> Result<Vec<u8>, StoreError> {
    let err = |e: &dyn std::fmt::Display| StoreError::Serialise {
        what: FILE_NAME.into(),
        message: e.to_string(),
    };
    let options = FgbWriterOptions {
        write_index: true,
        detect_type: false,
        promote_to_multi: false,
        crs: FgbCrs {
            org: Some("EPSG"),
            code: 4326,
            ..Default::default()
        },
        title: Some("dcinv data-centre facilities"),
        description: Some(
            "One point per facility. Contains data © OpenStreetMap contributors (ODbL 1.0) and other sources: see ATTRIBUTION.md",
        ),
        ..Default::default()
    };
    let mut fgb = FgbWriter::create_with_options(LAYER_NAME, GeometryType::Point, options)
        .map_err(|e| err(&e))?;
    for c in &table.columns {
        let ty = match c.data {
            Data::Text(_) => ColumnType::String,
            Data::Real(_) => ColumnType::Double,
            Data::Bool(_) => ColumnType::Bool,
        };
        fgb.add_column(&c.name, ty, |_, col| col.nullable = true);
    }
    for (row, point) in table.points.iter().enumerate() {
        let Some(&(x, y)) = point.as_ref() else {
            continue;
        };
        let mut result = Ok(());
        fgb.add_feature_geom(Point(x, y), |feat| {
            for (i, c) in table.columns.iter().enumerate() {
                let value = match &c.data {
                    Data::Text(v) => v[row].as_deref().map(ColumnValue::String),
                    Data::Real(v) => v[row].map(ColumnValue::Double),
                    Data::Bool(v) => v[row].map(ColumnValue::Bool),
                };
                if let Some(value) = value
                    && let Err(e) = feat.property(i, &c.name, &value)
                {
                    result = Err(e);
                }
            }
        })
        .map_err(|e| err(&e))?;
        result.map_err(|e| err(&e))?;
    }
    let mut bytes = Vec::new();
    fgb.write(&mut bytes).map_err(|e| err(&e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::columns::tests::sample;
    use std::process::Command;

    #[test]
    fn writes_flatgeobuf_header_and_index() {
        let bytes = to_bytes(&sample()).unwrap();
        // magic "fgb", major version 3
        assert_eq!(&bytes[..4], &[b'f', b'g', b'b', 3]);
        let header_len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        assert!(header_len > 0 && bytes.len() > 12 + header_len);
    }

    #[test]
    fn gdal_reads_every_row() {
        if Command::new("ogrinfo").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("DCINV_REQUIRE_GDAL").is_none(),
                "DCINV_REQUIRE_GDAL is set but ogrinfo is missing"
            );
            eprintln!("skipped: ogrinfo not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, to_bytes(&sample()).unwrap()).unwrap();
        let out = Command::new("ogrinfo")
            .args(["-ro", "-al", "-q"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(
            !text.contains("fr-dc-0003"),
            "a facility without a point: {text}"
        );
        for want in [
            "fr-dc-0001",
            "fr-dc-0002",
            "Équinix PA2",
            "POINT (2.3522 48.8566)",
            "PA2;PA3",
            "it_mw_central (Real) = 8.25",
        ] {
            assert!(text.contains(want), "{want:?} missing in {text}");
        }
        let out = Command::new("ogrinfo")
            .args(["-ro", "-so", "-al"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Feature Count: 2"), "{text}");
        assert_eq!(left_out(&sample()), 1);
        assert!(text.contains("Geometry: Point"), "{text}");
    }
}
