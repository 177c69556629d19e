//! One row definition per table: a [`Table`] lists its columns, each a name, a type and the
//! function that gives its value from a row, side by side, so that a column and its value
//! cannot drift apart. The GeoPackage writer takes the columns and the rows' values from it;
//! the readers of the inventory (`changes`, `explain`, `trajectory`) check their column names
//! against it (see the tests of `tables.rs`).

use super::gpkg::{Column, GpkgError, GpkgWriter, LayerGeometry, Value};

/// One column: name, type and value from a row of type `R`.
pub struct Field<R> {
    pub column: Column,
    pub value: fn(&R) -> Value,
}

/// A TEXT column.
pub fn text<R>(name: &str, value: fn(&R) -> Value) -> Field<R> {
    Field {
        column: Column::text(name),
        value,
    }
}

/// An INTEGER column.
pub fn integer<R>(name: &str, value: fn(&R) -> Value) -> Field<R> {
    Field {
        column: Column::integer(name),
        value,
    }
}

/// A REAL column.
pub fn real<R>(name: &str, value: fn(&R) -> Value) -> Field<R> {
    Field {
        column: Column::real(name),
        value,
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
