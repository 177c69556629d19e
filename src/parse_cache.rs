//! Parse cache: in go a snapshot (its sha256), the adapter that reads it (name + version) and
//! the catalog entry that drives the adapter (hashed); out comes the [`ParseOutput`] stored the
//! last time those bytes were parsed that way, from
//! `<cache>/.parsed/<source-id>/<snapshot-sha256>-<key>.json`. Entries are written atomically;
//! an unreadable or stale-format entry is a miss (the file is parsed again), never an error.

use std::path::{Path, PathBuf};

use crate::adapters::Registered;
use crate::catalog::{FileSpec, SourceSpec};
use crate::model::ParseOutput;

/// Bumped when the stored layout changes in a way serde would not notice.
const FORMAT_VERSION: u32 = 1;

/// Folder of the parse cache inside the cache folder.
pub const PARSED_DIR: &str = ".parsed";

pub struct ParseCache {
    root: PathBuf,
}

impl ParseCache {
    /// A cache under `<cache_dir>/.parsed/` (created on first write; the snapshot store ignores
    /// dot folders).
    pub fn new(cache_dir: &Path) -> ParseCache {
        ParseCache {
            root: cache_dir.join(PARSED_DIR),
        }
    }

    /// sha256 over what decides the parse besides the bytes: the adapter's name and version
    /// and the part of the catalog entry an adapter may read (source id, licence, file name
    /// and role, adapter, mapping). Titles, URLs or rate limits do not invalidate entries.
    pub fn entry_key(spec: &SourceSpec, file: &FileSpec, adapter: &Registered) -> String {
        let text = format!(
            "format {FORMAT_VERSION}\nadapter {} {}\nsource {}\nlicence {}\nfile {}\nrole {:?}\nmapping {:?}\n",
            adapter.name,
            adapter.version,
            spec.id,
            spec.licence,
            file.name,
            file.role,
            spec.mapping_for(file),
        );
        crate::common::sha256_hex(text.as_bytes())
    }

    fn path(&self, spec: &SourceSpec, snapshot_sha256: &str, key: &str) -> PathBuf {
        self.root
            .join(&spec.id)
            .join(format!("{snapshot_sha256}-{}.json", &key[..16]))
    }

    /// The stored output for this snapshot, adapter and catalog entry, if any.
    pub fn get(
        &self,
        spec: &SourceSpec,
        file: &FileSpec,
        adapter: &Registered,
        snapshot_sha256: &str,
    ) -> Option<ParseOutput> {
        let key = Self::entry_key(spec, file, adapter);
        let bytes = std::fs::read(self.path(spec, snapshot_sha256, &key)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        (entry.key == key && entry.snapshot_sha256 == snapshot_sha256).then_some(entry.output)
    }

    /// Stores `output` (best effort: a cache that cannot be written only costs a parse).
    pub fn put(
        &self,
        spec: &SourceSpec,
        file: &FileSpec,
        adapter: &Registered,
        snapshot_sha256: &str,
        output: &ParseOutput,
    ) -> std::io::Result<()> {
        let key = Self::entry_key(spec, file, adapter);
        let entry = EntryRef {
            key: &key,
            snapshot_sha256,
            output,
        };
        let bytes = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        crate::common::write_atomic(&self.path(spec, snapshot_sha256, &key), &bytes)
    }

    /// Removes the entries of the snapshots for which `keep(source id, sha256)` is false;
    /// returns how many entries were removed.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) -> usize {
        let mut removed = 0;
        let Ok(sources) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        for source in sources.filter_map(Result::ok) {
            let source_id = source.file_name().to_string_lossy().to_string();
            let Ok(entries) = std::fs::read_dir(source.path()) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let name = entry.file_name().to_string_lossy().to_string();
                let sha = name.split('-').next().unwrap_or_default();
                if !keep(&source_id, sha) && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }
}

#[derive(serde::Deserialize)]
struct Entry {
    key: String,
    snapshot_sha256: String,
    output: ParseOutput,
}

#[derive(serde::Serialize)]
struct EntryRef<'a> {
    key: &'a str,
    snapshot_sha256: &'a str,
    output: &'a ParseOutput,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::test_source_header;
    use crate::adapters::test_support;

