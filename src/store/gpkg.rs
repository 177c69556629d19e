//! GeoPackage 1.2 writer: takes point and multipolygon layers (EPSG:4326 lon/lat) and attribute
//! tables as rows, writes one `.gpkg` file that GDAL/QGIS open as-is. Every feature layer has
//! an R-tree spatial index; polygon blobs carry their envelope.

use geo_types::{LineString, MultiPolygon};
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, params};
use std::path::{Path, PathBuf};

/// SQL type of a user column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Integer,
    Real,
}

impl ColumnType {
    fn sql(self) -> &'static str {
        match self {
            ColumnType::Text => "TEXT",
            ColumnType::Integer => "INTEGER",
            ColumnType::Real => "REAL",
        }
    }
}

/// A user column (after `fid` and, for point layers, `geom`).
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
}

impl Column {
    pub fn text(name: &str) -> Self {
        Self::new(name, ColumnType::Text)
    }
    pub fn integer(name: &str) -> Self {
        Self::new(name, ColumnType::Integer)
    }
    pub fn real(name: &str) -> Self {
        Self::new(name, ColumnType::Real)
    }
    fn new(name: &str, ty: ColumnType) -> Self {
        Column {
            name: name.to_owned(),
            ty,
        }
    }
}

/// A cell value. Non-finite reals become `Null` through the `From` impls.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Integer(i64),
    Real(f64),
    /// A list of texts, stored as one text joined by `;` (NULL when empty); the GeoJSON export
    /// writes it as an array.
    List(Vec<String>),
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr;)*) => {
        $(impl From<$t> for Value { fn from($v: $t) -> Self { $e } })*
    };
}
value_from! {
    &str => |v| Value::Text(v.to_owned());
    String => |v| Value::Text(v);
    Option<String> => |v| v.map_or(Value::Null, Value::Text);
    Option<&str> => |v| v.map_or(Value::Null, Value::from);
    i64 => |v| Value::Integer(v);
    Option<i64> => |v| v.map_or(Value::Null, Value::Integer);
    f64 => |v| if v.is_finite() { Value::Real(v) } else { Value::Null };
    Option<f64> => |v| v.map_or(Value::Null, Value::from);
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) if f.is_finite() => ValueRef::Real(*f),
            Value::Real(_) => ValueRef::Null,
            Value::List(v) if v.is_empty() => ValueRef::Null,
            Value::List(v) => {
                return Ok(ToSqlOutput::Owned(rusqlite::types::Value::Text(
                    v.join(";"),
                )));
            }
        }))
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpkgError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0} already exists")]
    Exists(PathBuf),
    #[error("table {table}: row has {got} values, expected {expected}")]
    BadRow {
        table: String,
        expected: usize,
        got: usize,
    },
    #[error("table {table}: row {row}: column {column} expects a number, got text")]
    BadValue {
        table: String,
        column: String,
        row: u64,
    },
    #[error("invalid or reserved table/column name: {0:?}")]
    BadName(String),
}

/// 'GPKG' and GeoPackage 1.2.0, stored in the SQLite header.
const APPLICATION_ID: i32 = 0x4750_4B47;
const USER_VERSION: i32 = 10200;

const WGS84_WKT: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]"#;

/// Mandatory tables, DDL as in GeoPackage 1.2 (Annex C), plus the 3 mandatory SRS rows.
const BASE_SCHEMA: &str = "
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition  TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE,
  min_y DOUBLE,
  max_x DOUBLE,
  max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
CREATE TABLE gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
";

