//! `facilities.parquet`: the facility [`Table`] → GeoParquet 1.1 bytes. One row per facility;
//! `geometry` is an ISO WKB Point (little endian, lon/lat, OGC:CRS84, null without a point),
//! `bbox` the covering struct `{xmin, ymin, xmax, ymax}`, then the GeoJSON's properties as
//! typed columns; the `geo` key of the file metadata describes the geometry column.
//! Snappy-compressed, one row group. DuckDB, GeoPandas, Apache Sedona and BigQuery read it.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Float64Array, RecordBatch, StringArray, StructArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::json;

use super::columns::{Data, Table};
use crate::error::StoreError;

pub const FILE_NAME: &str = "facilities.parquet";

/// A little-endian ISO WKB Point.
pub fn wkb_point(x: f64, y: f64) -> Vec<u8> {
    let mut b = Vec::with_capacity(21);
    b.push(1);
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&x.to_le_bytes());
    b.extend_from_slice(&y.to_le_bytes());
    b
}

/// The `geo` file metadata of GeoParquet 1.1 (CRS left out: OGC:CRS84, lon/lat).
pub fn geo_metadata(table: &Table) -> serde_json::Value {
    let mut column = json!({
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "covering": {"bbox": {
            "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
            "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"],
        }},
    });
    if let Some(b) = table.bbox() {
        column["bbox"] = json!(b);
    }
    json!({"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}})
}

fn bbox_column(table: &Table) -> (Field, ArrayRef) {
    let names = ["xmin", "ymin", "xmax", "ymax"];
    let fields: Fields = names
        .iter()
        .map(|n| Field::new(*n, DataType::Float64, true))
        .collect();
    let coord = |i: usize| -> ArrayRef {
        let v: Vec<Option<f64>> = table
            .points
            .iter()
            .map(|p| p.map(|(x, y)| [x, y, x, y][i]))
            .collect();
        Arc::new(Float64Array::from(v))
    };
    let nulls = NullBuffer::from(table.points.iter().map(Option::is_some).collect::<Vec<_>>());
    let array = StructArray::new(fields.clone(), (0..4).map(coord).collect(), Some(nulls));
    (
        Field::new("bbox", DataType::Struct(fields), true),
        Arc::new(array),
    )
}

/// The record batch: geometry, bbox, then every column of the table.
pub fn record_batch(table: &Table) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let wkb: Vec<Option<Vec<u8>>> = table
        .points
        .iter()
        .map(|p| p.map(|(x, y)| wkb_point(x, y)))
        .collect();
    let wkb: BinaryArray = wkb.iter().map(|b| b.as_deref()).collect();
    let mut fields = vec![Field::new("geometry", DataType::Binary, true)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(wkb)];
    let (bbox_field, bbox) = bbox_column(table);
    fields.push(bbox_field);
    arrays.push(bbox);
    for c in &table.columns {
        let (ty, array): (DataType, ArrayRef) = match &c.data {
            Data::Text(v) => (DataType::Utf8, Arc::new(StringArray::from(v.clone()))),
            Data::Real(v) => (DataType::Float64, Arc::new(Float64Array::from(v.clone()))),
            Data::Bool(v) => (DataType::Boolean, Arc::new(BooleanArray::from(v.clone()))),
        };
        fields.push(Field::new(c.name.clone(), ty, true));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
}

pub fn to_bytes(table: &Table) -> Result<Vec<u8>, StoreError> {
    let err = |e: &dyn std::fmt::Display| StoreError::Serialise {
        what: FILE_NAME.into(),
        message: e.to_string(),
    };
    let batch = record_batch(table).map_err(|e| err(&e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "geo".to_string(),
            geo_metadata(table).to_string(),
        )]))
        .build();
    let mut bytes = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props)).map_err(|e| err(&e))?;
    writer.write(&batch).map_err(|e| err(&e))?;
    writer.close().map_err(|e| err(&e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::columns::tests::sample;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    #[test]
    fn encodes_wkb_point() {
        let b = wkb_point(1.0, 2.0);
        assert_eq!(&b[..5], &[1, 1, 0, 0, 0]);
        assert_eq!(f64::from_le_bytes(b[5..13].try_into().unwrap()), 1.0);
        assert_eq!(f64::from_le_bytes(b[13..21].try_into().unwrap()), 2.0);
    }

    #[test]
    fn writes_geoparquet_with_geo_metadata_and_covering() {
        let table = sample();
        let bytes = to_bytes(&table).unwrap();
        assert_eq!(&bytes[..4], b"PAR1");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, &bytes).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata().file_metadata();
        assert_eq!(meta.num_rows(), 3);
        let geo = meta
            .key_value_metadata()
            .unwrap()
            .iter()
            .find(|kv| kv.key == "geo")
            .and_then(|kv| kv.value.clone())
            .unwrap();
        let geo: serde_json::Value = serde_json::from_str(&geo).unwrap();
        assert_eq!(geo["version"], "1.1.0");
        assert_eq!(geo["primary_column"], "geometry");
        let g = &geo["columns"]["geometry"];
        assert_eq!(g["encoding"], "WKB");
        assert_eq!(g["bbox"], json!([2.3522, 43.2965, 5.3698, 48.8566]));
        assert_eq!(g["covering"]["bbox"]["ymax"], json!(["bbox", "ymax"]));
        let schema = meta.schema_descr();
        let leaves: Vec<String> = (0..schema.num_columns())
            .map(|i| schema.column(i).path().string())
            .collect();
        assert_eq!(
            leaves[..5],
            [
                "geometry",
                "bbox.xmin",
                "bbox.ymin",
                "bbox.xmax",
                "bbox.ymax"
            ]
        );
        assert!(leaves.contains(&"it_mw_central".to_string()));
        assert_eq!(leaves.len(), 5 + table.columns.len());
    }
}
