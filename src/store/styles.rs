//! QGIS default styles: the layers of `inventory.gpkg` → a `layer_styles` table (the table
//! and columns QGIS and OGR create when a style is saved into a GeoPackage, registered in
//! `gpkg_contents` as attributes) with one default QML style and one SLD 1.1 style per layer:
//! facilities categorised by typology and sized by central IT MW, footprints and parcels
//! outlined, source records muted. QGIS applies a layer's default style when it opens it.

use std::fmt::Write as _;

use rusqlite::params;

use super::gpkg::{GpkgError, GpkgWriter};
use crate::estimate::typology::TYPOLOGY_COLOURS;

/// The table name and DDL QGIS uses (`QgsOgrProviderUtils` via OGR).
pub const TABLE: &str = "layer_styles";
const CREATE: &str = r#"CREATE TABLE "layer_styles" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  "f_table_catalog" TEXT(256),
  "f_table_schema" TEXT(256),
  "f_table_name" TEXT(256),
  "f_geometry_column" TEXT(256),
  "styleName" TEXT(30),
  "styleQML" TEXT,
  "styleSLD" TEXT,
  "useAsDefault" BOOLEAN,
  "description" TEXT,
  "owner" TEXT(30),
  "ui" TEXT(30),
  "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"#;

/// The QGIS expression that sizes a facility marker (mm) by its central IT MW.
pub const SIZE_EXPRESSION: &str = r#"coalesce(scale_exp("it_mw_central", 0, 100, 2, 14, 0.5), 2)"#;

/// One style row.
#[derive(Debug, Clone)]
pub struct LayerStyle {
    pub table: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub qml: String,
    pub sld: String,
}

fn rgba(hex: &str, alpha: u8) -> String {
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
    format!("{},{},{},{alpha}", c(1), c(3), c(5))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn options(pairs: &[(&str, &str)]) -> String {
    let mut o = String::from("<Option type=\"Map\">");
    for (k, v) in pairs {
        let _ = write!(
            o,
            "<Option name=\"{k}\" type=\"QString\" value=\"{}\"/>",
            xml_escape(v)
        );
    }
    o.push_str("</Option>");
    o
}

fn size_property(expression: &str) -> String {
    format!(
        "<data_defined_properties><Option type=\"Map\"><Option name=\"name\" type=\"QString\" value=\"\"/>\
         <Option name=\"properties\" type=\"Map\"><Option name=\"size\" type=\"Map\">\
         <Option name=\"active\" type=\"bool\" value=\"true\"/>\
         <Option name=\"expression\" type=\"QString\" value=\"{}\"/>\
         <Option name=\"type\" type=\"int\" value=\"3\"/></Option></Option>\
         <Option name=\"type\" type=\"QString\" value=\"collection\"/></Option></data_defined_properties>",
        xml_escape(expression)
    )
}

fn marker(name: &str, fill: &str, outline: &str, size: &str, sized_by: Option<&str>) -> String {
    let layer = options(&[
        ("name", "circle"),
        ("color", fill),
        ("outline_color", outline),
        ("outline_width", "0.2"),
        ("outline_width_unit", "MM"),
        ("size", size),
        ("size_unit", "MM"),
    ]);
    format!(
        "<symbol type=\"marker\" name=\"{name}\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">\
         <layer class=\"SimpleMarker\" pass=\"0\" locked=\"0\" enabled=\"1\">{layer}{}</layer></symbol>",
        sized_by.map(size_property).unwrap_or_default()
    )
}

fn outline(name: &str, colour: &str, width: &str, style: &str) -> String {
    let layer = options(&[
        ("color", "0,0,0,0"),
        ("style", "no"),
        ("outline_color", colour),
        ("outline_style", style),
        ("outline_width", width),
        ("outline_width_unit", "MM"),
    ]);
    format!(
        "<symbol type=\"fill\" name=\"{name}\" alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">\
         <layer class=\"SimpleFill\" pass=\"0\" locked=\"0\" enabled=\"1\">{layer}</layer></symbol>"
    )
}

fn qml(renderer: &str, opacity: &str) -> String {
    format!(
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n\
         <qgis version=\"3.34.0-Prizren\" styleCategories=\"Symbology\">\n{renderer}\n\
         <blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>\
         <layerOpacity>{opacity}</layerOpacity>\n</qgis>\n"
    )
}

fn single(symbol: String) -> String {
    format!(
        "<renderer-v2 type=\"singleSymbol\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\">\
         <symbols>{symbol}</symbols></renderer-v2>"
    )
}

fn facilities_qml() -> String {
    let mut categories = String::new();
    let mut symbols = String::new();
    for (i, (typology, hex)) in TYPOLOGY_COLOURS.iter().enumerate() {
        let _ = write!(
            categories,
            "<category symbol=\"{i}\" value=\"{typology}\" label=\"{typology}\" render=\"true\"/>"
        );
        symbols.push_str(&marker(
            &i.to_string(),
            &rgba(hex, 230),
            "255,255,255,255",
            "3",
            Some(SIZE_EXPRESSION),
        ));
    }
    let other = TYPOLOGY_COLOURS.len();
    let _ = write!(
        categories,
        "<category symbol=\"{other}\" value=\"\" label=\"other\" render=\"true\"/>"
    );
    symbols.push_str(&marker(
        &other.to_string(),
        "0,0,0,200",
        "255,255,255,255",
        "3",
        Some(SIZE_EXPRESSION),
    ));
    qml(
        &format!(
            "<renderer-v2 type=\"categorizedSymbol\" attr=\"typology\" symbollevels=\"0\" \
             enableorderby=\"1\" forceraster=\"0\"><categories>{categories}</categories>\
             <symbols>{symbols}</symbols><orderby><orderByClause asc=\"0\" nullsFirst=\"0\">\
             \"it_mw_central\"</orderByClause></orderby></renderer-v2>"
        ),
        "1",
    )
}

fn sld(layer: &str, rules: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <StyledLayerDescriptor xmlns=\"http://www.opengis.net/sld\" \
         xmlns:ogc=\"http://www.opengis.net/ogc\" xmlns:se=\"http://www.opengis.net/se\" \
         xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" version=\"1.1.0\" \
         xsi:schemaLocation=\"http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd\">\
         <NamedLayer><se:Name>{layer}</se:Name><UserStyle><se:Name>{layer}</se:Name>\
         <se:FeatureTypeStyle>{rules}</se:FeatureTypeStyle></UserStyle></NamedLayer>\
         </StyledLayerDescriptor>\n"
    )
}