/// RTree spatial index triggers of GeoPackage 1.2 (Annex F.3) for `<t>`, column `geom`, id `fid`.
const RTREE_TRIGGERS: &str = r#"
CREATE TRIGGER "rtree_<t>_geom_insert" AFTER INSERT ON "<t>"
  WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN
  INSERT OR REPLACE INTO "rtree_<t>_geom" VALUES (NEW."fid",
    ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom"));
END;
CREATE TRIGGER "rtree_<t>_geom_update1" AFTER UPDATE OF "geom" ON "<t>"
  WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN
  INSERT OR REPLACE INTO "rtree_<t>_geom" VALUES (NEW."fid",
    ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom"));
END;
CREATE TRIGGER "rtree_<t>_geom_update2" AFTER UPDATE OF "geom" ON "<t>"
  WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN
  DELETE FROM "rtree_<t>_geom" WHERE id = OLD."fid";
END;
CREATE TRIGGER "rtree_<t>_geom_update3" AFTER UPDATE ON "<t>"
  WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN
  DELETE FROM "rtree_<t>_geom" WHERE id = OLD."fid";
  INSERT OR REPLACE INTO "rtree_<t>_geom" VALUES (NEW."fid",
    ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom"));
END;
CREATE TRIGGER "rtree_<t>_geom_update4" AFTER UPDATE ON "<t>"
  WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN
  DELETE FROM "rtree_<t>_geom" WHERE id IN (OLD."fid", NEW."fid");
END;
CREATE TRIGGER "rtree_<t>_geom_delete" AFTER DELETE ON "<t>"
  WHEN old."geom" NOT NULL
BEGIN
  DELETE FROM "rtree_<t>_geom" WHERE id = OLD."fid";
END;
"#;

/// Writes one GeoPackage; each `add_*` call writes a whole table in one transaction.
pub struct GpkgWriter {
    conn: Connection,
}

impl GpkgWriter {
    /// Creates a new GeoPackage at `path` (error if it exists) with the mandatory
    /// `gpkg_*` tables, the EPSG:4326 / -1 / 0 SRS rows and `gpkg_extensions`.
    pub fn create(path: &Path) -> Result<Self, GpkgError> {
        if path.exists() {
            return Err(GpkgError::Exists(path.to_path_buf()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let mut conn = Connection::open_with_flags(path, flags)?;
        conn.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {USER_VERSION};"
        ))?;
        let tx = conn.transaction()?;
        tx.execute_batch(BASE_SCHEMA)?;
        tx.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, \
             'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
            [WGS84_WKT],
        )?;
        tx.commit()?;
        Ok(GpkgWriter { conn })
    }

    /// Adds a feature layer (`fid`, `geom` of type [`LayerGeometry::TYPE`], then `columns`)
    /// with an RTree spatial index. Each row is (the geometry, or None for a NULL geometry;
    /// values in column order); a geometry without a blob (a non-finite coordinate, an empty
    /// multipolygon) is written as NULL. Returns the number of rows written.
    pub fn add_feature_layer<G, I>(
        &mut self,
        table: &str,
        identifier: &str,
        description: &str,
        columns: &[Column],
        rows: I,
    ) -> Result<u64, GpkgError>
    where
        G: LayerGeometry,
        I: IntoIterator<Item = (Option<G>, Vec<Value>)>,
    {
        let rows = rows
            .into_iter()
            .map(|(geom, values)| (geom.as_ref().and_then(G::blob), values));
        self.write_table(
            [table, identifier, description],
            columns,
            Some(G::TYPE),
            rows,
        )
    }

    /// Adds an attribute (non-spatial) table: `fid` then `columns`. Returns the rows written.
    pub fn add_attribute_table<I>(
        &mut self,
        table: &str,
        identifier: &str,
        description: &str,
        columns: &[Column],
        rows: I,
    ) -> Result<u64, GpkgError>
    where
        I: IntoIterator<Item = Vec<Value>>,
    {
        let rows = rows.into_iter().map(|v| (None, v));
        self.write_table([table, identifier, description], columns, None, rows)
    }

    /// Writes one table, its rows and its registrations in a single transaction;
    /// `geometry_type` is the GeoPackage geometry type name of a feature table.
    fn write_table(
        &mut self,
        [table, identifier, description]: [&str; 3],
        columns: &[Column],
        geometry_type: Option<&str>,
        rows: impl IntoIterator<Item = (Option<Blob>, Vec<Value>)>,
    ) -> Result<u64, GpkgError> {
        let spatial = geometry_type.is_some();
        check_schema(table, columns, spatial)?;
        let tx = self.conn.transaction()?;
        tx.execute_batch(&create_table_sql(table, columns, geometry_type))?;
        let (mut count, mut bbox) = (0u64, None::<[f64; 4]>);
        {
            let mut ins = tx.prepare(&insert_sql(table, columns, spatial))?;
            let rtree = format!("INSERT INTO \"rtree_{table}_geom\" VALUES (?1, ?2, ?3, ?4, ?5)");
            let mut ins_rtree = if spatial {
                Some(tx.prepare(&rtree)?)
            } else {
                None
            };
            for (blob, values) in rows {
                check_row(table, columns, &values, count)?;
                let bytes = blob.as_ref().map(|b| b.bytes.as_slice());
                let mut params: Vec<&dyn ToSql> = Vec::with_capacity(values.len() + 1);
                if spatial {
                    params.push(&bytes);
                }
                params.extend(values.iter().map(|v| v as &dyn ToSql));
                ins.execute(params.as_slice())?;
                if let (Some(b), Some(stmt)) = (&blob, ins_rtree.as_mut()) {
                    let [x0, x1, y0, y1] = b.envelope;
                    stmt.execute(params![tx.last_insert_rowid(), x0, x1, y0, y1])?;
                    let bb = bbox.get_or_insert([x0, y0, x1, y1]);
                    *bb = [bb[0].min(x0), bb[1].min(y0), bb[2].max(x1), bb[3].max(y1)];
                }
                count += 1;
            }
        }
        let [min_x, min_y, max_x, max_y] = bbox.map_or([None; 4], |b| b.map(Some));
        tx.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, \
             last_change, min_x, min_y, max_x, max_y, srs_id) VALUES (?1, ?2, ?3, ?4, \
             strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?5, ?6, ?7, ?8, ?9)",
            params![
                table,
                if spatial { "features" } else { "attributes" },
                identifier,
                description,
                min_x,
                min_y,
                max_x,
                max_y,
                spatial.then_some(4326)
            ],
        )?;
        if spatial {
            tx.execute_batch(&RTREE_TRIGGERS.replace("<t>", table))?;
            tx.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, 4326, 0, 0)",
                params![table, geometry_type],
            )?;
            tx.execute(
                "INSERT INTO gpkg_extensions VALUES (?1, 'geom', 'gpkg_rtree_index', \
                 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
                [table],
            )?;
        }
        tx.commit()?;
        Ok(count)
    }

    /// Runs `f` in one transaction on the open file, for tables this writer does not model
    /// (the QGIS `layer_styles` table); `f` registers what it creates itself.
    pub fn with_transaction<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, GpkgError> {
        let tx = self.conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Commits and closes the file.
    pub fn finish(self) -> Result<(), GpkgError> {
        self.conn.close().map_err(|(_, e)| GpkgError::Sqlite(e))
    }
}

