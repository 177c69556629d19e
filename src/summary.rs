//! The end-of-run summary a person reads: records per source (read, kept, dropped, files
//! parsed or taken from the parse cache), failed and stale sources, facilities, data issues
//! per source and code, and where the outputs are.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::inventory::BuildReport;

pub fn render(report: &BuildReport) -> String {
    let inv = &report.inventory;
    let mut t = String::new();
    if report.unchanged {
        let _ = writeln!(
            t,
            "dcinv build ({}): no snapshot, catalog or option changed since the last build; its outputs are kept, nothing was parsed.",
            inv.fetch_mode
        );
        for s in &inv.source_runs {
            let outcomes: Vec<&str> = s.files.iter().map(|f| f.outcome).collect();
            let _ = writeln!(t, "  {:<22} {}", s.source_id, outcomes.join(", "));
        }
        return t;
    }
    let _ = writeln!(t, "dcinv build {} ({})", inv.run_id, inv.fetch_mode);
    let _ = writeln!(
        t,
        "\n{:<22} {:>8} {:>8} {:>8} {:>7} {:>7}  status",
        "source", "read", "records", "dropped", "counts", "parsed"
    );
    for s in &inv.source_runs {
        let status = match &s.error {
            None if s.stale.is_empty() => "ok".to_string(),
            None => format!("STALE: {}", s.stale.join("; ")),
            Some(e) => format!("FAILED: {e}"),
        };
        let parsed = format!(
            "{}/{}",
            s.files.iter().filter(|f| f.parsed).count(),
            s.files.len()
        );
        let _ = writeln!(
            t,
            "{:<22} {:>8} {:>8} {:>8} {:>7} {:>7}  {}",
            s.source_id,
            s.units_read,
            s.records_kept,
            s.records_dropped,
            s.published_counts,
            parsed,
            status
        );
    }
    let files: Vec<&crate::inventory::FileRun> =
        inv.source_runs.iter().flat_map(|s| &s.files).collect();
    let parsed = files.iter().filter(|f| f.parsed).count();
    let _ = writeln!(
        t,
        "\nfiles: {} parsed, {} from the parse cache",
        parsed,
        files.len() - parsed
    );
    let _ = writeln!(
        t,
        "\nrecords: {}   facilities: {}   campuses: {}   data issues: {}",
        inv.records.len(),
        inv.recon.facilities.len(),
        inv.recon.campus_count(),
        inv.issues.len()
    );
    let mut by_code: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
    for i in &inv.issues {
        *by_code
            .entry((i.code.as_str(), i.source_id.as_str(), i.action.as_str()))
            .or_default() += 1;
    }
    if !by_code.is_empty() {
        let _ = writeln!(
            t,
            "\n{:<28} {:<22} {:<14} {:>6}",
            "data issue", "source", "action", "count"
        );
        for ((code, source, action), n) in by_code {
            let _ = writeln!(t, "{code:<28} {source:<22} {action:<14} {n:>6}");
        }
    }
    let _ = writeln!(t);
    for line in crate::estimate::benchmarks::summary_lines(
        &inv.recon.facilities,
        &inv.estimates,
        &inv.published_counts,
    ) {
        let _ = writeln!(t, "{line}");
    }
    let _ = writeln!(t, "\noutputs:");
    for p in &report.outputs {
        let _ = writeln!(t, "  {}", p.display());
    }
    t
}
