//! Per-parcel problems in (code, feature number, parcel id, detail) → counts per stable code
//! and a few examples out. A counted issue never stops the reading of a file.

use std::fmt;

/// How many examples are kept per code (the ones with the smallest feature numbers).
pub const MAX_EXAMPLES_PER_CODE: usize = 10;

pub use crate::common::IssueCode;

/// The codes the parcel reader gives, in the order they are reported.
pub const PARCEL_CODES: [IssueCode; 6] = [
    IssueCode::ParcelMissingContenance,
    IssueCode::ParcelInvalidRing,
    IssueCode::ParcelBadGeometry,
    IssueCode::ParcelMissingId,
    IssueCode::ParcelNotAnObject,
    IssueCode::ParcelUnreadable,
];

/// A parcel code's place in the counts (one of [`PARCEL_CODES`]).
fn slot(code: IssueCode) -> usize {
    PARCEL_CODES
        .iter()
        .position(|&c| c == code)
        .unwrap_or_else(|| panic!("{code} is not a parcel issue code"))
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
        self.counts[slot(code)]
    }

    /// All issues together.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// (code, count) for each code with a non-zero count, in code order.
    pub fn nonzero(&self) -> Vec<(IssueCode, u64)> {
        PARCEL_CODES
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
        self.counts[slot(issue.code)] += 1;
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
            let k = &mut kept[slot(e.code)];
            *k += 1;
            *k <= MAX_EXAMPLES_PER_CODE
        });
    }

    fn sort_examples(&mut self) {
        self.examples
            .sort_by_key(|e| (slot(e.code), e.feature_index));
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
