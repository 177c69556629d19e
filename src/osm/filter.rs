//! Tag filters. In: an element's tags as `(key, value)` pairs. Out: whether it is a data centre
//! and its lifecycle status (`DataCentreFilter`), or whether it matches `KEY` / `KEY=VALUE`
//! expressions (`TagFilters`, OR-ed). Each filter also gives a `BlockHint`: strings that must be
//! in a PBF block's string table for any element of the block to match, which lets the PBF
//! reader skip most blocks after decompressing only their string table.

use super::OsmError;

/// The two spellings of the data-centre value, accepted on every data-centre key.
pub const DC_VALUES: [&str; 2] = ["data_center", "data_centre"];
/// Keys whose value says "this is a data centre". `building` describes the structure, the
/// others the use.
pub const DC_KEYS: [&str; 4] = ["telecom", "building", "building:use", "man_made"];
/// Lifecycle prefixes (`construction:telecom=data_center`) and the status each one means.
pub const LIFECYCLE_PREFIXES: [(&str, DcStatus); 4] = [
    ("construction", DcStatus::UnderConstruction),
    ("proposed", DcStatus::Project),
    ("disused", DcStatus::Disused),
    ("abandoned", DcStatus::Abandoned),
];
/// Telephone exchanges and central offices: excluded unless `include_exchanges`.
pub const EXCHANGE_TAGS: [(&str, &str); 4] = [
    ("telecom", "exchange"),
    ("telecom", "central_office"),
    ("building", "telephone_exchange"),
    ("man_made", "telephone_office"),
];

/// Lifecycle status of a data centre, from its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DcStatus {
    Operating,
    UnderConstruction,
    Project,
    Disused,
    Abandoned,
}

impl DcStatus {
    /// `operating`, `under_construction`, `project`, `disused`, `abandoned`.
    pub fn as_str(self) -> &'static str {
        match self {
            DcStatus::Operating => "operating",
            DcStatus::UnderConstruction => "under_construction",
            DcStatus::Project => "project",
            DcStatus::Disused => "disused",
            DcStatus::Abandoned => "abandoned",
        }
    }
}

/// What kind of telecom building matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DcKind {
    DataCentre,
    /// Only with `DataCentreFilter::include_exchanges`.
    TelephoneExchange,
}

impl DcKind {
    /// `data_centre` or `telephone_exchange`.
    pub fn as_str(self) -> &'static str {
        match self {
            DcKind::DataCentre => "data_centre",
            DcKind::TelephoneExchange => "telephone_exchange",
        }
    }
}

/// Why an element is a data centre: kind, status and the deciding tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcMatch {
    pub kind: DcKind,
    pub status: DcStatus,
    pub key: String,
    pub value: String,
}

/// Decides from tags whether an element is a data centre (see the module doc for the tags).
///
/// Status: a plain use key (`telecom`, `building:use`, `man_made`) means operating; otherwise a
/// lifecycle-prefixed key gives its status (construction before proposed before disused before
/// abandoned, when several are present); otherwise a plain `building=data_center` means
/// operating; otherwise `construction=data_center` + `building=construction` means under
/// construction. An operating match with `disused=yes` / `abandoned=yes` is disused / abandoned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataCentreFilter {
    /// Also match telephone exchanges and central offices (`DcKind::TelephoneExchange`).
    pub include_exchanges: bool,
}

impl DataCentreFilter {
    pub fn new(include_exchanges: bool) -> Self {
        DataCentreFilter { include_exchanges }
    }

    /// `Some(match)` when the tags make the element a data centre (or an exchange, if enabled).
    pub fn classify(&self, tags: &[(&str, &str)]) -> Option<DcMatch> {
        if let Some(found) = classify_with(tags, &|v| DC_VALUES.contains(&v), &|_, v| {
            DC_VALUES.contains(&v)
        }) {
            return Some(found.into_match(DcKind::DataCentre));
        }
        if self.include_exchanges {
            let is_exchange = |k: &str, v: &str| EXCHANGE_TAGS.contains(&(k, v));
            let found = classify_with(tags, &|_| false, &is_exchange)?;
            return Some(found.into_match(DcKind::TelephoneExchange));
        }
        None
    }

    /// `true` when `classify` would return a match (the PBF reader's filter).
    pub fn matches(&self, tags: &[(&str, &str)]) -> bool {
        self.classify(tags).is_some()
    }

