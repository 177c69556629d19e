//! The parse cache on the real mirror: a rebuild where one file changed parses that file only,
//! and what it builds is what a build with an empty cache builds from the same files.

mod common;

use std::path::Path;
use std::process::Command;

const MAP: &str =
    "community-map/carte_des_data_centers__des_projets_et_des_contestations_en_france.csv";

fn build(mirror: &Path, out: &Path, extra: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_dcinv"))
        .arg("--catalog")
        .arg(common::catalog())
        .args(["build", "--mirror"])
        .arg(mirror)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    text
}

fn parse_flags(out: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(out.join("inventory.gpkg")).unwrap();
    let mut stmt = conn
        // A source without files (the cadastre stage with no parcel file) has a NULL file.
        .prepare(
            "SELECT source_id || '/' || file, parse FROM run_sources \
             WHERE file IS NOT NULL ORDER BY 1",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn one_changed_file_is_the_only_one_parsed_and_the_result_matches_a_cold_build() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    common::copy_mirror(&mirror);
    let out = dir.path().join("out");
    build(&mirror, &out, &[]);
    let first = parse_flags(&out);
    assert!(first.len() > 10, "{first:?}");
    assert!(first.iter().all(|(_, p)| p == "parsed"), "{first:?}");

    // Nothing changed but --force: every file comes from the parse cache.
    let forced = build(&mirror, &out, &["--force"]);
    assert!(
        forced.contains(&format!(
            "files: 0 parsed, {} from the parse cache",
            first.len()
        )),
        "{forced}"
    );

    // One record of the community map renamed.
    let path = mirror.join(MAP);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("Equinix PA3"));
    std::fs::write(
        &path,
        text.replacen("Equinix PA3", "Equinix PA3 (renamed)", 1),
    )
    .unwrap();
    let summary = build(&mirror, &out, &[]);
    assert!(
        summary.contains(&format!(
            "files: 1 parsed, {} from the parse cache",
            first.len() - 1
        )),
        "{summary}"
    );
    let parsed: Vec<String> = parse_flags(&out)
        .into_iter()
        .filter(|(_, p)| p == "parsed")
        .map(|(f, _)| f)
        .collect();
    assert_eq!(parsed, vec![MAP.to_string()]);

    // A cold build of the same files gives the same facilities and statistics.
    let cold = dir.path().join("cold");
    build(&mirror, &cold, &[]);
    for f in ["facilities.geojson", "stats.csv", "stats_departements.csv"] {
        assert!(
            std::fs::read(out.join(f)).unwrap() == std::fs::read(cold.join(f)).unwrap(),
            "{f} differs between the cached and the cold build"
        );
    }
}