/// Encodes a point as a StandardGeoPackageBinary blob: "GP", version 0, flags 0x01
/// (little endian, no envelope, not empty), srs_id (int32 LE), then a little-endian WKB Point.
pub fn encode_point(lon: f64, lat: f64, srs_id: i32) -> Vec<u8> {
    let mut b = Vec::with_capacity(29);
    b.extend_from_slice(&[b'G', b'P', 0, 0x01]);
    b.extend_from_slice(&srs_id.to_le_bytes());
    b.push(1); // WKB little endian
    b.extend_from_slice(&1u32.to_le_bytes()); // wkbPoint
    b.extend_from_slice(&lon.to_le_bytes());
    b.extend_from_slice(&lat.to_le_bytes());
    b
}

/// A geometry blob and its envelope `[min_x, max_x, min_y, max_y]`.
pub struct Blob {
    pub bytes: Vec<u8>,
    pub envelope: [f64; 4],
}

/// A geometry type a feature layer can hold (EPSG:4326).
pub trait LayerGeometry {
    /// The GeoPackage geometry type name of the `geom` column.
    const TYPE: &'static str;
    /// The StandardGeoPackageBinary blob; None for a NULL geometry.
    fn blob(&self) -> Option<Blob>;
}

/// A lon/lat point; NULL when a coordinate is not finite.
impl LayerGeometry for (f64, f64) {
    const TYPE: &'static str = "POINT";
    fn blob(&self) -> Option<Blob> {
        let &(x, y) = self;
        (x.is_finite() && y.is_finite()).then(|| Blob {
            bytes: encode_point(x, y, 4326),
            envelope: [x, x, y, y],
        })
    }
}