    /// One of these values must be in a PBF block for any element in it to match.
    pub fn block_hint(&self) -> BlockHint {
        let mut values: Vec<&str> = DC_VALUES.to_vec();
        if self.include_exchanges {
            values.extend(EXCHANGE_TAGS.iter().map(|(_, v)| *v));
        }
        BlockHint::any_of(&values)
    }

    /// The same filter as `TagFilters` expressions (`KEY=VALUE`, OR-ed), for `osm-extract
    /// --tag` and peer tools. It is a superset: `construction=data_center` is listed without
    /// its `building=construction` condition.
    pub fn as_tag_expressions(&self) -> Vec<String> {
        let mut out = Vec::new();
        for key in DC_KEYS {
            let mut keys = vec![key.to_string()];
            keys.extend(LIFECYCLE_PREFIXES.iter().map(|(p, _)| format!("{p}:{key}")));
            for k in keys {
                for v in DC_VALUES {
                    out.push(format!("{k}={v}"));
                }
            }
        }
        for v in DC_VALUES {
            out.push(format!("construction={v}"));
        }
        if self.include_exchanges {
            for (k, v) in EXCHANGE_TAGS {
                out.push(format!("{k}={v}"));
                for (p, _) in LIFECYCLE_PREFIXES {
                    out.push(format!("{p}:{k}={v}"));
                }
            }
        }
        out
    }
}

struct Found<'a> {
    status: DcStatus,
    key: &'a str,
    value: &'a str,
}

impl Found<'_> {
    fn into_match(self, kind: DcKind) -> DcMatch {
        DcMatch {
            kind,
            status: self.status,
            key: self.key.to_string(),
            value: self.value.to_string(),
        }
    }
}

/// The status rules of `DataCentreFilter`, for one family of tags: `is_tag(key, value)` says
/// whether a plain `key=value` names the facility; `construction_value(v)` whether
/// `construction=v` (with `building=construction`) does.
fn classify_with<'a>(
    tags: &[(&'a str, &'a str)],
    construction_value: &dyn Fn(&str) -> bool,
    is_tag: &dyn Fn(&str, &str) -> bool,
) -> Option<Found<'a>> {
    let mut plain_use: Option<(&str, &str)> = None;
    let mut plain_building: Option<(&str, &str)> = None;
    let mut lifecycle: Option<(usize, &str, &str)> = None;
    for &(k, v) in tags {
        if DC_KEYS.contains(&k) && is_tag(k, v) {
            if k == "building" {
                plain_building.get_or_insert((k, v));
            } else {
                plain_use.get_or_insert((k, v));
            }
            continue;
        }
        if let Some((prefix, rest)) = k.split_once(':')
            && DC_KEYS.contains(&rest)
            && is_tag(rest, v)
            && let Some(rank) = LIFECYCLE_PREFIXES.iter().position(|(p, _)| *p == prefix)
            && lifecycle.is_none_or(|(r, _, _)| rank < r)
        {
            lifecycle = Some((rank, k, v));
        }
    }
    let tag = |key: &str| tags.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let modified = |key: &'a str, value: &'a str| {
        let status = if tag("disused") == Some("yes") {
            DcStatus::Disused
        } else if tag("abandoned") == Some("yes") {
            DcStatus::Abandoned
        } else {
            DcStatus::Operating
        };
        Found { status, key, value }
    };
    if let Some((k, v)) = plain_use {
        return Some(modified(k, v));
    }
    if let Some((rank, k, v)) = lifecycle {
        return Some(Found {
            status: LIFECYCLE_PREFIXES[rank].1,
            key: k,
            value: v,
        });
    }
    if let Some((k, v)) = plain_building {
        return Some(modified(k, v));
    }
    if tag("building") == Some("construction")
        && let Some(v) = tag("construction")
        && construction_value(v)
    {
        return Some(Found {
            status: DcStatus::UnderConstruction,
            key: "construction",
            value: v,
        });
    }
    None
}

/// One `KEY` or `KEY=VALUE` expression: the element has the key (any value) or the exact tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    pub key: String,
    pub value: Option<String>,
}

