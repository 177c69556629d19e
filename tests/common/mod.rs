//! Shared helpers for the integration tests: where the real mirror is, and GDAL lookups.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The real offline mirror (`DCINV_MIRROR`, else `../shared/data/mirror` beside the checkout).
pub fn mirror() -> PathBuf {
    let dir = std::env::var_os("DCINV_MIRROR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mirror"),
        PathBuf::from,
    );
    assert!(
        dir.join("community-map").is_dir(),
        "the shared data mirror is required at {} (set DCINV_MIRROR)",
        dir.display()
    );
    dir
}

pub fn catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sources")
}

/// Runs GDAL's `validate_gpkg.py` on `gpkg` and fails on any error it reports.
pub fn assert_valid_gpkg(gpkg: &Path) {
    let script = dcinv::store::gpkg::find_validate_gpkg_script()
        .expect("python3-gdal's validate_gpkg.py is installed with GDAL");
    let out = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(gpkg)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !all.to_lowercase().contains("error"),
        "{all}"
    );
}

/// True when ogrinfo is installed. When `DCINV_REQUIRE_GDAL` is set (CI), a missing GDAL
/// fails the test instead of skipping it.
pub fn have_gdal() -> bool {
    let ok = Command::new("ogrinfo").arg("--version").output().is_ok();
    if !ok && std::env::var_os("DCINV_REQUIRE_GDAL").is_some() {
        panic!("DCINV_REQUIRE_GDAL is set but ogrinfo is not installed");
    }
    if !ok {
        eprintln!("skipped: GDAL (ogrinfo) is not installed");
    }
    ok
}

/// Copies the real mirror into `dest` so a test can break one file (never into the repo).
pub fn copy_mirror(dest: &Path) {
    let src = mirror();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if !entry.path().is_dir() {
            continue;
        }
        let target = dest.join(entry.file_name());
        std::fs::create_dir_all(&target).unwrap();
        for f in std::fs::read_dir(entry.path()).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), target.join(f.file_name())).unwrap();
        }
    }
}

/// The repository catalog copied into `dir/sources`, with every file given the URL
/// `<base>/<source-id>/<file>` (a test server on 127.0.0.1 serving the mirror standing in for
/// the live sources). Live-only sources (`mirror_optional`) the mirror has no folder for are
/// left out: the mirror cannot stand in for them. The per-commune cadastre source is left out
/// too: the mirror holds no parcel file of a commune with a site, and its per-commune requests
/// would only add 404s to the request counts.
pub fn live_catalog(dir: &Path, base: &str) -> PathBuf {
    let live = dir.join("sources");
    std::fs::create_dir_all(&live).unwrap();
    for f in std::fs::read_dir(catalog()).unwrap() {
        let f = f.unwrap();
        let id = f.path().file_stem().unwrap().to_string_lossy().to_string();
        if id == "cadastre-etalab" {
            continue;
        }
        let text = std::fs::read_to_string(f.path()).unwrap();
        if text.lines().any(|l| l.trim() == "mirror_optional = true")
            && !mirror().join(&id).is_dir()
        {
            continue;
        }
        let mut out = String::new();
        let mut in_files = false;
        for line in text.lines() {
            if line.starts_with('[') {
                in_files = line == "[[files]]";
            }
            if line.starts_with("url = ") {
                continue;
            }
            out.push_str(line);
            out.push('\n');
            if in_files
                && let Some(name) = line
                    .strip_prefix("name = \"")
                    .and_then(|l| l.strip_suffix('"'))
            {
                out.push_str(&format!("url = \"{base}/{id}/{name}\"\n"));
            }
        }
        std::fs::write(live.join(f.file_name()), out).unwrap();
    }
    live
}
