//! The one atomic write: a file is built under a temporary name in its own folder, synced to
//! disk, then renamed over the target, so a reader sees the old file or the new one, never a
//! partial one; on failure the temporary file is removed and the target is left as it was.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// `.<name>.<pid>.<n>.tmp` beside `path` (unique within the process, so concurrent writers
/// of one target do not share a temporary file).
fn tmp_path(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Why [`replace_file`] failed: the caller's build step, or the file system.
#[derive(Debug)]
pub enum ReplaceError<E> {
    /// Creating the folder, syncing or renaming failed.
    Io(std::io::Error),
    /// The build closure failed.
    Build(E),
}

/// Builds `path` atomically: `build` creates the file at the temporary path it is given (a
/// SQLite database, a streamed CSV, ...); the file is then synced and renamed over `path`.
/// The parent folder is created when missing.
pub fn replace_file<E>(
    path: &Path,
    build: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), ReplaceError<E>> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir).map_err(ReplaceError::Io)?;
    }
    let tmp = tmp_path(path);
    let result = build(&tmp).map_err(ReplaceError::Build).and_then(|()| {
        File::options()
            .write(true)
            .open(&tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(ReplaceError::Io)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `path` atomically through a buffered writer (see [`replace_file`]).
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    replace_file(path, |tmp| {
        let mut w = BufWriter::new(File::create(tmp)?);
        write(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })
    .map_err(|e| match e {
        ReplaceError::Io(e) | ReplaceError::Build(e) => e,
    })
}

/// Writes `bytes` to `path` atomically (see [`replace_file`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("a.txt");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert!(leftovers(&dir.path().join("sub")).is_empty());
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let built = replace_file(&path, |_tmp| Err::<(), _>("no"));
        assert!(matches!(built, Err(ReplaceError::Build("no"))));
        assert!(leftovers(dir.path()).is_empty());
    }
}
