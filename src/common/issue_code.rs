//! The stable data-issue codes, one enum for every stage (adapters, locate, facts, the
//! cadastre reader, the OSM readers): a code in → its snake_case name out, and back. Adding a
//! code is fine; renaming one is a breaking change (it is stored in `data_issues.code`, the
//! parse cache and `changes.json`).

use std::fmt;

/// Declares the enum with each code's stored name next to its variant, so a name is written
/// once.
macro_rules! issue_codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// A stable data-issue code.
        /// Ordered by its stored name, so that sorted issues read alphabetically.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum IssueCode {
            $( $(#[$doc])* $variant, )*
        }

        impl IssueCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [IssueCode] = &[$(IssueCode::$variant),*];

            /// The stored snake_case name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(IssueCode::$variant => $name,)*
                }
            }
        }
    };
}

issue_codes! {
    /// Latitude and longitude were swapped in the source; repaired.
    CoordsSwapped = "coords_swapped",
    /// No usable coordinates; kept if a postcode or commune can locate it.
    MissingCoords = "missing_coords",
    /// Coordinates that are not numbers or out of range.
    InvalidCoords = "invalid_coords",
    /// The point is not in France (nor within tolerance of its border/coast).
    OutsideFrance = "outside_france",
    /// The point fell just outside the simplified boundaries and was snapped to the nearest département.
    SnappedToBoundary = "snapped_to_boundary",
    /// Located by postcode because the point is missing.
    LocatedByPostcode = "located_by_postcode",
    /// Located at the commune named by the source because the point is missing.
    LocatedByCommune = "located_by_commune",
    /// Neither point, postcode nor commune: cannot be placed.
    Unlocatable = "unlocatable",
    /// A value that is not an OSM id sat in the id column (shifted columns).
    IdNotOsm = "id_not_osm",
    /// A JavaScript object leaked into a field as `[object Object]`.
    ObjectObjectValue = "object_object_value",
    /// A field held an embedded newline; normalised to a space.
    EmbeddedNewline = "embedded_newline",
    /// The same record key twice in a source; later copies dropped.
    DuplicateRecord = "duplicate_record",
    /// Same coordinates and same attributes as an earlier row; kept (reconciliation merges them).
    DuplicatePoint = "duplicate_point",
    /// A value the source marks as a default, not an observation (e.g. `capacity_source = iea_default`).
    DefaultValueNotObserved = "default_value_not_observed",
    /// A power or surface string that could not be read as a number with a unit.
    UnparsedQuantity = "unparsed_quantity",
    /// A row with fewer or more fields than the header.
    RowShapeMismatch = "row_shape_mismatch",
    /// A feature without geometry or with a geometry that is not a point.
    BadGeometry = "bad_geometry",
    /// A record that is not a data centre (e.g. an internet exchange point listed as a hub).
    NotADataCentre = "not_a_data_centre",
    /// A fact about several sites (an operator total) that is kept as a published figure, not a site.
    AggregateFact = "aggregate_fact",
    /// A record with no name, operator, code or address: only a point.
    AnonymousPoint = "anonymous_point",
    /// A placeholder (`Unknown`, `n/a`) where a value should be; ignored.
    PlaceholderValue = "placeholder_value",
    /// A site's commune has no cadastre parcel file (not published, not in the mirror, or the
    /// download failed): its facilities get no parcel.
    CadastreCommuneMissing = "cadastre_commune_missing",
    /// A commune's parcel file could not be read (cut short, not gzip, too large, bad JSON).
    CadastreFileUnreadable = "cadastre_file_unreadable",
    /// A parcel's `contenance` absent, `null` or not a number: the parcel is kept with
    /// `contenance_m2: None`.
    ParcelMissingContenance = "parcel_missing_contenance",
    /// A parcel ring with fewer than 4 positions, not closed, with a coordinate outside
    /// lon/lat range, or of zero area: the ring is dropped (its polygon too when it is the
    /// exterior ring); the parcel is dropped when no polygon is left. Counted once per parcel.
    ParcelInvalidRing = "parcel_invalid_ring",
    /// A parcel without usable geometry (null, not a Polygon/MultiPolygon, wrong nesting, a
    /// position with fewer than two numbers): the parcel is dropped.
    ParcelBadGeometry = "parcel_bad_geometry",
    /// A parcel with neither `properties.id` nor the feature `id`: dropped.
    ParcelMissingId = "parcel_missing_id",
    /// An element of a parcel file's `features` that is not an object: skipped.
    ParcelNotAnObject = "parcel_not_an_object",
    /// A parcel feature whose own JSON is broken (a missing comma, a bad number, bytes that
    /// are not UTF-8 in a name) although its extent is clear: the parcel is dropped.
    ParcelUnreadable = "parcel_unreadable",
    /// The source lists the object as deleted (PeeringDB `status = "deleted"`).
    DeletedAtSource = "deleted_at_source",
    /// A web page whose site-block selector matches nothing: its layout changed (or it is
    /// not a site page); nothing was read from it.
    PageLayoutChanged = "page_layout_changed",
    /// A site block of a web page without a field the catalog requires (name, code,
    /// address, figures); the block was dropped.
    PageFieldMissing = "page_field_missing",
    /// Bytes of a record that are not UTF-8: decoded lossily (U+FFFD), the byte offset named.
    InvalidUtf8 = "invalid_utf8",
    /// A NUL byte in a record: removed.
    NulByte = "nul_byte",
    /// A raw control character inside a JSON string (not allowed by JSON): made a space.
    ControlCharacter = "control_character",
    /// A feature or entry that is not a JSON object: dropped.
    NotAnObject = "not_an_object",
    /// A number out of the f64 range, `NaN` or `Infinity`: the value is ignored.
    NonFiniteNumber = "non_finite_number",
    /// A value of the wrong JSON type (an object where a text or a number is expected).
    WrongJsonType = "wrong_json_type",
    /// A field longer than the per-field cap: the value is ignored.
    OversizedField = "oversized_field",
    /// A disclosed fact about a typical building or a past state of a site, with no building
    /// of its operator on record in its commune to attach to: not a site, so not kept.
    FactUnattached = "fact_unattached",
    /// A relation's member way is not in the input: the relation gets no geometry.
    OsmMultipolygonMissingWay = "osm_multipolygon_missing_way",
    /// The rings of an area cannot all be closed (a way end meets no other way end).
    OsmRingNotClosed = "osm_ring_not_closed",
    /// A way or ring has fewer than three distinct points: no area.
    OsmRingTooShort = "osm_ring_too_short",
    /// Two segments of the rings of an area cross or overlap: no area.
    OsmRingSelfIntersection = "osm_ring_self_intersection",
    /// A way node has no location in the input: the way gets no geometry.
    OsmWayMissingNode = "osm_way_missing_node",
    /// A ring tagged `outer` lies inside another ring, or one tagged `inner` does not: the geometry
    /// (nesting) decides, the area is kept.
    OsmMultipolygonRoleMismatch = "osm_multipolygon_role_mismatch",
    /// A matching way is not closed (or tagged `area=no`): no polygon (Overpass input only; the PBF
    /// reader counts these in `PbfStats::ways_not_area`).
    OsmWayNotArea = "osm_way_not_area",
    /// A matching relation is not a multipolygon (or boundary) relation and has no centre.
    OsmRelationNotArea = "osm_relation_not_area",
    /// An Overpass element carries neither coordinates, geometry nor a centre.
    OsmNoGeometry = "osm_no_geometry",
}

impl IssueCode {
    /// The code of a stored or catalog-written name.
    pub fn lookup(name: &str) -> Option<IssueCode> {
        IssueCode::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl Ord for IssueCode {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for IssueCode {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for IssueCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for IssueCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<str> for IssueCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for IssueCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::IssueCode;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_snake_case_and_round_trip() {
        let mut seen = HashSet::new();
        for &c in IssueCode::ALL {
            let name = c.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert_eq!(IssueCode::lookup(name), Some(c));
        }
        assert_eq!(IssueCode::lookup("no_such_code"), None);
        assert_eq!(
            serde_json::to_string(&IssueCode::RowShapeMismatch).unwrap(),
            "\"row_shape_mismatch\""
        );
    }
}