/// NULL when empty or when a coordinate is not finite.
impl LayerGeometry for MultiPolygon<f64> {
    const TYPE: &'static str = "MULTIPOLYGON";
    fn blob(&self) -> Option<Blob> {
        let envelope = envelope(self)?;
        Some(Blob {
            bytes: encode_multipolygon(self, 4326, envelope),
            envelope,
        })
    }
}

/// `[min_x, max_x, min_y, max_y]` of a multipolygon; None when it is empty or has a
/// non-finite coordinate.
fn envelope(g: &MultiPolygon<f64>) -> Option<[f64; 4]> {
    let mut e: Option<[f64; 4]> = None;
    for p in &g.0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for c in &ring.0 {
                if !(c.x.is_finite() && c.y.is_finite()) {
                    return None;
                }
                let b = e.get_or_insert([c.x, c.x, c.y, c.y]);
                *b = [b[0].min(c.x), b[1].max(c.x), b[2].min(c.y), b[3].max(c.y)];
            }
        }
    }
    e
}

/// Encodes a multipolygon as a StandardGeoPackageBinary blob: "GP", version 0, flags 0x03
/// (little endian, envelope `[minx, maxx, miny, maxy]`, not empty), srs_id, the envelope,
/// then a little-endian WKB MultiPolygon (type 6) of WKB Polygons (type 3).
pub fn encode_multipolygon(g: &MultiPolygon<f64>, srs_id: i32, envelope: [f64; 4]) -> Vec<u8> {
    let ring_bytes = |r: &LineString<f64>| 4 + 16 * r.0.len();
    let size: usize = g
        .0
        .iter()
        .map(|p| 9 + ring_bytes(p.exterior()) + p.interiors().iter().map(ring_bytes).sum::<usize>())
        .sum();
    let mut b = Vec::with_capacity(8 + 32 + 9 + size);
    b.extend_from_slice(&[b'G', b'P', 0, 0x03]);
    b.extend_from_slice(&srs_id.to_le_bytes());
    for v in envelope {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    b.push(1);
    b.extend_from_slice(&6u32.to_le_bytes()); // wkbMultiPolygon
    b.extend_from_slice(&count(g.0.len()));
    for p in &g.0 {
        b.push(1);
        b.extend_from_slice(&3u32.to_le_bytes()); // wkbPolygon
        b.extend_from_slice(&count(1 + p.interiors().len()));
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            b.extend_from_slice(&count(ring.0.len()));
            for c in &ring.0 {
                b.extend_from_slice(&c.x.to_le_bytes());
                b.extend_from_slice(&c.y.to_le_bytes());
            }
        }
    }
    b
}

/// Finds GDAL's `validate_gpkg.py` (env `VALIDATE_GPKG_SCRIPT`, python3-gdal's known
/// locations, then `dpkg -L python3-gdal`); a gzipped copy is decompressed into the temp dir.
pub fn find_validate_gpkg_script() -> Option<PathBuf> {
    use std::process::Command;
    let dpkg = Command::new("dpkg").args(["-L", "python3-gdal"]).output();
    let listing = dpkg.map_or(String::new(), |o| String::from_utf8_lossy(&o.stdout).into());
    let known = [
        "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py",
        "/usr/share/doc/python3-gdal/examples/validate_gpkg.py",
        "/usr/share/doc/python3-gdal/examples/validate_gpkg.py.gz",
    ];
    let listed = listing.lines().filter(|l| l.contains("/validate_gpkg.py"));
    let found = std::env::var_os("VALIDATE_GPKG_SCRIPT")
        .map(PathBuf::from)
        .into_iter()
        .chain(known.into_iter().chain(listed).map(PathBuf::from))
        .find(|p| p.is_file())?;
    if found.extension().is_none_or(|e| e != "gz") {
        return Some(found);
    }
    let out = Command::new("gzip").arg("-dc").arg(&found).output().ok()?;
    let dest = std::env::temp_dir().join("dcinv_validate_gpkg.py");
    (out.status.success() && std::fs::write(&dest, &out.stdout).is_ok()).then_some(dest)
}