    const SPEC: &str = concat!(
        test_source_header!("demo", "csv"),
        r#"
[mapping]
lon = "lon"
lat = "lat"
name = "name"
[[files]]
name = "a.csv"
"#
    );

    fn parse(spec: &SourceSpec, bytes: &[u8]) -> ParseOutput {
        let adapter = crate::adapters::find("csv").unwrap();
        adapter.parse(&test_support::input(spec, bytes)).unwrap()
    }

    #[test]
    fn an_entry_round_trips_and_is_keyed_by_mapping_and_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ParseCache::new(dir.path());
        let spec = test_support::spec(SPEC);
        let adapter = crate::adapters::find("csv").unwrap();
        let out = parse(&spec, b"lon,lat,name\n2.35,48.85,A\n2.30,48.80,B\n");
        assert_eq!(out.records.len(), 2);
        let sha = "ab".repeat(32);
        assert!(cache.get(&spec, &spec.files[0], adapter, &sha).is_none());
        cache
            .put(&spec, &spec.files[0], adapter, &sha, &out)
            .unwrap();
        let back = cache.get(&spec, &spec.files[0], adapter, &sha).unwrap();
        assert_eq!(back.records, out.records);
        assert_eq!(back.issues, out.issues);
        assert_eq!(back.units_read, out.units_read);
        // Another snapshot, or another mapping of the same bytes, is a miss.
        assert!(
            cache
                .get(&spec, &spec.files[0], adapter, &"cd".repeat(32))
                .is_none()
        );
        let remapped = test_support::spec(&SPEC.replace("name = \"name\"", "name = \"other\""));
        assert!(
            cache
                .get(&remapped, &remapped.files[0], adapter, &sha)
                .is_none()
        );
        // A title change keeps the entry.
        let retitled =
            test_support::spec(&SPEC.replace("title = \"t\"", "title = \"Another title\""));
        assert!(
            cache
                .get(&retitled, &retitled.files[0], adapter, &sha)
                .is_some()
        );
    }

    #[test]
    fn a_corrupt_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ParseCache::new(dir.path());
        let spec = test_support::spec(SPEC);
        let adapter = crate::adapters::find("csv").unwrap();
        let sha = "ab".repeat(32);
        let key = ParseCache::entry_key(&spec, &spec.files[0], adapter);
        crate::common::write_atomic(&cache.path(&spec, &sha, &key), b"{not json").unwrap();
        assert!(cache.get(&spec, &spec.files[0], adapter, &sha).is_none());
    }

    #[test]
    fn retain_drops_entries_of_removed_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ParseCache::new(dir.path());
        let spec = test_support::spec(SPEC);
        let adapter = crate::adapters::find("csv").unwrap();
        let out = parse(&spec, b"lon,lat,name\n2.35,48.85,A\n");
        let (a, b) = ("ab".repeat(32), "cd".repeat(32));
        cache.put(&spec, &spec.files[0], adapter, &a, &out).unwrap();
        cache.put(&spec, &spec.files[0], adapter, &b, &out).unwrap();
        assert_eq!(cache.retain(|source, sha| source == "demo" && sha == a), 1);
        assert!(cache.get(&spec, &spec.files[0], adapter, &a).is_some());
        assert!(cache.get(&spec, &spec.files[0], adapter, &b).is_none());
    }

    #[test]
    fn floats_come_back_bit_for_bit() {
        // A cache hit must give what a parse gives: coordinates, areas and figures of every
        // magnitude, written as JSON and read back, are the same f64.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let values: Vec<f64> = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Exponents 2^-20 .. 2^40, any mantissa, either sign.
                let exponent = 1003 + (x >> 52) % 61;
                f64::from_bits((x & 0x800f_ffff_ffff_ffff) | (exponent << 52))
            })
            .collect();
        let back: Vec<f64> = serde_json::from_slice(&serde_json::to_vec(&values).unwrap()).unwrap();
        let differ = values
            .iter()
            .zip(&back)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(differ, 0, "{differ} of {} floats changed", values.len());
    }
}
