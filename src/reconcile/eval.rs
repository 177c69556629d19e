//! Linkage evaluation: a labelled file (`cluster_id,record_key`) and the record → facility
//! links of a build → pairwise precision, recall and F1, and cluster counts, over the labelled
//! records present in the build.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::error::ParseError;

/// Pairwise scores of a build against labels.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub labelled_records: usize,
    /// Labelled records absent from the build (not scored).
    pub missing: Vec<String>,
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub correct_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub label_clusters: usize,
    pub predicted_clusters: usize,
}

/// Reads `cluster_id,record_key[,...]` (extra columns ignored).
pub fn read_labels(path: &Path) -> Result<Vec<(String, String)>, ParseError> {
    let file = path.display().to_string();
    let csv_err = |e: csv::Error| ParseError::Csv {
        file: file.clone(),
        message: e.to_string(),
    };
    let mut reader = csv::Reader::from_path(path).map_err(csv_err)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(c), Some(k)) = (col("cluster_id"), col("record_key")) else {
        return Err(ParseError::Header {
            file,
            missing: vec!["cluster_id".into(), "record_key".into()],
            header,
        });
    };
    let mut labels = Vec::new();
    for row in reader.records() {
        let row = row.map_err(csv_err)?;
        labels.push((row[c].to_string(), row[k].to_string()));
    }
    Ok(labels)
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores `predicted` (record key → facility id) against `labels`.
pub fn evaluate(labels: &[(String, String)], predicted: &HashMap<String, String>) -> EvalReport {
    let mut cells: HashMap<(&str, &str), u64> = HashMap::new();
    let mut by_label: HashMap<&str, u64> = HashMap::new();
    let mut by_pred: HashMap<&str, u64> = HashMap::new();
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    for (cluster, key) in labels {
        if !seen.insert(key.as_str()) {
            continue;
        }
        let Some(fid) = predicted.get(key) else {
            missing.push(key.clone());
            continue;
        };
        *cells.entry((cluster.as_str(), fid.as_str())).or_default() += 1;
        *by_label.entry(cluster.as_str()).or_default() += 1;
        *by_pred.entry(fid.as_str()).or_default() += 1;
    }
    let correct: u64 = cells.values().map(|n| pairs(*n)).sum();
    let truth: u64 = by_label.values().map(|n| pairs(*n)).sum();
    let pred: u64 = by_pred.values().map(|n| pairs(*n)).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(correct, pred), ratio(correct, truth));
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    EvalReport {
        labelled_records: seen.len(),
        missing,
        true_pairs: truth,
        predicted_pairs: pred,
        correct_pairs: correct,
        precision,
        recall,
        f1,
        label_clusters: by_label.len(),
        predicted_clusters: by_pred.len(),
    }
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "labelled records: {} ({} not in the build)",
            self.labelled_records,
            self.missing.len()
        )?;
        writeln!(
            f,
            "clusters: {} labelled, {} predicted",
            self.label_clusters, self.predicted_clusters
        )?;
        writeln!(
            f,
            "pairs: {} true, {} predicted, {} correct",
            self.true_pairs, self.predicted_pairs, self.correct_pairs
        )?;
        write!(
            f,
            "pairwise precision {:.4}  recall {:.4}  F1 {:.4}",
            self.precision, self.recall, self.f1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn counts_pairs() {
        let labels = l(&[("c1", "a"), ("c1", "b"), ("c1", "c"), ("c2", "d")]);
        // Predicted: {a, b}, {c, d}.
        let predicted: HashMap<String, String> =
            [("a", "f1"), ("b", "f1"), ("c", "f2"), ("d", "f2")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let r = evaluate(&labels, &predicted);
        assert_eq!(
            (r.true_pairs, r.predicted_pairs, r.correct_pairs),
            (3, 2, 1)
        );
        assert!((r.precision - 0.5).abs() < 1e-12);
        assert!((r.recall - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((r.label_clusters, r.predicted_clusters), (2, 2));
    }

    #[test]
    fn perfect_and_missing() {
        let labels = l(&[("c1", "a"), ("c1", "b"), ("c2", "z")]);
        let predicted: HashMap<String, String> = [("a", "f"), ("b", "f")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = evaluate(&labels, &predicted);
        assert_eq!(r.f1, 1.0);
        assert_eq!(r.missing, vec!["z"]);
    }
}