fn check_name(name: &str) -> Result<(), GpkgError> {
    let mut chars = name.chars();
    let well_formed = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let lower = name.to_ascii_lowercase();
    let reserved = ["gpkg_", "sqlite_", "rtree_"]
        .iter()
        .any(|p| lower.starts_with(p));
    if well_formed && !reserved {
        Ok(())
    } else {
        Err(GpkgError::BadName(name.to_owned()))
    }
}

/// Validates the table and column names; columns must be unique and not clash with fid/geom.
fn check_schema(table: &str, columns: &[Column], spatial: bool) -> Result<(), GpkgError> {
    check_name(table)?;
    let mut seen: Vec<String> = vec!["fid".into()];
    if spatial {
        seen.push("geom".into());
    }
    for c in columns {
        check_name(&c.name)?;
        let lower = c.name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(GpkgError::BadName(c.name.clone()));
        }
        seen.push(lower);
    }
    Ok(())
}

fn check_row(table: &str, columns: &[Column], values: &[Value], row: u64) -> Result<(), GpkgError> {
    if values.len() != columns.len() {
        return Err(GpkgError::BadRow {
            table: table.to_owned(),
            expected: columns.len(),
            got: values.len(),
        });
    }
    for (c, v) in columns.iter().zip(values) {
        let bad = matches!(
            (c.ty, v),
            (
                ColumnType::Integer,
                Value::Text(_) | Value::Real(_) | Value::List(_)
            ) | (ColumnType::Real, Value::Text(_) | Value::List(_))
        );
        if bad {
            return Err(GpkgError::BadValue {
                table: table.to_owned(),
                column: c.name.clone(),
                row,
            });
        }
    }
    Ok(())
}

fn create_table_sql(table: &str, columns: &[Column], geometry_type: Option<&str>) -> String {
    let mut sql =
        format!("CREATE TABLE \"{table}\" (\"fid\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL");
    if let Some(t) = geometry_type {
        sql.push_str(&format!(", \"geom\" {t}"));
    }
    for c in columns {
        sql.push_str(&format!(", \"{}\" {}", c.name, c.ty.sql()));
    }
    sql.push_str(");");
    if geometry_type.is_some() {
        sql.push_str(&format!(
            "CREATE VIRTUAL TABLE \"rtree_{table}_geom\" USING rtree(id, minx, maxx, miny, maxy);"
        ));
    }
    sql
}

