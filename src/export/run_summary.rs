//! The machine-readable outcome of `dcinv build` (`--json-summary <file>`): a [`BuildReport`]
//! (or the error that stopped the build) and the output folder's `changes.json` → one JSON
//! object for a scheduler to alert on: exit code and its meaning, each source fresh / stale /
//! failed, counts, national totals and the changes since the previous build.

use serde_json::{Value, json};

use crate::inventory::BuildReport;

/// Version of this document's layout.
pub const FORMAT_VERSION: u32 = 1;

/// What each exit code of `dcinv build` means.
pub fn exit_meaning(code: u8) -> &'static str {
    match code {
        0 => "built from every source",
        1 => {
            "built, but a source failed or is stale (its last good snapshot was used, or it was left out)"
        }
        _ => "failed: nothing was published; the previous outputs are untouched",
    }
}

/// The exit code of a finished build: 1 when a source failed or is stale, else 0.
pub fn exit_code(report: &BuildReport) -> u8 {
    u8::from(!report.failed_sources().is_empty() || !report.stale_sources().is_empty())
}

fn change_counts(changes: Option<&Value>) -> Value {
    let Some(c) = changes else {
        return Value::Null;
    };
    let n = |k: &str| c.get(k).and_then(Value::as_array).map_or(0, Vec::len);
    json!({
        "previous_run": c.get("previous_run"),
        "added": n("added"), "removed": n("removed"), "moved": n("moved"), "changed_fields": n("changed"),
    })
}

/// The summary of a finished build; `changes` is the output folder's `changes.json`.
pub fn of_report(report: &BuildReport, changes: Option<&Value>) -> Value {
    let inv = &report.inventory;
    let code = exit_code(report);
    let sources: Vec<Value> = inv
        .source_runs
        .iter()
        .map(|s| {
            let state = if s.error.is_some() {
                "failed"
            } else if !s.stale.is_empty() {
                "stale"
            } else if report.unchanged {
                "unchanged"
            } else {
                "fresh"
            };
            json!({
                "source": s.source_id, "state": state, "error": s.error.as_ref().map(|e| e.to_string()), "stale": s.stale,
                "records_kept": s.records_kept, "records_dropped": s.records_dropped,
                "files": s.files.len(),
            })
        })
        .collect();
    let count = |state: &str| sources.iter().filter(|s| s["state"] == state).count();
    let totals = crate::export::stats::totals(inv);
    json!({
        "format_version": FORMAT_VERSION,
        "exit_code": code,
        "exit_meaning": exit_meaning(code),
        "run_id": inv.run_id,
        "started_at": inv.started_at,
        "finished_at": inv.finished_at,
        "fetch_mode": inv.fetch_mode,
        "unchanged": report.unchanged,
        "sources_fresh": count("fresh") + count("unchanged"),
        "sources_stale": count("stale"),
        "sources_failed": count("failed"),
        "sources": sources,
        "counts": {
            "records": inv.records.len(),
            "facilities": inv.recon.facilities.len(),
            "campuses": inv.recon.campus_count(),
            "data_issues": inv.issues.len(),
        },
        "totals": if report.unchanged { Value::Null } else { json!({
            "it_mw": [totals.it_mw_low, totals.it_mw_central, totals.it_mw_high],
            "energy_gwh": [totals.energy_gwh_low, totals.energy_gwh_central, totals.energy_gwh_high],
        }) },
        "changes": if report.unchanged {
            json!({"previous_run": Value::Null, "added": 0, "removed": 0, "moved": 0, "changed_fields": 0})
        } else {
            change_counts(changes)
        },
        "outputs": report.outputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    })
}

/// The summary of a build that stopped with an error (exit code 2).
pub fn of_error(message: &str) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "exit_code": 2,
        "exit_meaning": exit_meaning(2),
        "error": message,
        "finished_at": crate::fetch::now_rfc3339(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_have_a_meaning_and_errors_a_summary() {
        assert!(exit_meaning(0).starts_with("built from every"));
        assert!(exit_meaning(1).contains("stale"));
        assert!(exit_meaning(2).starts_with("failed"));
        let e = of_error("the administrative boundaries are required");
        assert_eq!(e["exit_code"], 2);
        assert_eq!(e["error"], "the administrative boundaries are required");
        let c = json!({"previous_run": "abc", "added": [{}, {}], "removed": [], "moved": [{}], "changed": []});
        assert_eq!(
            change_counts(Some(&c)),
            json!({"previous_run": "abc", "added": 2, "removed": 0, "moved": 1, "changed_fields": 0})
        );
        assert_eq!(change_counts(None), Value::Null);
    }
}
