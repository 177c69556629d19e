//! A file path (or bytes already in memory, with a name) in → a byte stream out: plain, or gzip when the file starts with the gzip
//! magic bytes 1f 8b (whatever its name), with the decompressed size capped. A name ending in
//! `.gz` on a file that is not gzip is an error, never read as plain text.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

use super::error::CadastreError;

/// Marker error returned by [`Limited`] once the cap is passed.
#[derive(Debug)]
pub(super) struct LimitExceeded;

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed size limit exceeded")
    }
}

impl std::error::Error for LimitExceeded {}

/// Stops a reader with [`LimitExceeded`] after `limit` bytes.
struct Limited<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read > self.limit {
            return Err(io::Error::other(LimitExceeded));
        }
        // Ask for at most one byte past the limit, enough to tell that it was passed.
        let room = (self.limit - self.read).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(LimitExceeded));
        }
        Ok(n)
    }
}

/// An opened parcel file.
pub(super) struct Source {
    pub reader: Box<dyn Read + Send>,
    pub gzip: bool,
}

fn has_gz_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Opens bytes already in memory (a fetched snapshot) named `name`, sniffing gzip by their
/// first two bytes; the same rules and cap as [`open`].
pub(super) fn open_bytes(
    name: &Path,
    bytes: Arc<[u8]>,
    max_decompressed_bytes: u64,
) -> Result<Source, CadastreError> {
    let gzip = bytes.starts_with(&[0x1f, 0x8b]);
    if !gzip && has_gz_name(name) {
        return Err(CadastreError::NotGzip {
            path: name.to_path_buf(),
        });
    }
    let cursor = io::Cursor::new(bytes);
    let reader: Box<dyn Read + Send> = if gzip {
        Box::new(Limited {
            inner: MultiGzDecoder::new(cursor),
            read: 0,
            limit: max_decompressed_bytes,
        })
    } else {
        Box::new(cursor)
    };
    Ok(Source { reader, gzip })
}

/// Opens `path`, sniffing gzip by its first two bytes.
pub(super) fn open(path: &Path, max_decompressed_bytes: u64) -> Result<Source, CadastreError> {
    let io_err = |source| CadastreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(io_err)?;
    let mut magic = [0u8; 2];
    let mut n = 0;
    while n < 2 {
        match f.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    f.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let gzip = n == 2 && magic == [0x1f, 0x8b];
    if !gzip && has_gz_name(path) {
        return Err(CadastreError::NotGzip {
            path: path.to_path_buf(),
        });
    }
    let reader: Box<dyn Read + Send> = if gzip {
        Box::new(Limited {
            inner: MultiGzDecoder::new(BufReader::with_capacity(1 << 16, f)),
            read: 0,
            limit: max_decompressed_bytes,
        })
    } else {
        Box::new(f)
    };
    Ok(Source { reader, gzip })
}

/// True when `e` is the cap of [`Limited`].
pub(super) fn is_limit(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<LimitExceeded>().is_some())
}