fn insert_sql(table: &str, columns: &[Column], spatial: bool) -> String {
    let names: Vec<String> = spatial
        .then(|| "\"geom\"".to_owned())
        .into_iter()
        .chain(columns.iter().map(|c| format!("\"{}\"", c.name)))
        .collect();
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    if names.is_empty() {
        return format!("INSERT INTO \"{table}\" DEFAULT VALUES");
    }
    format!(
        "INSERT INTO \"{table}\" ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sample(dir: &Path) -> PathBuf {
        let path = dir.join("sample.gpkg");
        let mut w = GpkgWriter::create(&path).unwrap();
        let cols = [Column::text("name"), Column::text("region")];
        let cols = [
            &cols[..],
            &[Column::integer("power_kw"), Column::real("m2")],
        ]
        .concat();
        let row = |name: &str, region: Option<&str>, kw: Option<i64>, m2: f64| {
            vec![name.into(), region.into(), kw.into(), m2.into()]
        };
        let rows = vec![
            (
                Some((2.3522, 48.8566)),
                row("Équinix PA2", Some("Île-de-France"), Some(1200), 5400.5),
            ),
            (
                Some((5.3698, 43.2965)),
                row("MRS1", Some("Provence-Alpes-Côte d'Azur"), None, f64::NAN),
            ),
            (None, row("Site sans coordonnées", None, Some(7), 12.0)),
        ];
        let n = w.add_feature_layer("datacenters", "Data centres", "Sites", &cols, rows);
        assert_eq!(n.unwrap(), 3);
        let cols = [Column::text("source"), Column::integer("n")];
        let src = vec![
            vec!["OSM".into(), 3i64.into()],
            vec!["Wikidata".into(), Value::Null],
        ];
        let n = w.add_attribute_table("sources", "Sources", "Où viennent les données", &cols, src);
        assert_eq!(n.unwrap(), 2);
        let rows = vec![
            (Some(two_squares()), vec!["campus".into(), 4000.0.into()]),
            (None, vec!["no outline".into(), Value::Null]),
            (
                Some(MultiPolygon::new(vec![])),
                vec!["empty".into(), Value::Null],
            ),
        ];
        let cols = [Column::text("name"), Column::real("area_m2")];
        let n = w.add_feature_layer("outlines", "Outlines", "Polygones", &cols, rows);
        assert_eq!(n.unwrap(), 3);
        w.finish().unwrap();
        path
    }

    /// A square with a square hole, and a second square: lon 2–3 and 4–5, lat 48–49.
    fn two_squares() -> MultiPolygon<f64> {
        use geo_types::{Polygon, polygon};
        let outer: Polygon<f64> = polygon!(
            exterior: [(x: 2.0, y: 48.0), (x: 3.0, y: 48.0), (x: 3.0, y: 49.0), (x: 2.0, y: 49.0), (x: 2.0, y: 48.0)],
            interiors: [[(x: 2.4, y: 48.4), (x: 2.4, y: 48.6), (x: 2.6, y: 48.6), (x: 2.6, y: 48.4), (x: 2.4, y: 48.4)]],
        );
        let second: Polygon<f64> =
            polygon![(x: 4.0, y: 48.0), (x: 5.0, y: 48.0), (x: 5.0, y: 48.5), (x: 4.0, y: 48.0)];
        MultiPolygon::new(vec![outer, second])
    }

    #[test]
    fn encodes_multipolygon_blob_with_envelope() {
        let g = two_squares();
        let env = envelope(&g).unwrap();
        assert_eq!(env, [2.0, 5.0, 48.0, 49.0]);
        let b = encode_multipolygon(&g, 4326, env);
        assert_eq!(&b[..8], &[b'G', b'P', 0, 3, 0xE6, 0x10, 0, 0]);
        let f = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        assert_eq!([f(8), f(16), f(24), f(32)], env);
        // byte order, type 6, two polygons; the first has two rings of five points.
        assert_eq!(&b[40..49], &[1, 6, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&b[49..58], &[1, 3, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&b[58..62], &[5, 0, 0, 0]);
        let rings = 2 * (4 + 5 * 16) + 9 + 4 + 4 * 16;
        assert_eq!(b.len(), 49 + 9 + rings);
        assert!(envelope(&MultiPolygon::new(vec![])).is_none());
    }

    #[test]
    fn encodes_point_blob() {
        let header = [b'G', b'P', 0, 1, 0xE6, 0x10, 0, 0, 1, 1, 0, 0, 0];
        let coords = [0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0, 0, 0, 0, 0, 0, 0, 0x40];
        assert_eq!(
            encode_point(1.0, 2.0, 4326),
            [&header[..], &coords].concat()
        );
    }

    /// A point-layer row: lon/lat, values.
    type PointRow = (Option<(f64, f64)>, Vec<Value>);

    fn no_points() -> Vec<PointRow> {
        Vec::new()
    }

    #[test]
    fn rejects_bad_names_and_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = GpkgWriter::create(&dir.path().join("x.gpkg")).unwrap();
        let ok = [Column::text("a")];
        for bad in ["", "1abc", "a-b", "é", "a b", "gpkg_x", "sqlite_x", "x\"y"] {
            let r = w.add_attribute_table(bad, "i", "", &ok, Vec::<Vec<Value>>::new());
            assert!(matches!(r, Err(GpkgError::BadName(_))), "{bad:?}");
            let r = w.add_feature_layer("t", "i", "", &[Column::real(bad)], no_points());
            assert!(matches!(r, Err(GpkgError::BadName(_))), "{bad:?}");
        }
        for dup in [Column::text("fid"), Column::text("Geom"), Column::real("A")] {
            let r = w.add_feature_layer("t", "i", "", &[Column::text("a"), dup], no_points());
            assert!(matches!(r, Err(GpkgError::BadName(_))));
        }
        let r = w.add_feature_layer("t", "i", "", &ok, vec![(Some((1.0, 2.0)), vec![])]);
        let bad_row = GpkgError::BadRow {
            table: "t".into(),
            expected: 1,
            got: 0,
        };
        assert_eq!(r.unwrap_err().to_string(), bad_row.to_string());
        let r = w.add_attribute_table(
            "t",
            "i",
            "",
            &[Column::integer("n")],
            vec![vec!["x".into()]],
        );
        assert!(matches!(r, Err(GpkgError::BadValue { .. })));
        // failed tables are rolled back, so the name is still free
        let r = w.add_attribute_table("t", "i", "", &ok, vec![vec!["x".into()]]);
        assert_eq!(r.unwrap(), 1);
        w.finish().unwrap();
        let r = GpkgWriter::create(&dir.path().join("x.gpkg"));
        assert!(matches!(r, Err(GpkgError::Exists(_))));
        assert_eq!(Value::from(f64::INFINITY), Value::Null);
        assert_eq!(Value::from(Some("a")), Value::Text("a".into()));
    }

    fn q<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> T {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_list_is_one_text_joined_by_semicolons_and_empty_is_null() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.gpkg");
        let mut w = GpkgWriter::create(&path).unwrap();
        let rows = vec![
            vec![Value::List(vec!["PA2".into(), "PA3".into()])],
            vec![Value::List(Vec::new())],
        ];
        w.add_attribute_table("l", "l", "", &[Column::text("codes")], rows)
            .unwrap();
        let r = w.add_attribute_table(
            "n",
            "n",
            "",
            &[Column::real("x")],
            vec![vec![Value::List(vec!["1".into()])]],
        );
        assert!(matches!(r, Err(GpkgError::BadValue { .. })));
        w.finish().unwrap();
        let c = Connection::open(&path).unwrap();
        let sql = "SELECT group_concat(coalesce(codes, 'NULL'), '|') FROM (SELECT codes FROM l ORDER BY fid)";
        assert_eq!(q::<String>(&c, sql), "PA2;PA3|NULL");
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let c = Connection::open(sample(dir.path())).unwrap();
        assert_eq!(q::<i64>(&c, "PRAGMA application_id"), 0x4750_4B47);
        assert_eq!(q::<i64>(&c, "PRAGMA user_version"), 10200);
        let sql = "SELECT name || '|' || region || '|' || power_kw || '|' || m2 FROM datacenters";
        assert_eq!(
            q::<String>(&c, sql),
            "Équinix PA2|Île-de-France|1200|5400.5"
        );
        let geom: Vec<u8> = q(&c, "SELECT geom FROM datacenters WHERE fid = 1");
        assert_eq!(geom, encode_point(2.3522, 48.8566, 4326));
        let sql =
            "SELECT count(*) FROM datacenters WHERE geom IS NULL AND power_kw = 7 AND m2 = 12";
        assert_eq!(q::<i64>(&c, sql), 1);
        let sql = "SELECT m2 IS NULL AND power_kw IS NULL FROM datacenters WHERE fid = 2";
        assert!(q::<bool>(&c, sql));
        assert_eq!(
            q::<i64>(&c, "SELECT count(*) FROM rtree_datacenters_geom"),
            2
        );
        let sql = "SELECT data_type || ' ' || min_x || ' ' || min_y || ' ' || max_x || ' ' || max_y \
                   || ' ' || srs_id FROM gpkg_contents WHERE table_name = 'datacenters'";
        assert_eq!(
            q::<String>(&c, sql),
            "features 2.3522 43.2965 5.3698 48.8566 4326"
        );
        let sql = "SELECT data_type || (SELECT count(*) FROM sources) || coalesce(srs_id, '-') \
                   FROM gpkg_contents WHERE table_name = 'sources'";
        assert_eq!(q::<String>(&c, sql), "attributes2-");
        let lc: String = q(&c, "SELECT last_change FROM gpkg_contents LIMIT 1");
        let pattern = "____-__-__T__:__:__.___Z";
        assert!(
            q::<bool>(&c, &format!("SELECT '{lc}' LIKE '{pattern}'")),
            "{lc}"
        );
        let sql = "SELECT (SELECT count(*) FROM gpkg_spatial_ref_sys) || (SELECT count(*) FROM \
                   gpkg_geometry_columns) || (SELECT count(*) FROM gpkg_extensions)";
        assert_eq!(q::<String>(&c, sql), "322");
        let sql =
            "SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = 'outlines'";
        assert_eq!(q::<String>(&c, sql), "MULTIPOLYGON");
        let sql =
            "SELECT minx || ' ' || maxx || ' ' || miny || ' ' || maxy FROM rtree_outlines_geom";
        assert_eq!(q::<String>(&c, sql), "2.0 5.0 48.0 49.0");
        let sql = "SELECT count(*) FROM outlines WHERE geom IS NULL";
        assert_eq!(q::<i64>(&c, sql), 2);
    }

    fn run(cmd: &mut Command) -> (bool, String) {
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &err,
        )
    }

    /// A referee that is missing skips the test, unless `DCINV_REQUIRE_GDAL` is set (CI):
    /// then the test fails, naming what is missing.
    fn skip_without(what: &str) {
        assert!(
            std::env::var_os("DCINV_REQUIRE_GDAL").is_none(),
            "DCINV_REQUIRE_GDAL is set but {what} is missing"
        );
        eprintln!("skipped: {what} is missing");
    }

    #[test]
    fn gdal_reads_and_validates() {
        if Command::new("ogrinfo").arg("--version").output().is_err() {
            skip_without("ogrinfo");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = sample(dir.path());
        let (ok, text) = run(Command::new("ogrinfo")
            .args(["-ro", "-al", "-so"])
            .arg(&path));
        assert!(ok && !text.to_lowercase().contains("error"), "{text}");
        for (layer, n) in [("datacenters", 3), ("sources", 2), ("outlines", 3)] {
            let mut blocks = text.split("Layer name: ");
            let block = blocks.find(|b| b.starts_with(layer)).expect(&text);
            assert!(block.contains(&format!("Feature Count: {n}")), "{block}");
        }
        assert!(
            text.contains("Geometry: Point") && text.contains("\"EPSG\",4326"),
            "{text}"
        );
        assert!(text.contains("Geometry: Multi Polygon"), "{text}");
        let (ok, text) = run(Command::new("ogrinfo").args(["-ro", "-al"]).arg(&path));
        let wanted = [
            "Île-de-France",
            "Côte d'Azur",
            "POINT (2.3522 48.8566)",
            "Où viennent",
            "MULTIPOLYGON (((2 48,3 48,3 49,2 49,2 48),(2.4 48.4,2.4 48.6,2.6 48.6,2.6 48.4,2.4 48.4)),((4 48,5 48,",
        ];
        assert!(ok && wanted.iter().all(|w| text.contains(w)), "{text}");

        let Some(script) = find_validate_gpkg_script() else {
            skip_without("validate_gpkg.py");
            return;
        };
        for extra in [&[][..], &["-k", "--extra", "--warning-as-error"]] {
            let mut cmd = Command::new("/usr/bin/python3");
            let (ok, text) = run(cmd.arg(&script).args(extra).arg(&path));
            let lower = text.to_lowercase();
            assert!(
                ok && !lower.contains("error"),
                "validate_gpkg.py {extra:?}: {text}"
            );
        }
    }
}
