//! Per-parcel problems in (code, feature number, parcel id, detail) → counts per stable code
//! and a few examples out. A counted issue never stops the reading of a file.

use std::fmt;

/// How many examples are kept per code (the ones with the smallest feature numbers).
pub const MAX_EXAMPLES_PER_CODE: usize = 10;

/// Stable issue codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IssueCode {
    /// `contenance` absent, `null` or not a number: the parcel is kept with `contenance_m2: None`.
    MissingContenance,
    /// A ring with fewer than 4 positions, not closed, with a coordinate outside lon/lat
    /// range, or of zero area: the ring is dropped (its polygon too when it is the exterior
    /// ring); the parcel is dropped when no polygon is left. Counted once per parcel.
    InvalidRing,
    /// No usable geometry (null, not a Polygon/MultiPolygon, wrong nesting, a position with
    /// fewer than two numbers): the parcel is dropped.
    BadGeometry,
    /// Neither `properties.id` nor the feature `id`: the parcel is dropped.
    MissingId,
    /// An element of `features` that is not an object (a string, a number): skipped.
    NotAnObject,
    /// A feature whose own JSON is broken (a missing comma, a bad number, bytes that are not
    /// UTF-8 in a name) although its extent is clear: the parcel is dropped.
    Unreadable,
}

impl IssueCode {
    pub const ALL: [IssueCode; 6] = [
        IssueCode::MissingContenance,
        IssueCode::InvalidRing,
        IssueCode::BadGeometry,
        IssueCode::MissingId,
        IssueCode::NotAnObject,
        IssueCode::Unreadable,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            IssueCode::MissingContenance => "parcel_missing_contenance",
            IssueCode::InvalidRing => "parcel_invalid_ring",
            IssueCode::BadGeometry => "parcel_bad_geometry",
            IssueCode::MissingId => "parcel_missing_id",
            IssueCode::NotAnObject => "parcel_not_an_object",
            IssueCode::Unreadable => "parcel_unreadable",
        }
    }

    const fn slot(self) -> usize {
        match self {
            IssueCode::MissingContenance => 0,
            IssueCode::InvalidRing => 1,
            IssueCode::BadGeometry => 2,
            IssueCode::MissingId => 3,
            IssueCode::NotAnObject => 4,
            IssueCode::Unreadable => 5,
        }
    }
}

impl fmt::Display for IssueCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelIssue {
    pub code: IssueCode,
    /// 0-based position of the feature in the file.
    pub feature_index: u64,
    /// The parcel id when it is known.
    pub parcel_id: Option<String>,
    pub detail: String,
}

/// Counts per code, with the first few examples of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssueCounts {
    counts: [u64; 6],
    examples: Vec<ParcelIssue>,
}

impl IssueCounts {
    /// How many parcels had this issue.
    pub fn count(&self, code: IssueCode) -> u64 {
        self.counts[code.slot()]
    }

    /// All issues together.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// (code, count) for each code with a non-zero count, in code order.
    pub fn nonzero(&self) -> Vec<(IssueCode, u64)> {
        IssueCode::ALL
            .iter()
            .map(|&c| (c, self.count(c)))
            .filter(|&(_, n)| n > 0)
            .collect()
    }

    /// Examples, by code then feature number (at most `MAX_EXAMPLES_PER_CODE` per code).
    pub fn examples(&self) -> &[ParcelIssue] {
        &self.examples
    }

    pub(super) fn record(&mut self, issue: ParcelIssue) {
        self.counts[issue.code.slot()] += 1;
        let same = self
            .examples
            .iter()
            .filter(|e| e.code == issue.code)
            .count();
        if same < MAX_EXAMPLES_PER_CODE {
            self.examples.push(issue);
            self.sort_examples();
        } else if let Some(worst) = self
            .examples
            .iter_mut()
            .filter(|e| e.code == issue.code)
            .max_by_key(|e| e.feature_index)
            .filter(|w| w.feature_index > issue.feature_index)
        {
            *worst = issue;
            self.sort_examples();
        }
    }

    /// Adds another count in (the result does not depend on the merge order).
    pub fn merge(&mut self, other: IssueCounts) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.examples.extend(other.examples);
        self.sort_examples();
        let mut kept = [0usize; 6];
        self.examples.retain(|e| {
            let k = &mut kept[e.code.slot()];
            *k += 1;
            *k <= MAX_EXAMPLES_PER_CODE
        });
    }

    fn sort_examples(&mut self) {
        self.examples.sort_by_key(|e| (e.code, e.feature_index));
    }
}

impl fmt::Display for IssueCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .nonzero()
            .into_iter()
            .map(|(c, n)| format!("{c}={n}"))
            .collect();
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}