fn sld_point(fill: &str, opacity: &str, size: &str) -> String {
    format!(
        "<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>\
         <se:Fill><se:SvgParameter name=\"fill\">{fill}</se:SvgParameter>\
         <se:SvgParameter name=\"fill-opacity\">{opacity}</se:SvgParameter></se:Fill>\
         <se:Stroke><se:SvgParameter name=\"stroke\">#ffffff</se:SvgParameter>\
         <se:SvgParameter name=\"stroke-width\">0.5</se:SvgParameter></se:Stroke></se:Mark>\
         <se:Size>{size}</se:Size></se:Graphic></se:PointSymbolizer>"
    )
}

/// SLD has no scale expression here: facility markers grow with the square root of IT MW.
fn facilities_sld() -> String {
    let size = "<ogc:Add><ogc:Literal>6</ogc:Literal><ogc:Mul><ogc:Literal>3</ogc:Literal>\
                <ogc:Function name=\"sqrt\"><ogc:PropertyName>it_mw_central</ogc:PropertyName>\
                </ogc:Function></ogc:Mul></ogc:Add>";
    let rules: String = TYPOLOGY_COLOURS
        .iter()
        .map(|(t, hex)| {
            format!(
                "<se:Rule><se:Name>{t}</se:Name><ogc:Filter><ogc:PropertyIsEqualTo>\
                 <ogc:PropertyName>typology</ogc:PropertyName><ogc:Literal>{t}</ogc:Literal>\
                 </ogc:PropertyIsEqualTo></ogc:Filter>{}</se:Rule>",
                sld_point(hex, "0.9", size)
            )
        })
        .collect();
    sld("facilities", &rules)
}

fn polygon_sld(layer: &str, colour: &str, width: &str, dash: Option<&str>) -> String {
    let dash = dash
        .map(|d| format!("<se:SvgParameter name=\"stroke-dasharray\">{d}</se:SvgParameter>"))
        .unwrap_or_default();
    sld(
        layer,
        &format!(
            "<se:Rule><se:Name>{layer}</se:Name><se:PolygonSymbolizer><se:Stroke>\
             <se:SvgParameter name=\"stroke\">{colour}</se:SvgParameter>\
             <se:SvgParameter name=\"stroke-width\">{width}</se:SvgParameter>{dash}\
             </se:Stroke></se:PolygonSymbolizer></se:Rule>"
        ),
    )
}

/// The default style of each styled layer.
pub fn styles() -> Vec<LayerStyle> {
    let records_rule = format!(
        "<se:Rule><se:Name>source_records</se:Name>{}</se:Rule>",
        sld_point("#9e9e9e", "0.45", "4")
    );
    vec![
        LayerStyle {
            table: "facilities",
            name: "dcinv facilities",
            description: "Categorised by typology, marker size by central IT MW (largest drawn first)",
            qml: facilities_qml(),
            sld: facilities_sld(),
        },
        LayerStyle {
            table: "footprints",
            name: "dcinv footprints",
            description: "Building outlines, no fill",
            qml: qml(&single(outline("0", "139,0,0,255", "0.6", "solid")), "1"),
            sld: polygon_sld("footprints", "#8b0000", "2", None),
        },
        LayerStyle {
            table: "parcels",
            name: "dcinv parcels",
            description: "Cadastral parcels, dashed outline, no fill",
            qml: qml(&single(outline("0", "230,120,0,255", "0.4", "dash")), "1"),
            sld: polygon_sld("parcels", "#e67800", "1.5", Some("5 3")),
        },
        LayerStyle {
            table: "source_records",
            name: "dcinv source records",
            description: "Every source record, small and muted grey",
            qml: qml(
                &single(marker("0", "158,158,158,110", "255,255,255,0", "1.6", None)),
                "0.6",
            ),
            sld: sld("source_records", &records_rule),
        },
    ]
}

