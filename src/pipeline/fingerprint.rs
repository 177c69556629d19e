//! Unchanged builds: the fingerprint of a build's inputs (tool version and executable,
//! options, catalog files, every snapshot, then the parcel files the cadastre stage read)
//! kept in `<out>/.fingerprint` after a build where every source was fresh; a build whose
//! inputs match it keeps the outputs and parses nothing.

use std::path::PathBuf;

use super::BuildOptions;
use super::ingest::Fetched;
use crate::cadastre::stage::{Surfaces, commune_file};
use crate::catalog::SourceSpec;
use crate::fetch::Fetcher;

/// The fingerprint of a build's inputs, in `<out>/.fingerprint`: the [`of_inputs`] line,
/// then one line per commune of the cadastre stage (see [`parcel_lines`]).
pub const FINGERPRINT_NAME: &str = ".fingerprint";

/// sha256 over the tool version and executable (its size and modification time: a dcinv
/// rebuilt or reinstalled under the same version number may compute other outputs), the
/// options that change outputs, every catalog file and every snapshot; None when a fetch
/// failed (such a build must run to fall back).
pub fn of_inputs(opts: &BuildOptions, specs: &[SourceSpec], fetched: &Fetched) -> Option<String> {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| format!("{} {:?}", m.len(), m.modified().ok()))
        .unwrap_or_default();
    let mut text = format!(
        "dcinv {} {exe}\ngrid {}\nmax_shrink {}\n",
        env!("CARGO_PKG_VERSION"),
        opts.grid,
        opts.max_shrink
    );
    let mut catalog: Vec<PathBuf> = std::fs::read_dir(&opts.catalog_dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    catalog.sort();
    for p in catalog {
        let bytes = std::fs::read(&p).ok()?;
        text.push_str(&format!(
            "{} {}\n",
            p.display(),
            crate::common::sha256_hex(&bytes)
        ));
    }
    for (spec, files) in specs.iter().zip(fetched) {
        for (file, f) in spec.files.iter().zip(files) {
            let snapshot = f.as_ref().ok()?;
            text.push_str(&format!("{}/{} {}\n", spec.id, file.name, snapshot.sha256));
        }
    }
    Some(crate::common::sha256_hex(text.as_bytes()))
}

/// The last build of `<out>` had these inputs (`fingerprint`, and the same parcel files):
/// its outputs can be kept. Never with `--force`, without a fingerprint or without outputs.
pub fn unchanged(
    opts: &BuildOptions,
    fingerprint: Option<&str>,
    commune_specs: &[SourceSpec],
    fetcher: &dyn Fetcher,
) -> bool {
    let Some(fp) = fingerprint else {
        return false;
    };
    !opts.force
        && std::fs::read_to_string(opts.out_dir.join(FINGERPRINT_NAME))
            .is_ok_and(|stored| same_inputs(&stored, fp, commune_specs, fetcher))
        && opts.out_dir.join(crate::store::GPKG_NAME).is_file()
}

/// The text kept in `<out>/.fingerprint`: the inputs' line and the parcel lines.
pub fn text(fingerprint: &str, commune_specs: &[SourceSpec], surfaces: &Surfaces) -> String {
    format!("{fingerprint}{}", parcel_lines(commune_specs, surfaces))
}

/// Per commune of the cadastre stage, tab-separated: `parcel <source-id> <insee> <dep> <file>
/// <sha256>` for a parcel file read, `missing <insee> <dep>` for a commune without one. The
/// communes follow from the other inputs, so the same fingerprint asks for the same files;
/// these lines say what was found.
fn parcel_lines(commune_specs: &[SourceSpec], surfaces: &Surfaces) -> String {
    let read = surfaces.good.iter().map(|g| {
        format!(
            "\nparcel\t{}\t{}\t{}\t{}\t{}",
            commune_specs[g.source].id, g.insee, g.dep, g.file.name, g.sha256
        )
    });
    let missing = surfaces
        .missing
        .iter()
        .map(|(insee, dep)| format!("\nmissing\t{insee}\t{dep}"));
    read.chain(missing).collect()
}

/// The stored fingerprint says the inputs of this build are those of the last one: the same
/// first line, every parcel file it lists fetched again with the same sha256, and no file
/// for the communes that had none.
fn same_inputs(
    stored: &str,
    fingerprint: &str,
    commune_specs: &[SourceSpec],
    fetcher: &dyn Fetcher,
) -> bool {
    let mut lines = stored.split('\n');
    if lines.next() != Some(fingerprint) {
        return false;
    }
    lines.all(|line| match line.split('\t').collect::<Vec<_>>()[..] {
        ["parcel", source_id, insee, dep, name, sha256] => commune_specs
            .iter()
            .find(|s| s.id == source_id)
            .and_then(|spec| {
                let file = spec
                    .files
                    .iter()
                    .map(|t| commune_file(t, insee, dep))
                    .find(|f| f.name == name)?;
                fetcher.fetch(spec, &file).ok()
            })
            .is_some_and(|s| s.sha256 == sha256),
        ["missing", insee, dep] => commune_specs.iter().all(|spec| {
            spec.files
                .iter()
                .all(|t| fetcher.fetch(spec, &commune_file(t, insee, dep)).is_err())
        }),
        _ => false,
    })
}