impl TagFilter {
    /// Parses `KEY` or `KEY=VALUE` (split at the first `=`; surrounding spaces trimmed).
    pub fn parse(text: &str) -> Result<TagFilter, OsmError> {
        let err = |message: &str| OsmError::Filter {
            text: text.to_string(),
            message: message.to_string(),
        };
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (text.trim(), None),
        };
        if key.is_empty() {
            return Err(err("the key is empty (expected KEY or KEY=VALUE)"));
        }
        if value == Some("") {
            return Err(err(
                "the value after `=` is empty (use KEY alone for any value)",
            ));
        }
        Ok(TagFilter {
            key: key.to_string(),
            value: value.map(str::to_string),
        })
    }

    pub fn matches(&self, tags: &[(&str, &str)]) -> bool {
        tags.iter()
            .any(|(k, v)| *k == self.key && self.value.as_deref().is_none_or(|want| want == *v))
    }
}

impl std::fmt::Display for TagFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}", self.key, v),
            None => f.write_str(&self.key),
        }
    }
}

/// Several `TagFilter`s, OR-ed (the repeatable `--tag` option).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagFilters(pub Vec<TagFilter>);

impl TagFilters {
    /// Parses each expression; an empty list is an error (it would match nothing).
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<TagFilters, OsmError> {
        if texts.is_empty() {
            return Err(OsmError::Filter {
                text: String::new(),
                message: "give at least one KEY or KEY=VALUE".to_string(),
            });
        }
        let filters = texts
            .iter()
            .map(|t| TagFilter::parse(t.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TagFilters(filters))
    }

    pub fn matches(&self, tags: &[(&str, &str)]) -> bool {
        self.0.iter().any(|f| f.matches(tags))
    }

    /// A block can hold a match only if, for some expression, its key (and value) are in the
    /// block's string table.
    pub fn block_hint(&self) -> BlockHint {
        BlockHint::new(
            self.0
                .iter()
                .map(|f| {
                    let mut strings = vec![f.key.clone()];
                    strings.extend(f.value.clone());
                    strings
                })
                .collect(),
        )
    }
}

/// A necessary condition for a PBF block to hold a matching element: for at least one
/// alternative, every string of it is in the block's string table. A filter must never match
/// an element whose tags do not contain all strings of some alternative.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockHint {
    pub alternatives: Vec<Vec<String>>,
}

impl BlockHint {
    pub fn new(alternatives: Vec<Vec<String>>) -> Self {
        BlockHint { alternatives }
    }

    /// Any one of `strings` suffices.
    pub fn any_of(strings: &[&str]) -> Self {
        BlockHint::new(strings.iter().map(|s| vec![s.to_string()]).collect())
    }

    /// The distinct strings over all alternatives, in first-seen order.
    pub fn strings(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in self.alternatives.iter().flatten() {
            if !out.contains(&s.as_str()) {
                out.push(s);
            }
        }
        out
    }