/// Creates `layer_styles`, registers it in `gpkg_contents` and writes one default style per
/// layer. Returns the rows written.
pub fn write(w: &mut GpkgWriter) -> Result<usize, GpkgError> {
    let styles = styles();
    w.with_transaction(|tx| {
        tx.execute_batch(CREATE)?;
        tx.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) \
             VALUES (?1, 'attributes', ?1, 'QGIS default layer styles (QML and SLD)', \
             strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            [TABLE],
        )?;
        let mut ins = tx.prepare(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, \
             f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) \
             VALUES ('', '', ?1, 'geom', ?2, ?3, ?4, 1, ?5, 'dcinv', NULL)",
        )?;
        for s in &styles {
            ins.execute(params![s.table, s.name, s.qml, s.sld, s.description])?;
        }
        Ok(styles.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::gpkg::Column;
    use rusqlite::Connection;

    #[test]
    fn every_style_is_well_formed_xml() {
        for s in styles() {
            let dtd = roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            };
            let qml = roxmltree::Document::parse_with_options(&s.qml, dtd)
                .unwrap_or_else(|e| panic!("{} QML: {e}\n{}", s.table, s.qml));
            assert_eq!(qml.root_element().tag_name().name(), "qgis");
            let renderer = qml
                .descendants()
                .find(|n| n.has_tag_name("renderer-v2"))
                .unwrap();
            let sld = roxmltree::Document::parse(&s.sld)
                .unwrap_or_else(|e| panic!("{} SLD: {e}\n{}", s.table, s.sld));
            assert_eq!(
                sld.root_element().tag_name().name(),
                "StyledLayerDescriptor"
            );
            let named = sld
                .descendants()
                .find(|n| n.has_tag_name(("http://www.opengis.net/se", "Name")))
                .and_then(|n| n.text());
            assert_eq!(named, Some(s.table));
            if s.table == "facilities" {
                assert_eq!(renderer.attribute("type"), Some("categorizedSymbol"));
                assert_eq!(renderer.attribute("attr"), Some("typology"));
                let values: Vec<&str> = qml
                    .descendants()
                    .filter(|n| n.has_tag_name("category"))
                    .filter_map(|n| n.attribute("value"))
                    .collect();
                assert_eq!(values.len(), TYPOLOGY_COLOURS.len() + 1);
                assert!(values.contains(&"hyperscale") && values.contains(&""));
                let sized = qml.descendants().filter(|n| {
                    n.attribute("name") == Some("expression")
                        && n.attribute("value") == Some(SIZE_EXPRESSION)
                });
                assert_eq!(sized.count(), TYPOLOGY_COLOURS.len() + 1);
            } else {
                assert_eq!(renderer.attribute("type"), Some("singleSymbol"));
            }
            if matches!(s.table, "footprints" | "parcels") {
                let no_fill = qml.descendants().any(|n| {
                    n.attribute("name") == Some("style") && n.attribute("value") == Some("no")
                });
                assert!(no_fill, "{} has a fill", s.table);
            }
        }
    }

    #[test]
    fn writes_the_qgis_table_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.gpkg");
        let mut w = GpkgWriter::create(&path).unwrap();
        let cols = [Column::text("typology")];
        for t in ["facilities", "source_records"] {
            w.add_feature_layer(
                t,
                t,
                "",
                &cols,
                vec![(Some((2.0, 48.0)), vec!["edge".into()])],
            )
            .unwrap();
        }
        for t in ["footprints", "parcels"] {
            let rows: Vec<(Option<geo_types::MultiPolygon<f64>>, _)> = vec![];
            w.add_feature_layer(t, t, "", &cols, rows).unwrap();
        }
        assert_eq!(write(&mut w).unwrap(), 4);
        w.finish().unwrap();
        let c = Connection::open(&path).unwrap();
        let mut stmt = c.prepare("PRAGMA table_info(layer_styles)").unwrap();
        let cols: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let want = [
            ("id", "INTEGER"),
            ("f_table_catalog", "TEXT(256)"),
            ("f_table_schema", "TEXT(256)"),
            ("f_table_name", "TEXT(256)"),
            ("f_geometry_column", "TEXT(256)"),
            ("styleName", "TEXT(30)"),
            ("styleQML", "TEXT"),
            ("styleSLD", "TEXT"),
            ("useAsDefault", "BOOLEAN"),
            ("description", "TEXT"),
            ("owner", "TEXT(30)"),
            ("ui", "TEXT(30)"),
            ("update_time", "DATETIME"),
        ];
        let got: Vec<(&str, &str)> = cols.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(got, want);
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM layer_styles l JOIN gpkg_geometry_columns g \
                 ON g.table_name = l.f_table_name AND g.column_name = l.f_geometry_column \
                 WHERE l.useAsDefault = 1 AND l.update_time LIKE '____-__-__T%Z'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 4);
        let kind: String = c
            .query_row(
                "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kind, "attributes");
    }
}
