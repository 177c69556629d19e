//! One row definition per table: a [`Table`] lists its columns, each a name, a type and the
//! function that gives its value from a row, side by side, so that a column and its value
//! cannot drift apart. The GeoPackage writer takes the columns and the rows' values from it;
//! the facility exports (`facilities.geojson`, `.parquet`, `.fgb`) take the columns marked
//! [`Export`] and their values from it; the readers of the inventory (`changes`, `explain`,
//! `trajectory`) check their column names against it (see the tests of `tables.rs`).

use super::gpkg::{Column, GpkgError, GpkgWriter, LayerGeometry, Value};

/// One column: name, type and value from a row of type `R`, and whether the facility
/// exports (GeoJSON, GeoParquet, FlatGeobuf) carry it.
pub struct Field<R> {
    pub column: Column,
    pub value: fn(&R) -> Value,
    /// How the exports write the column, when they carry it.
    pub export: Option<Export>,
}

/// How a column reads in the facility exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Text,
    Real,
    /// An INTEGER 0/1 column, a boolean in the exports.
    Bool,
    /// A list, an array in GeoJSON and one text joined by `;` in the columnar files.
    List,
}

/// `field`, carried by the facility exports as `how`.
pub fn exported<R>(how: Export, field: Field<R>) -> Field<R> {
    Field {
        export: Some(how),
        ..field
    }
}

/// A cell as the GeoJSON export writes it.
pub fn json_of(value: Value, how: Export) -> serde_json::Value {
    use serde_json::Value as Json;
    match (value, how) {
        (Value::Null, _) => Json::Null,
        (Value::Integer(i), Export::Bool) => Json::Bool(i != 0),
        (Value::Integer(i), _) => Json::from(i),
        (Value::Real(x), _) => Json::from(x),
        (Value::Text(s), _) => Json::String(s),
        (Value::List(v), _) => Json::from(v),
    }
}

/// A TEXT column.
pub fn text<R>(name: &str, value: fn(&R) -> Value) -> Field<R> {
    Field {
        column: Column::text(name),
        value,
        export: None,
    }
}

/// An INTEGER column.
pub fn integer<R>(name: &str, value: fn(&R) -> Value) -> Field<R> {
    Field {
        column: Column::integer(name),
        value,
        export: None,
    }
}

/// A REAL column.
pub fn real<R>(name: &str, value: fn(&R) -> Value) -> Field<R> {
    Field {
        column: Column::real(name),
        value,
        export: None,
    }
}

/// A table or layer of the GeoPackage: its name, title (`identifier`), description and
/// fields, in column order.
pub struct Table<R> {
    pub name: &'static str,
    pub title: &'static str,
    pub description: String,
    pub fields: Vec<Field<R>>,
}

impl<R> Table<R> {
    pub fn columns(&self) -> Vec<Column> {
        self.fields.iter().map(|f| f.column.clone()).collect()
    }

    /// The values of one row, in column order.
    pub fn values(&self, row: &R) -> Vec<Value> {
        self.fields.iter().map(|f| (f.value)(row)).collect()
    }

    /// The columns the facility exports carry, with how, in column order.
    pub fn exported(&self) -> Vec<(&str, Export)> {
        self.fields
            .iter()
            .filter_map(|f| Some((f.column.name.as_str(), f.export?)))
            .collect()
    }

    /// The exported cells of one row, as the GeoJSON export writes them, in column order.
    pub fn exported_values(&self, row: &R) -> serde_json::Map<String, serde_json::Value> {
        self.fields
            .iter()
            .filter_map(|f| {
                let how = f.export?;
                Some((f.column.name.clone(), json_of((f.value)(row), how)))
            })
            .collect()
    }

    /// The column names, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.column.name.as_str()).collect()
    }

    /// Writes the table as an attribute table.
    pub fn write(
        &self,
        w: &mut GpkgWriter,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<u64, GpkgError> {
        let values = rows.into_iter().map(|r| self.values(&r));
        w.add_attribute_table(
            self.name,
            self.title,
            &self.description,
            &self.columns(),
            values,
        )
    }

    /// Writes the table as a feature layer whose geometry `geometry` gives.
    pub fn write_layer<G: LayerGeometry>(
        &self,
        w: &mut GpkgWriter,
        rows: impl IntoIterator<Item = R>,
        geometry: fn(&R) -> Option<G>,
    ) -> Result<u64, GpkgError> {
        let values = rows.into_iter().map(|r| (geometry(&r), self.values(&r)));
        w.add_feature_layer(
            self.name,
            self.title,
            &self.description,
            &self.columns(),
            values,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_read_in_geojson_as_their_export_says() {
        assert_eq!(json_of(Value::Integer(1), Export::Bool), json!(true));
        assert_eq!(json_of(Value::Integer(0), Export::Bool), json!(false));
        assert_eq!(json_of(Value::Null, Export::Bool), json!(null));
        assert_eq!(json_of(Value::Real(2.5), Export::Real), json!(2.5));
        assert_eq!(json_of(Value::Text("a".into()), Export::Text), json!("a"));
        assert_eq!(
            json_of(Value::List(vec!["x".into(), "y".into()]), Export::List),
            json!(["x", "y"])
        );
        assert_eq!(json_of(Value::List(Vec::new()), Export::List), json!([]));
    }

    #[test]
    fn only_marked_columns_are_exported() {
        let table: Table<(i64, i64)> = Table {
            name: "t",
            title: "t",
            description: String::new(),
            fields: vec![
                exported(Export::Bool, integer("flag", |r| r.0.into())),
                integer("internal", |r| r.1.into()),
            ],
        };
        assert_eq!(table.exported(), vec![("flag", Export::Bool)]);
        let row = table.exported_values(&(1, 7));
        assert_eq!(serde_json::Value::Object(row), json!({"flag": true}));
    }
}
