//! The facility table of the columnar exports: the properties of `facilities.geojson` (one
//! feature per facility, see [`super::geojson::features`]) → one typed column per property,
//! typed as the facility layer's definition says (`store::tables::facilities`; same names,
//! same values; lists joined with `;` as in the GeoPackage) and the points.
//! `facilities.parquet` and `facilities.fgb` are both written from this table.

use serde_json::Value;

use crate::error::StoreError;
use crate::store::table::Export;
use crate::store::tables::facilities;

/// The values of one column (None = null).
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Text(Vec<Option<String>>),
    Real(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data: Data,
}

/// The facilities as columns, rows in inventory order.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// lon, lat (WGS 84, 7 decimals); None for a facility without a point.
    pub points: Vec<Option<(f64, f64)>>,
    pub columns: Vec<Column>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// `[min_x, min_y, max_x, max_y]` of the points; None when no row has one.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        self.points.iter().flatten().fold(None, |b, &(x, y)| {
            let [x0, y0, x1, y1] = b.unwrap_or([x, y, x, y]);
            Some([x0.min(x), y0.min(y), x1.max(x), y1.max(y)])
        })
    }
}

/// Builds the table from features; `what` names the output in errors. A property missing
/// from a feature is null; a property of the wrong JSON type, or one that is not an exported
/// column of the facility layer, is an error.
pub fn table(features: &[super::geojson::Feature], what: &str) -> Result<Table, StoreError> {
    let err = |message: String| StoreError::Serialise {
        what: what.into(),
        message,
    };
    let definition = facilities();
    let exported = definition.exported();
    if let Some(extra) = features
        .iter()
        .flat_map(|(_, p)| p.keys())
        .find(|k| !exported.iter().any(|(name, _)| name == k))
    {
        return Err(err(format!("property {extra:?} has no column")));
    }
    let mut columns = Vec::with_capacity(exported.len());
    for &(name, kind) in &exported {
        let values = features
            .iter()
            .map(|(_, p)| p.get(name).unwrap_or(&Value::Null));
        let bad = |v: &Value| err(format!("property {name:?}: expected {kind:?}, found {v}"));
        let data = match kind {
            Export::Text => Data::Text(
                values
                    .map(|v| match v {
                        Value::Null => Ok(None),
                        Value::String(s) => Ok(Some(s.clone())),
                        other => Err(bad(other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Export::List => Data::Text(
                values
                    .map(|v| match v {
                        Value::Null => Ok(None),
                        Value::Array(a) if a.is_empty() => Ok(None),
                        Value::Array(a) => a
                            .iter()
                            .map(|x| x.as_str().ok_or_else(|| bad(v)))
                            .collect::<Result<Vec<_>, _>>()
                            .map(|parts| Some(parts.join(";"))),
                        other => Err(bad(other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Export::Real => Data::Real(
                values
                    .map(|v| match v {
                        Value::Null => Ok(None),
                        Value::Number(n) => Ok(n.as_f64().filter(|x| x.is_finite())),
                        other => Err(bad(other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Export::Bool => Data::Bool(
                values
                    .map(|v| match v {
                        Value::Null => Ok(None),
                        Value::Bool(b) => Ok(Some(*b)),
                        other => Err(bad(other)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        columns.push(Column {
            name: name.to_string(),
            data,
        });
    }
    Ok(Table {
        points: features.iter().map(|(p, _)| *p).collect(),
        columns,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// Three facilities: full, sparse, and one without a point.
    pub(crate) fn sample() -> Table {
        let full = json!({
            "facility_id": "fr-dc-0001", "name": "Équinix PA2", "codes": ["PA2", "PA3"],
            "typology": "colocation", "confidence": 0.9, "ai_hpc": true,
            "it_mw_low": 5.0, "it_mw_central": 8.25, "it_mw_high": 12.0, "floors": 3.0,
            "sources": ["osm-datacenters"], "members": ["osm:way/1", "cm:2"],
        });
        let sparse = json!({"facility_id": "fr-dc-0002", "codes": [], "ai_hpc": false, "it_mw_central": 0.4});
        let nowhere =
            json!({"facility_id": "fr-dc-0003", "name": "Sans point", "typology": "unknown"});
        let obj = |v: Value| v.as_object().unwrap().clone();
        table(
            &[
                (Some((2.3522, 48.8566)), obj(full)),
                (Some((5.3698, 43.2965)), obj(sparse)),
                (None, obj(nowhere)),
            ],
            "test",
        )
        .unwrap()
    }

    #[test]
    fn builds_typed_columns_from_properties() {
        let t = sample();
        assert_eq!(t.len(), 3);
        assert_eq!(t.columns.len(), facilities().exported().len());
        let col = |n: &str| &t.columns.iter().find(|c| c.name == n).unwrap().data;
        assert_eq!(
            col("codes"),
            &Data::Text(vec![Some("PA2;PA3".into()), None, None])
        );
        assert_eq!(
            col("ai_hpc"),
            &Data::Bool(vec![Some(true), Some(false), None])
        );
        assert_eq!(
            col("it_mw_central"),
            &Data::Real(vec![Some(8.25), Some(0.4), None])
        );
        assert_eq!(t.bbox(), Some([2.3522, 43.2965, 5.3698, 48.8566]));
    }

    #[test]
    fn rejects_unknown_properties_and_wrong_types() {
        let f = |v: Value| vec![(None, v.as_object().unwrap().clone())];
        let e = table(&f(json!({"facility_id": "x", "new_field": 1})), "t").unwrap_err();
        assert!(e.to_string().contains("new_field"), "{e}");
        let e = table(&f(json!({"it_mw_low": "5"})), "t").unwrap_err();
        assert!(e.to_string().contains("it_mw_low"), "{e}");
        let e = table(&f(json!({"codes": [1]})), "t").unwrap_err();
        assert!(e.to_string().contains("codes"), "{e}");
        assert_eq!(table(&[], "t").unwrap().bbox(), None);
    }
}