    /// Whether a block whose string table holds exactly `present` may hold a match.
    pub fn admits(&self, present: &[&str]) -> bool {
        self.alternatives
            .iter()
            .any(|alt| alt.iter().all(|s| present.contains(&s.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc(tags: &[(&str, &str)]) -> Option<(DcKind, DcStatus)> {
        DataCentreFilter::default()
            .classify(tags)
            .map(|m| (m.kind, m.status))
    }

    #[test]
    fn plain_data_centre_keys() {
        let op = Some((DcKind::DataCentre, DcStatus::Operating));
        assert_eq!(dc(&[("telecom", "data_center")]), op);
        assert_eq!(dc(&[("telecom", "data_centre")]), op);
        assert_eq!(dc(&[("building", "data_center")]), op);
        assert_eq!(dc(&[("building", "data_centre")]), op);
        assert_eq!(dc(&[("building:use", "data_center")]), op);
        assert_eq!(dc(&[("man_made", "data_center")]), op);
        assert_eq!(dc(&[("building", "yes")]), None);
        assert_eq!(dc(&[("name", "data_center")]), None);
        assert_eq!(dc(&[]), None);
    }

    #[test]
    fn lifecycle_prefixes() {
        let s = |tags: &[(&str, &str)]| dc(tags).map(|(_, s)| s);
        assert_eq!(
            s(&[("construction:telecom", "data_center")]),
            Some(DcStatus::UnderConstruction)
        );
        assert_eq!(
            s(&[("proposed:building", "data_centre")]),
            Some(DcStatus::Project)
        );
        assert_eq!(
            s(&[("disused:man_made", "data_center")]),
            Some(DcStatus::Disused)
        );
        assert_eq!(
            s(&[("abandoned:building:use", "data_center")]),
            Some(DcStatus::Abandoned)
        );
        assert_eq!(
            s(&[
                ("building", "construction"),
                ("construction", "data_center")
            ]),
            Some(DcStatus::UnderConstruction)
        );
        assert_eq!(s(&[("construction", "data_center")]), None);
        assert_eq!(s(&[("razed:telecom", "data_center")]), None);
        // The building stays, its use is disused.
        assert_eq!(
            s(&[
                ("building", "data_center"),
                ("disused:telecom", "data_center")
            ]),
            Some(DcStatus::Disused)
        );
        // A plain use key wins over a lifecycle key.
        assert_eq!(
            s(&[
                ("telecom", "data_center"),
                ("proposed:building", "data_center")
            ]),
            Some(DcStatus::Operating)
        );
        assert_eq!(
            s(&[("telecom", "data_center"), ("disused", "yes")]),
            Some(DcStatus::Disused)
        );
        // Several lifecycles: construction first.
        assert_eq!(
            s(&[
                ("abandoned:telecom", "data_center"),
                ("construction:telecom", "data_center")
            ]),
            Some(DcStatus::UnderConstruction)
        );
    }

    #[test]
    fn exchanges_only_on_request() {
        let ex = [("telecom", "exchange")];
        assert_eq!(dc(&ex), None);
        assert_eq!(dc(&[("building", "telephone_exchange")]), None);
        assert_eq!(dc(&[("man_made", "telephone_office")]), None);
        let with = DataCentreFilter::new(true);
        let m = with.classify(&ex);
        assert_eq!(
            m.map(|m| (m.kind, m.status)),
            Some((DcKind::TelephoneExchange, DcStatus::Operating))
        );
        let m = with.classify(&[("telecom", "central_office"), ("disused", "yes")]);
        assert_eq!(m.map(|m| m.status), Some(DcStatus::Disused));
        // Data centre wins over exchange.
        let m = with.classify(&[
            ("building", "telephone_exchange"),
            ("telecom", "data_center"),
        ]);
        assert_eq!(m.map(|m| m.kind), Some(DcKind::DataCentre));
    }

    #[test]
    fn hint_is_necessary_for_dc_filter() {
        let hint = DataCentreFilter::default().block_hint();
        assert!(hint.admits(&["building", "data_centre"]));
        assert!(!hint.admits(&["building", "yes", "telecom"]));
        let with = DataCentreFilter::new(true).block_hint();
        assert!(with.admits(&["telephone_office"]));
    }

    #[test]
    fn tag_expressions_cover_the_filter() {
        let f = DataCentreFilter::default();
        let exprs = TagFilters::parse(&f.as_tag_expressions()).unwrap_or_default();
        for tags in [
            vec![("telecom", "data_center")],
            vec![("disused:building:use", "data_centre")],
            vec![
                ("building", "construction"),
                ("construction", "data_center"),
            ],
        ] {
            assert!(f.matches(&tags));
            assert!(exprs.matches(&tags), "{tags:?}");
        }
    }

    #[test]
    fn tag_filter_parse_and_match() {
        let f = TagFilters::parse(&["building", "telecom = data_center", "a=b=c"]).unwrap();
        assert_eq!(f.0[1].value.as_deref(), Some("data_center"));
        assert_eq!(f.0[2].value.as_deref(), Some("b=c"));
        assert!(f.matches(&[("building", "yes")]));
        assert!(f.matches(&[("telecom", "data_center")]));
        assert!(!f.matches(&[("telecom", "exchange")]));
        assert!(f.matches(&[("a", "b=c")]));
        assert!(TagFilter::parse("=x").is_err());
        assert!(TagFilter::parse("k=").is_err());
        assert!(TagFilters::parse::<&str>(&[]).is_err());
        assert_eq!(f.0[1].to_string(), "telecom=data_center");
        let hint = f.block_hint();
        assert!(hint.admits(&["building"]));
        assert!(!hint.admits(&["telecom", "exchange"]));
        assert!(hint.admits(&["telecom", "data_center"]));
        assert_eq!(
            hint.strings(),
            vec!["building", "telecom", "data_center", "a", "b=c"]
        );
    }
}
