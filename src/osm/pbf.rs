//! `.osm.pbf` reader. In: the path of an OSM PBF file (Geofabrik style: zlib blobs, dense
//! nodes), a tag filter and options. Out: an `OsmFeature` for every matching element — nodes as
//! points, closed ways (not `area=no`) as polygons, multipolygon/boundary relations as
//! multipolygons — and the `OsmIssue`s of matching elements that got no geometry. Open ways and
//! other relations are counted in `PbfStats`, not output.
//!
//! How (three passes, all parallel with rayon, memory bounded by the output, not the file):
//! 1. **scan**: every blob is read once, in order. Its decompression stops right after the
//!    string table and the first element id; when a `BlockHint` says no element of the block can
//!    match (none of the filter's strings is in the table), the rest is never decompressed.
//!    Otherwise the block is decoded and the filter applied to its nodes, ways and relations.
//!    Each blob's offset, first element type and first id go into a small index.
//! 2. **member ways**: the ways of matching relations that did not match themselves are read
//!    from the blocks that can hold them (with `Sort.Type_then_ID` in the header, the one block
//!    per id found through the index; otherwise every block).
//! 3. **node locations**: the same, for the nodes of all needed ways; only those locations are
//!    kept (sorted id → location pairs), never a whole-planet index.
//!
//! Then areas are assembled in parallel (`assemble.rs`). A ring is closed when its way's first
//! and last node ids are equal (osmium compares locations; they differ only for distinct nodes
//! at one spot). Damaged input (truncated file, corrupt zlib, bad protobuf) is an `OsmError`
//! naming the file and byte offset, never a panic.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::{Decompress, FlushDecompress, Status};
use rayon::prelude::*;

use super::assemble::{Loc, MemberWay, Role, assemble_area};
use super::filter::BlockHint;
use super::proto::{self, Fields, Value, WireError, read_varint, zigzag};
use super::{IssueCode, OsmError, OsmFeature, OsmGeometry, OsmIssue, OsmType};

/// The filter applied to every element's tags (`true` keeps it). It must be `Sync`: blocks are
/// filtered on several threads.
pub type TagPredicate<'a> = &'a (dyn Fn(&[(&str, &str)]) -> bool + Sync);

const MAX_HEADER_LEN: usize = 64 * 1024;
const MAX_BLOB_LEN: usize = 32 * 1024 * 1024;
const MAX_RAW_LEN: usize = 32 * 1024 * 1024;

/// Options of `read_pbf` / `extract_pbf`.
#[derive(Debug, Clone, Default)]
pub struct PbfOptions {
    /// Strings that a block must contain for the filter to match anything in it (see
    /// `BlockHint`); `None` decodes every block. Use `TagFilters::block_hint` or
    /// `DataCentreFilter::block_hint` for the matching filter.
    pub hint: Option<BlockHint>,
    /// Worker threads; 0 uses rayon's global pool (one per core).
    pub threads: usize,
}

/// What a read did: block counts, matches, lookups and the time of each pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PbfStats {
    pub bytes: u64,
    pub blocks: usize,
    /// Blocks decompressed and decoded in full during the scan.
    pub blocks_decoded: usize,
    /// Blocks of which only the string table was decompressed (the hint excluded them).
    pub blocks_skipped: usize,
    /// The header declares `Sort.Type_then_ID` and the blocks agree: lookups use the index.
    pub sorted: bool,
    pub nodes_matched: usize,
    pub ways_matched: usize,
    pub relations_matched: usize,
    /// Matching ways that are not closed or are tagged `area=no`.
    pub ways_not_area: usize,
    /// Matching relations that are not `type=multipolygon` / `type=boundary`.
    pub relations_not_area: usize,
    pub member_ways_needed: usize,
    pub member_ways_found: usize,
    pub nodes_needed: usize,
    pub nodes_found: usize,
    /// Blocks decoded by the member-way and node lookups.
    pub lookup_blocks: usize,
    pub time_scan: Duration,
    pub time_ways: Duration,
    pub time_nodes: Duration,
    pub time_assemble: Duration,
}

/// Features, issues and statistics of one read.
#[derive(Debug, Clone, Default)]
pub struct PbfOutput {
    pub features: Vec<OsmFeature>,
    pub issues: Vec<OsmIssue>,
    pub stats: PbfStats,
}

/// Reads `path` and returns the features whose tags pass `filter`, sorted by type and id, with
/// the issues of matching elements that have no geometry.
pub fn read_pbf(
    path: &Path,
    filter: TagPredicate<'_>,
    options: &PbfOptions,
) -> Result<(Vec<OsmFeature>, Vec<OsmIssue>), OsmError> {
    let out = extract_pbf(path, filter, options)?;
    Ok((out.features, out.issues))
}

/// `read_pbf` with statistics.
pub fn extract_pbf(
    path: &Path,
    filter: TagPredicate<'_>,
    options: &PbfOptions,
) -> Result<PbfOutput, OsmError> {
    if options.threads > 0
        && let Ok(pool) = rayon::ThreadPoolBuilder::new()
            .num_threads(options.threads)
            .build()
    {
        return pool.install(|| run(path, filter, options));
    }
    run(path, filter, options)
}

// ---------------------------------------------------------------------------------------------
// Blob reading

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Node,
    Way,
    Relation,
    Changeset,
}

struct RawBlob {
    seq: usize,
    /// Offset of the blob message (after its header) in the file.
    offset: u64,
    data: Vec<u8>,
}

struct BlobReader {
    path: PathBuf,
    reader: BufReader<File>,
    offset: u64,
    seq: usize,
    failed: bool,
}

enum BlobType {
    Header,
    Data,
    Other,
}

impl BlobReader {
    fn open(path: &Path) -> Result<BlobReader, OsmError> {
        let file = File::open(path).map_err(|source| OsmError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(BlobReader {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 20, file),
            offset: 0,
            seq: 0,
            failed: false,
        })
    }

    fn err(&self, offset: u64, message: impl Into<String>) -> OsmError {
        OsmError::Pbf {
            path: self.path.clone(),
            offset,
            message: message.into(),
        }
    }

    /// Fills `buf` completely; `Ok(false)` on a clean end of file before the first byte.
    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<bool, OsmError> {
        let mut done = 0;
        while done < buf.len() {
            match self.reader.read(&mut buf[done..]) {
                Ok(0) => {
                    if done == 0 && what == "blob header length" {
                        return Ok(false);
                    }
                    return Err(self.err(
                        self.offset + done as u64,
                        format!(
                            "the file is truncated: {what} needs {} bytes, {} are left",
                            buf.len(),
                            done
                        ),
                    ));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(OsmError::Io {
                        path: self.path.clone(),
                        source,
                    });
                }
            }
        }
        self.offset += buf.len() as u64;
        Ok(true)
    }

    fn next_blob(&mut self) -> Result<Option<(BlobType, RawBlob)>, OsmError> {
        let start = self.offset;
        let mut len = [0u8; 4];
        if !self.fill(&mut len, "blob header length")? {
            return Ok(None);
        }
        let header_len = u32::from_be_bytes(len) as usize;
        if header_len == 0 || header_len > MAX_HEADER_LEN {
            return Err(self.err(
                start,
                format!("blob header length {header_len} is out of range (not a PBF file?)"),
            ));
        }
        let mut header = vec![0u8; header_len];
        self.fill(&mut header, "blob header")?;
        let mut kind: Option<Vec<u8>> = None;
        let mut datasize: Option<u64> = None;
        let mut fields = Fields::new(&header);
        loop {
            match fields.next_field() {
                Ok(Some((1, Value::Bytes(b)))) => kind = Some(b.to_vec()),
                Ok(Some((3, Value::Varint(v)))) => datasize = Some(v),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(WireError(m)) => return Err(self.err(start + 4, format!("blob header: {m}"))),
            }
        }
        let (Some(kind), Some(datasize)) = (kind, datasize) else {
            return Err(self.err(start + 4, "blob header without type or datasize"));
        };
        let datasize = usize::try_from(datasize)
            .ok()
            .filter(|&d| d <= MAX_BLOB_LEN)
            .ok_or_else(|| self.err(start + 4, format!("blob size {datasize} is too large")))?;
        let offset = self.offset;
        let mut data = vec![0u8; datasize];
        self.fill(&mut data, "blob")?;
        let seq = self.seq;
        self.seq += 1;
        let blob_type = match kind.as_slice() {
            b"OSMHeader" => BlobType::Header,
            b"OSMData" => BlobType::Data,
            _ => BlobType::Other,
        };
        Ok(Some((blob_type, RawBlob { seq, offset, data })))
    }
}

/// Iterates over the data blobs (unknown blob types are skipped, as the format asks).
impl Iterator for BlobReader {
    type Item = Result<RawBlob, OsmError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            match self.next_blob() {
                Ok(Some((BlobType::Data, blob))) => return Some(Ok(blob)),
                Ok(Some((BlobType::Header, blob))) => {
                    self.failed = true;
                    return Some(Err(self.err(blob.offset, "a second OSMHeader blob")));
                }
                Ok(Some((BlobType::Other, _))) => continue,
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// The payload of a `Blob` message, decompressed on demand.
enum Unpacker<'a> {
    Raw(&'a [u8]),
    Zlib {
        input: &'a [u8],
        in_pos: usize,
        z: Box<Decompress>,
        out: Vec<u8>,
        /// The declared `raw_size`, if any (the format asks for it; 32 MiB at most).
        declared: Option<usize>,
        done: bool,
    },
}

impl<'a> Unpacker<'a> {
    fn new(blob: &'a [u8]) -> Result<Unpacker<'a>, String> {
        let mut raw_size: Option<usize> = None;
        let mut payload: Option<(u32, &[u8])> = None;
        let mut fields = Fields::new(blob);
        while let Some((n, v)) = fields.next_field().map_err(|e| format!("blob: {}", e.0))? {
            match (n, v) {
                (2, Value::Varint(s)) => raw_size = usize::try_from(s).ok(),
                (1 | 3 | 4 | 5 | 6 | 7, Value::Bytes(b)) => payload = Some((n, b)),
                _ => {}
            }
        }
        match payload {
            Some((1, b)) => Ok(Unpacker::Raw(b)),
            Some((3, b)) => {
                if let Some(size) = raw_size.filter(|&s| s > MAX_RAW_LEN) {
                    return Err(format!("blob raw size {size} is too large"));
                }
                Ok(Unpacker::Zlib {
                    input: b,
                    in_pos: 0,
                    z: Box::new(Decompress::new(true)),
                    out: Vec::new(),
                    declared: raw_size,
                    done: false,
                })
            }
            Some((4, _)) => Err("lzma-compressed blobs are not supported".into()),
            Some((5, _)) => Err("bzip2-compressed blobs are not supported".into()),
            Some((6, _)) => Err("lz4-compressed blobs are not supported".into()),
            Some((7, _)) => Err("zstd-compressed blobs are not supported".into()),
            _ => Err("blob without data".into()),
        }
    }

    fn data(&self) -> &[u8] {
        match self {
            Unpacker::Raw(b) => b,
            Unpacker::Zlib { out, .. } => out,
        }
    }

    /// Decompresses until at least `n` bytes are available (or the whole block is).
    fn ensure(&mut self, n: usize) -> Result<(), String> {
        let Unpacker::Zlib {
            input,
            in_pos,
            z,
            out,
            declared,
            done,
        } = self
        else {
            return Ok(());
        };
        let limit = declared.unwrap_or(MAX_RAW_LEN);
        let too_large = || format!("block is larger than its declared size {limit}");
        while !*done && out.len() < n {
            // Room for at least `n` bytes (all of them at once when the size is declared),
            // growing by doubling from 16 KiB, never past the limit plus a little slack (so
            // that the end of the stream can be seen).
            let step = out.len().saturating_mul(2).max(16 * 1024);
            let target = match declared {
                Some(_) => n.max(step),
                None => step,
            }
            .min(limit + 64);
            if target <= out.len() {
                return Err(too_large());
            }
            out.reserve_exact(target - out.len());
            let before_in = z.total_in();
            let before_out = out.len();
            let status = z
                .decompress_vec(&input[*in_pos..], out, FlushDecompress::None)
                .map_err(|e| format!("corrupt zlib data: {e}"))?;
            *in_pos += (z.total_in() - before_in) as usize;
            if out.len() > limit {
                return Err(too_large());
            }
            match status {
                Status::StreamEnd => *done = true,
                Status::Ok | Status::BufError => {
                    if out.len() == before_out && z.total_in() == before_in {
                        return Err(if *in_pos >= input.len() {
                            "truncated zlib data".to_string()
                        } else {
                            "zlib data makes no progress".to_string()
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<&[u8], String> {
        self.ensure(usize::MAX)?;
        if let Unpacker::Zlib {
            out,
            declared,
            done,
            ..
        } = self
        {
            if !*done {
                return Err("zlib data does not end".to_string());
            }
            if let Some(size) = *declared
                && out.len() != size
            {
                return Err(format!(
                    "block decompresses to {} bytes, its header says {size}",
                    out.len()
                ));
            }
        }
        Ok(self.data())
    }

    /// A varint at `*pos`, decompressing as needed; `None` at the end of the block.
    fn varint_at(&mut self, pos: &mut usize) -> Result<Option<u64>, String> {
        self.ensure(pos.saturating_add(10))?;
        if *pos >= self.data().len() {
            return Ok(None);
        }
        read_varint(self.data(), pos)
            .map(Some)
            .map_err(|e| e.0.to_string())
    }

    fn need_varint(&mut self, pos: &mut usize) -> Result<u64, String> {
        self.varint_at(pos)?
            .ok_or_else(|| "block ends inside a field".to_string())
    }
}

/// What the beginning of a block says.
struct Peek {
    first: Option<(Kind, i64)>,
    /// The hint admits the block (or there is no hint / no string table before the groups).
    admitted: bool,
}

/// The strings of a `BlockHint` as bytes, with each alternative as indexes into them.
struct HintMatcher {
    strings: Vec<Vec<u8>>,
    alternatives: Vec<Vec<usize>>,
    /// For each string length, the indexes of the hint strings of that length.
    by_len: Vec<Vec<usize>>,
}

impl HintMatcher {
    fn new(hint: &BlockHint) -> HintMatcher {
        let strings: Vec<Vec<u8>> = hint
            .strings()
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        let alternatives = hint
            .alternatives
            .iter()
            .map(|alt| {
                alt.iter()
                    .filter_map(|s| strings.iter().position(|t| t == s.as_bytes()))
                    .collect()
            })
            .collect();
        let max_len = strings.iter().map(Vec::len).max().unwrap_or(0);
        let mut by_len = vec![Vec::new(); max_len + 1];
        for (i, s) in strings.iter().enumerate() {
            by_len[s.len()].push(i);
        }
        HintMatcher {
            strings,
            alternatives,
            by_len,
        }
    }

    /// Whether a string table (a `StringTable` message) admits the block.
    fn admits(&self, table: &[u8]) -> Result<bool, String> {
        let mut present = vec![false; self.strings.len()];
        let mut fields = Fields::new(table);
        while let Some((n, v)) = fields.next_field().map_err(|e| e.0.to_string())? {
            if n != 1 {
                continue;
            }
            let s = v.bytes().map_err(|e| e.0.to_string())?;
            if let Some(candidates) = self.by_len.get(s.len()) {
                for &i in candidates {
                    if self.strings[i].as_slice() == s {
                        present[i] = true;
                    }
                }
            }
        }
        Ok(self
            .alternatives
            .iter()
            .any(|alt| alt.iter().all(|&i| present[i])))
    }
}

/// Reads the string table (checking the hint) and the first element of a `PrimitiveBlock`,
/// decompressing no more than that.
fn peek_block(u: &mut Unpacker<'_>, hint: Option<&HintMatcher>) -> Result<Peek, String> {
    let mut pos = 0usize;
    let mut admitted = hint.is_none();
    let mut seen_table = false;
    let mut first = None;
    while let Some(key) = u.varint_at(&mut pos)? {
        let (field, wire) = (key >> 3, (key & 7) as u8);
        match wire {
            proto::VARINT => {
                u.need_varint(&mut pos)?;
            }
            proto::FIXED64 => pos += 8,
            proto::FIXED32 => pos += 4,
            proto::LEN => {
                let len = usize::try_from(u.need_varint(&mut pos)?)
                    .map_err(|_| "length too large".to_string())?;
                let start = pos;
                let end = start
                    .checked_add(len)
                    .ok_or_else(|| "length too large".to_string())?;
                if field == 1 {
                    seen_table = true;
                    if let Some(h) = hint {
                        u.ensure(end)?;
                        let table = u
                            .data()
                            .get(start..end)
                            .ok_or_else(|| "string table runs past the block".to_string())?;
                        admitted = h.admits(table)?;
                    }
                } else if field == 2 {
                    first = peek_group(u, start, end)?;
                    break;
                }
                pos = end;
            }
            _ => return Err("unsupported wire type in block".into()),
        }
    }
    if !seen_table {
        admitted = true;
    }
    Ok(Peek { first, admitted })
}

/// The kind and id of the first element of the group at `start..end`.
fn peek_group(
    u: &mut Unpacker<'_>,
    start: usize,
    end: usize,
) -> Result<Option<(Kind, i64)>, String> {
    let mut pos = start;
    let Some(key) = u.varint_at(&mut pos)? else {
        return Ok(None);
    };
    if pos > end || key & 7 != u64::from(proto::LEN) {
        return Ok(None);
    }
    let kind = match key >> 3 {
        1 => Kind::Node,
        2 => Kind::Node,
        3 => Kind::Way,
        4 => Kind::Relation,
        5 => return Ok(Some((Kind::Changeset, 0))),
        _ => return Ok(None),
    };
    let dense = key >> 3 == 2;
    let len = usize::try_from(u.need_varint(&mut pos)?).map_err(|_| "length too large")?;
    let msg_end = pos.saturating_add(len).min(end);
    // Walk the element's fields up to its id (field 1).
    while pos < msg_end {
        let key = u.need_varint(&mut pos)?;
        let (field, wire) = (key >> 3, (key & 7) as u8);
        if field == 1 {
            let raw = if dense {
                if wire != proto::LEN {
                    return Ok(None);
                }
                u.need_varint(&mut pos)?; // length of the packed ids
                u.need_varint(&mut pos)?
            } else {
                u.need_varint(&mut pos)?
            };
            let id = if kind == Kind::Node {
                zigzag(raw)
            } else {
                raw as i64
            };
            return Ok(Some((kind, id)));
        }
        match wire {
            proto::VARINT => {
                u.need_varint(&mut pos)?;
            }
            proto::FIXED64 => pos += 8,
            proto::FIXED32 => pos += 4,
            proto::LEN => {
                let len = usize::try_from(u.need_varint(&mut pos)?).map_err(|_| "length")?;
                pos = pos.saturating_add(len);
            }
            _ => return Err("unsupported wire type in element".into()),
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Block decoding

/// A decoded `PrimitiveBlock` (borrowing the decompressed bytes).
struct Block<'a> {
    table: &'a [u8],
    groups: Vec<&'a [u8]>,
    granularity: i64,
    lat_offset: i64,
    lon_offset: i64,
}

impl<'a> Block<'a> {
    fn parse(data: &'a [u8]) -> Result<Block<'a>, WireError> {
        let mut block = Block {
            table: &[],
            groups: Vec::new(),
            granularity: 100,
            lat_offset: 0,
            lon_offset: 0,
        };
        let mut fields = Fields::new(data);
        while let Some((n, v)) = fields.next_field()? {
            match n {
                1 => block.table = v.bytes()?,
                2 => block.groups.push(v.bytes()?),
                17 => block.granularity = v.varint()? as i64,
                19 => block.lat_offset = v.varint()? as i64,
                20 => block.lon_offset = v.varint()? as i64,
                _ => {}
            }
        }
        if block.granularity <= 0 {
            return Err(WireError("granularity must be positive"));
        }
        Ok(block)
    }

    fn strings(&self) -> Result<Vec<Cow<'a, str>>, WireError> {
        let mut out = Vec::new();
        let mut fields = Fields::new(self.table);
        while let Some((n, v)) = fields.next_field()? {
            if n == 1 {
                out.push(String::from_utf8_lossy(v.bytes()?));
            }
        }
        Ok(out)
    }

    /// A stored latitude/longitude → 1e-7 degrees (rounded, clamped to the i32 range).
    fn loc(&self, raw_lon: i64, raw_lat: i64) -> Loc {
        let e7 = |offset: i64, raw: i64| {
            let nano = offset.saturating_add(self.granularity.saturating_mul(raw));
            let v = nano.div_euclid(100) + i64::from(nano.rem_euclid(100) >= 50);
            v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        };
        Loc::new(e7(self.lon_offset, raw_lon), e7(self.lat_offset, raw_lat))
    }
}

/// Reusable buffers for decoding.
#[derive(Default)]
struct Scratch {
    ids: Vec<i64>,
    lats: Vec<i64>,
    lons: Vec<i64>,
    kv: Vec<u32>,
    keys: Vec<u32>,
    vals: Vec<u32>,
}

/// A dense-node group's arrays.
fn decode_dense(dense: &[u8], s: &mut Scratch, with_tags: bool) -> Result<(), WireError> {
    s.ids.clear();
    s.lats.clear();
    s.lons.clear();
    s.kv.clear();
    let mut fields = Fields::new(dense);
    while let Some((n, v)) = fields.next_field()? {
        match n {
            1 => proto::packed_delta(v, &mut s.ids)?,
            8 => proto::packed_delta(v, &mut s.lats)?,
            9 => proto::packed_delta(v, &mut s.lons)?,
            10 if with_tags => proto::packed_u32(v, &mut s.kv)?,
            _ => {}
        }
    }
    if s.lats.len() != s.ids.len() || s.lons.len() != s.ids.len() {
        return Err(WireError(
            "dense nodes: id, lat and lon arrays differ in length",
        ));
    }
    Ok(())
}

/// The fields of a `Way` or `Relation` needed here, undecoded.
#[derive(Default)]
struct ElementFields<'a> {
    id: i64,
    keys: Option<Value<'a>>,
    vals: Option<Value<'a>>,
    refs: Option<Value<'a>>,
    roles: Option<Value<'a>>,
    types: Option<Value<'a>>,
    lat: Option<Value<'a>>,
    lon: Option<Value<'a>>,
}

impl<'a> ElementFields<'a> {
    /// `Node` (sint64 id, lat 8, lon 9), `Way` (refs 8), `Relation` (roles 8, memids 9,
    /// types 10).
    fn parse(msg: &'a [u8], kind: Kind) -> Result<ElementFields<'a>, WireError> {
        let mut e = ElementFields::default();
        let mut fields = Fields::new(msg);
        while let Some((n, v)) = fields.next_field()? {
            match (kind, n) {
                (Kind::Node, 1) => e.id = zigzag(v.varint()?),
                (_, 1) => e.id = v.varint()? as i64,
                (_, 2) => e.keys = Some(v),
                (_, 3) => e.vals = Some(v),
                (Kind::Node, 8) => e.lat = Some(v),
                (Kind::Node, 9) => e.lon = Some(v),
                (Kind::Way, 8) => e.refs = Some(v),
                (Kind::Relation, 8) => e.roles = Some(v),
                (Kind::Relation, 9) => e.refs = Some(v),
                (Kind::Relation, 10) => e.types = Some(v),
                _ => {}
            }
        }
        Ok(e)
    }

    fn tags<'s>(
        &self,
        strings: &'s [Cow<'s, str>],
        s: &mut Scratch,
        out: &mut Vec<(&'s str, &'s str)>,
    ) -> Result<(), WireError> {
        out.clear();
        s.keys.clear();
        s.vals.clear();
        if let Some(k) = self.keys {
            proto::packed_u32(k, &mut s.keys)?;
        }
        if let Some(v) = self.vals {
            proto::packed_u32(v, &mut s.vals)?;
        }
        if s.keys.len() != s.vals.len() {
            return Err(WireError("keys and values differ in length"));
        }
        for (&k, &v) in s.keys.iter().zip(&s.vals) {
            out.push((string_at(strings, k)?, string_at(strings, v)?));
        }
        Ok(())
    }

    fn refs(&self) -> Result<Vec<i64>, WireError> {
        let mut out = Vec::new();
        if let Some(r) = self.refs {
            proto::packed_delta(r, &mut out)?;
        }
        Ok(out)
    }
}

fn string_at<'s>(strings: &'s [Cow<'s, str>], i: u32) -> Result<&'s str, WireError> {
    strings
        .get(i as usize)
        .map(|s| s.as_ref())
        .ok_or(WireError("string index out of range"))
}

fn owned(tags: &[(&str, &str)]) -> Vec<(String, String)> {
    tags.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

struct WayRec {
    id: i64,
    tags: Vec<(String, String)>,
    refs: Vec<i64>,
}

struct RelRec {
    id: i64,
    tags: Vec<(String, String)>,
    /// Way members: (way id, role).
    ways: Vec<(i64, Role)>,
}

#[derive(Default)]
struct ScanOut {
    seq: usize,
    offset: u64,
    len: usize,
    first: Option<(Kind, i64)>,
    decoded: bool,
    points: Vec<OsmFeature>,
    ways: Vec<WayRec>,
    relations: Vec<RelRec>,
    relations_not_area: usize,
}

/// Applies the filter to every element of a block.
fn match_block(
    block: &Block<'_>,
    filter: TagPredicate<'_>,
    out: &mut ScanOut,
) -> Result<(), WireError> {
    let strings = block.strings()?;
    let mut s = Scratch::default();
    let mut tags: Vec<(&str, &str)> = Vec::new();
    for group in &block.groups {
        let mut fields = Fields::new(group);
        while let Some((n, v)) = fields.next_field()? {
            match n {
                1 => {
                    let e = ElementFields::parse(v.bytes()?, Kind::Node)?;
                    e.tags(&strings, &mut s, &mut tags)?;
                    if !tags.is_empty() && filter(&tags) {
                        let lat = e.lat.map(Value::varint).transpose()?.map(zigzag);
                        let lon = e.lon.map(Value::varint).transpose()?.map(zigzag);
                        let loc = block.loc(lon.unwrap_or(0), lat.unwrap_or(0));
                        out.points.push(point_feature(e.id, owned(&tags), loc));
                    }
                }
                2 => {
                    decode_dense(v.bytes()?, &mut s, true)?;
                    let mut k = 0usize;
                    for i in 0..s.ids.len() {
                        tags.clear();
                        while k < s.kv.len() && s.kv[k] != 0 {
                            let key = string_at(&strings, s.kv[k])?;
                            let val = string_at(&strings, *s.kv.get(k + 1).unwrap_or(&0))?;
                            tags.push((key, val));
                            k += 2;
                        }
                        k += 1; // the 0 that ends this node's tags
                        if !tags.is_empty() && filter(&tags) {
                            let loc = block.loc(s.lons[i], s.lats[i]);
                            out.points.push(point_feature(s.ids[i], owned(&tags), loc));
                        }
                    }
                }
                3 => {
                    let e = ElementFields::parse(v.bytes()?, Kind::Way)?;
                    e.tags(&strings, &mut s, &mut tags)?;
                    if !tags.is_empty() && filter(&tags) {
                        out.ways.push(WayRec {
                            id: e.id,
                            tags: owned(&tags),
                            refs: e.refs()?,
                        });
                    }
                }
                4 => {
                    let e = ElementFields::parse(v.bytes()?, Kind::Relation)?;
                    e.tags(&strings, &mut s, &mut tags)?;
                    if tags.is_empty() || !filter(&tags) {
                        continue;
                    }
                    let is_area = tags
                        .iter()
                        .any(|&(k, v)| k == "type" && (v == "multipolygon" || v == "boundary"));
                    if !is_area {
                        out.relations_not_area += 1;
                        continue;
                    }
                    let memids = e.refs()?;
                    let mut roles = Vec::new();
                    let mut types = Vec::new();
                    if let Some(r) = e.roles {
                        proto::packed_u32(r, &mut roles)?;
                    }
                    if let Some(t) = e.types {
                        proto::packed_u32(t, &mut types)?;
                    }
                    if roles.len() != memids.len() || types.len() != memids.len() {
                        return Err(WireError("relation member arrays differ in length"));
                    }
                    let mut ways = Vec::new();
                    for ((&id, &role), &t) in memids.iter().zip(&roles).zip(&types) {
                        if t == 1 {
                            ways.push((id, Role::parse(string_at(&strings, role)?)));
                        }
                    }
                    out.relations.push(RelRec {
                        id: e.id,
                        tags: owned(&tags),
                        ways,
                    });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn point_feature(id: i64, tags: Vec<(String, String)>, loc: Loc) -> OsmFeature {
    OsmFeature {
        osm_type: OsmType::Node,
        id,
        tags,
        geometry: OsmGeometry::Point {
            lon: loc.lon_deg(),
            lat: loc.lat_deg(),
        },
    }
}

/// Node locations of the `wanted` (sorted) ids found in a block.
fn find_nodes(
    block: &Block<'_>,
    wanted: &[i64],
    found: &mut Vec<(i64, Loc)>,
) -> Result<(), WireError> {
    let mut s = Scratch::default();
    for group in &block.groups {
        let mut fields = Fields::new(group);
        while let Some((n, v)) = fields.next_field()? {
            match n {
                1 => {
                    let e = ElementFields::parse(v.bytes()?, Kind::Node)?;
                    if wanted.binary_search(&e.id).is_ok() {
                        let lat = e.lat.map(Value::varint).transpose()?.map(zigzag);
                        let lon = e.lon.map(Value::varint).transpose()?.map(zigzag);
                        found.push((e.id, block.loc(lon.unwrap_or(0), lat.unwrap_or(0))));
                    }
                }
                2 => {
                    decode_dense(v.bytes()?, &mut s, false)?;
                    let (Some(&lo), Some(&hi)) = (s.ids.iter().min(), s.ids.iter().max()) else {
                        continue;
                    };
                    let a = wanted.partition_point(|&w| w < lo);
                    let b = wanted.partition_point(|&w| w <= hi);
                    let wanted = &wanted[a..b];
                    if wanted.is_empty() {
                        continue;
                    }
                    for i in 0..s.ids.len() {
                        if wanted.binary_search(&s.ids[i]).is_ok() {
                            found.push((s.ids[i], block.loc(s.lons[i], s.lats[i])));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Node lists of the `wanted` (sorted) way ids found in a block.
fn find_ways(
    block: &Block<'_>,
    wanted: &[i64],
    found: &mut Vec<(i64, Vec<i64>)>,
) -> Result<(), WireError> {
    for group in &block.groups {
        let mut fields = Fields::new(group);
        while let Some((n, v)) = fields.next_field()? {
            if n == 3 {
                let e = ElementFields::parse(v.bytes()?, Kind::Way)?;
                if wanted.binary_search(&e.id).is_ok() {
                    found.push((e.id, e.refs()?));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The passes

struct IndexEntry {
    offset: u64,
    len: usize,
    first: Option<(Kind, i64)>,
}

fn pbf_err(path: &Path, offset: u64, message: impl Into<String>) -> OsmError {
    OsmError::Pbf {
        path: path.to_path_buf(),
        offset,
        message: message.into(),
    }
}

/// Reads and checks the `OSMHeader` blob; returns whether the file is sorted by type then id.
fn read_header(reader: &mut BlobReader) -> Result<bool, OsmError> {
    let Some((kind, blob)) = reader.next_blob()? else {
        return Err(pbf_err(&reader.path, 0, "the file is empty"));
    };
    if !matches!(kind, BlobType::Header) {
        return Err(pbf_err(
            &reader.path,
            0,
            "the first blob is not an OSMHeader (not an OSM PBF file?)",
        ));
    }
    let err = |m: String| pbf_err(&reader.path, blob.offset, m);
    let mut u = Unpacker::new(&blob.data).map_err(err)?;
    let data = u.finish().map_err(err)?;
    let mut sorted = false;
    let mut fields = Fields::new(data);
    loop {
        match fields.next_field() {
            Ok(Some((4, Value::Bytes(f)))) => {
                let feature = String::from_utf8_lossy(f);
                if !matches!(
                    feature.as_ref(),
                    "OsmSchema-V0.6" | "DenseNodes" | "HistoricalInformation"
                ) {
                    return Err(err(format!("unsupported required feature `{feature}`")));
                }
            }
            Ok(Some((5, Value::Bytes(f)))) => {
                if f == b"Sort.Type_then_ID" {
                    sorted = true;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return Err(err(format!("header block: {}", e.0))),
        }
    }
    Ok(sorted)
}

fn scan_blob(
    path: &Path,
    blob: RawBlob,
    hint: Option<&HintMatcher>,
    filter: TagPredicate<'_>,
) -> Result<ScanOut, OsmError> {
    let err = |m: String| pbf_err(path, blob.offset, m);
    let mut u = Unpacker::new(&blob.data).map_err(err)?;
    let peek = peek_block(&mut u, hint).map_err(err)?;
    let mut out = ScanOut {
        seq: blob.seq,
        offset: blob.offset,
        len: blob.data.len(),
        first: peek.first,
        ..ScanOut::default()
    };
    if peek.admitted {
        out.decoded = true;
        let data = u.finish().map_err(err)?;
        let block = Block::parse(data).map_err(|e| err(e.0.to_string()))?;
        match_block(&block, filter, &mut out).map_err(|e| err(e.0.to_string()))?;
    }
    Ok(out)
}

/// Reads the blob of an index entry again and decodes it.
fn with_block<T>(
    path: &Path,
    entry: &IndexEntry,
    f: impl FnOnce(&Block<'_>) -> Result<T, WireError>,
) -> Result<T, OsmError> {
    let io = |source| OsmError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(entry.offset)).map_err(io)?;
    let mut data = vec![0u8; entry.len];
    file.read_exact(&mut data).map_err(io)?;
    let err = |m: String| pbf_err(path, entry.offset, m);
    let mut u = Unpacker::new(&data).map_err(err)?;
    let raw = u.finish().map_err(err)?;
    let block = Block::parse(raw).map_err(|e| err(e.0.to_string()))?;
    f(&block).map_err(|e| err(e.0.to_string()))
}

/// The index entries of the blocks that may hold any of `ids` (sorted) of `kind`.
fn candidate_blocks(index: &[IndexEntry], kind: Kind, ids: &[i64], sorted: bool) -> Vec<usize> {
    if ids.is_empty() {
        return Vec::new();
    }
    if !sorted {
        return (0..index.len()).collect();
    }
    // Blocks starting with `kind`, in file (= id) order, and the last block before them that
    // starts with an earlier kind (it may end with elements of `kind`).
    let of_kind: Vec<(i64, usize)> = index
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.first {
            Some((k, id)) if k == kind => Some((id, i)),
            _ => None,
        })
        .collect();
    let transition = index
        .iter()
        .rposition(|e| e.first.is_some_and(|(k, _)| k < kind));
    let mut out = Vec::new();
    for &id in ids {
        let p = of_kind.partition_point(|&(first, _)| first <= id);
        let block = if p == 0 {
            transition
        } else {
            Some(of_kind[p - 1].1)
        };
        if let Some(b) = block
            && out.last() != Some(&b)
        {
            out.push(b);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// What pass 1 found: the block index (in file order) and the matched elements, ways and
/// relations sorted by id.
struct Scanned {
    index: Vec<IndexEntry>,
    points: Vec<OsmFeature>,
    ways: Vec<WayRec>,
    relations: Vec<RelRec>,
}

/// A matched element with its issues, as the assembly gives it.
type Assembled = (Option<OsmFeature>, Vec<OsmIssue>);

fn run(path: &Path, filter: TagPredicate<'_>, options: &PbfOptions) -> Result<PbfOutput, OsmError> {
    let mut stats = PbfStats::default();
    let t0 = Instant::now();
    let scanned = scan_pass(path, filter, options, &mut stats)?;
    stats.time_scan = t0.elapsed();
    let t1 = Instant::now();
    let member_ways = member_way_pass(path, &scanned, &mut stats)?;
    stats.time_ways = t1.elapsed();
    let t2 = Instant::now();
    let locations = node_pass(path, &scanned, &member_ways, &mut stats)?;
    stats.time_nodes = t2.elapsed();
    let t3 = Instant::now();
    let (features, issues) = assemble(scanned, member_ways, &locations, &mut stats);
    stats.time_assemble = t3.elapsed();
    Ok(PbfOutput {
        features,
        issues,
        stats,
    })
}

/// Pass 1: every blob scanned in parallel → the block index and the matched elements.
fn scan_pass(
    path: &Path,
    filter: TagPredicate<'_>,
    options: &PbfOptions,
    stats: &mut PbfStats,
) -> Result<Scanned, OsmError> {
    let mut reader = BlobReader::open(path)?;
    let header_sorted = read_header(&mut reader)?;
    let hint = options.hint.as_ref().map(HintMatcher::new);
    let mut scans: Vec<ScanOut> = reader
        .par_bridge()
        .map(|blob| scan_blob(path, blob?, hint.as_ref(), filter))
        .collect::<Result<Vec<_>, _>>()?;
    scans.sort_unstable_by_key(|s| s.seq);
    let mut out = Scanned {
        index: Vec::with_capacity(scans.len()),
        points: Vec::new(),
        ways: Vec::new(),
        relations: Vec::new(),
    };
    for s in scans {
        stats.blocks += 1;
        stats.bytes += s.len as u64;
        if s.decoded {
            stats.blocks_decoded += 1;
        } else {
            stats.blocks_skipped += 1;
        }
        stats.relations_not_area += s.relations_not_area;
        out.index.push(IndexEntry {
            offset: s.offset,
            len: s.len,
            first: s.first,
        });
        out.points.extend(s.points);
        out.ways.extend(s.ways);
        out.relations.extend(s.relations);
    }
    stats.relations_matched = out.relations.len() + stats.relations_not_area;
    stats.nodes_matched = out.points.len();
    stats.ways_matched = out.ways.len();
    let firsts: Vec<(Kind, i64)> = out.index.iter().filter_map(|e| e.first).collect();
    let blocks_in_order = firsts
        .windows(2)
        .all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1));
    stats.sorted = header_sorted && blocks_in_order;
    out.ways.sort_unstable_by_key(|w| w.id);
    out.relations.sort_unstable_by_key(|r| r.id);
    Ok(out)
}

/// Pass 2: the member ways of matched relations that did not match themselves → (way id,
/// node refs), sorted by id.
fn member_way_pass(
    path: &Path,
    scanned: &Scanned,
    stats: &mut PbfStats,
) -> Result<Vec<(i64, Vec<i64>)>, OsmError> {
    let ways = &scanned.ways;
    let mut member_ids: Vec<i64> = scanned
        .relations
        .iter()
        .flat_map(|r| r.ways.iter().map(|(id, _)| *id))
        .filter(|id| ways.binary_search_by_key(id, |w| w.id).is_err())
        .collect();
    member_ids.sort_unstable();
    member_ids.dedup();
    stats.member_ways_needed = member_ids.len();
    let blocks = candidate_blocks(&scanned.index, Kind::Way, &member_ids, stats.sorted);
    stats.lookup_blocks += blocks.len();
    let mut member_ways: Vec<(i64, Vec<i64>)> = blocks
        .par_iter()
        .map(|&b| {
            with_block(path, &scanned.index[b], |block| {
                let mut found = Vec::new();
                find_ways(block, &member_ids, &mut found)?;
                Ok(found)
            })
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    member_ways.sort_unstable_by_key(|w| w.0);
    member_ways.dedup_by_key(|w| w.0);
    stats.member_ways_found = member_ways.len();
    Ok(member_ways)
}

/// A closed way not tagged `area=no`.
fn is_area_way(w: &WayRec) -> bool {
    w.refs.len() >= 2
        && w.refs.first() == w.refs.last()
        && !w.tags.iter().any(|(k, v)| k == "area" && v == "no")
}

/// Pass 3: the locations of the nodes of area ways and relation members, sorted by id.
fn node_pass(
    path: &Path,
    scanned: &Scanned,
    member_ways: &[(i64, Vec<i64>)],
    stats: &mut PbfStats,
) -> Result<Vec<(i64, Loc)>, OsmError> {
    let ways = &scanned.ways;
    let mut node_ids: Vec<i64> = ways
        .iter()
        .filter(|w| is_area_way(w))
        .flat_map(|w| w.refs.iter().copied())
        .chain(
            member_ways
                .iter()
                .flat_map(|(_, refs)| refs.iter().copied()),
        )
        .chain(scanned.relations.iter().flat_map(|r| {
            r.ways.iter().flat_map(|(id, _)| {
                ways.binary_search_by_key(id, |w| w.id)
                    .map(|i| ways[i].refs.as_slice())
                    .unwrap_or(&[])
                    .iter()
                    .copied()
            })
        }))
        .collect();
    node_ids.sort_unstable();
    node_ids.dedup();
    stats.nodes_needed = node_ids.len();
    let blocks = candidate_blocks(&scanned.index, Kind::Node, &node_ids, stats.sorted);
    stats.lookup_blocks += blocks.len();
    let mut locations: Vec<(i64, Loc)> = blocks
        .par_iter()
        .map(|&b| {
            with_block(path, &scanned.index[b], |block| {
                let mut found = Vec::new();
                find_nodes(block, &node_ids, &mut found)?;
                Ok(found)
            })
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    locations.sort_unstable_by_key(|l| l.0);
    locations.dedup_by_key(|l| l.0);
    stats.nodes_found = locations.len();
    Ok(locations)
}

/// The locations of node refs, or the first node not found.
fn locate_refs(locations: &[(i64, Loc)], refs: &[i64]) -> Result<Vec<Loc>, i64> {
    refs.iter()
        .map(|id| {
            locations
                .binary_search_by_key(id, |l| l.0)
                .map(|i| locations[i].1)
                .map_err(|_| *id)
        })
        .collect()
}

/// Assembly: relations first (they borrow the matched ways), then the ways, moved into
/// features; points as they are. Features sorted by (type, id).
fn assemble(
    scanned: Scanned,
    member_ways: Vec<(i64, Vec<i64>)>,
    locations: &[(i64, Loc)],
    stats: &mut PbfStats,
) -> (Vec<OsmFeature>, Vec<OsmIssue>) {
    let Scanned {
        points,
        ways,
        relations,
        ..
    } = scanned;
    let rel_results: Vec<Assembled> = relations
        .into_par_iter()
        .map(|r| assemble_relation(r, &ways, &member_ways, locations))
        .collect();
    drop(member_ways);
    stats.ways_not_area = ways.iter().filter(|w| !is_area_way(w)).count();
    let way_results: Vec<Assembled> = ways
        .into_par_iter()
        .filter(is_area_way)
        .map(|w| {
            let locs = match locate_refs(locations, &w.refs) {
                Ok(l) => l,
                Err(node) => {
                    let issue = OsmIssue::new(
                        IssueCode::OsmWayMissingNode,
                        OsmType::Way,
                        w.id,
                        format!("node {node} is not in the file"),
                    );
                    return (None, vec![issue]);
                }
            };
            let member = MemberWay {
                way_id: w.id,
                role: Role::Empty,
                locs,
            };
            area_feature(OsmType::Way, w.id, w.tags, &[member])
        })
        .collect();
    let mut features = points;
    let mut issues = Vec::new();
    for (feature, mut found) in way_results.into_iter().chain(rel_results) {
        features.extend(feature);
        issues.append(&mut found);
    }
    features.sort_by_key(|f| (f.osm_type, f.id));
    (features, issues)
}

/// One relation: its member ways (matched or looked up) located → an area feature, or an
/// issue naming what is missing from the file.
fn assemble_relation(
    r: RelRec,
    ways: &[WayRec],
    member_ways: &[(i64, Vec<i64>)],
    locations: &[(i64, Loc)],
) -> Assembled {
    let issue = |code, message: String| OsmIssue::new(code, OsmType::Relation, r.id, message);
    let refs_of = |id: i64| match ways.binary_search_by_key(&id, |w| w.id) {
        Ok(i) => Some(ways[i].refs.as_slice()),
        Err(_) => member_ways
            .binary_search_by_key(&id, |w| w.0)
            .ok()
            .map(|i| member_ways[i].1.as_slice()),
    };
    let missing: Vec<i64> = r
        .ways
        .iter()
        .map(|&(id, _)| id)
        .filter(|&id| refs_of(id).is_none())
        .collect();
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .take(10)
            .map(|id| format!("way/{id}"))
            .collect();
        let message = format!(
            "{} of {} member way(s) are not in the file: {}{}",
            missing.len(),
            r.ways.len(),
            list.join(", "),
            if missing.len() > 10 { ", ..." } else { "" }
        );
        return (
            None,
            vec![issue(IssueCode::OsmMultipolygonMissingWay, message)],
        );
    }
    let mut members = Vec::with_capacity(r.ways.len());
    for &(id, role) in &r.ways {
        let refs = refs_of(id).unwrap_or(&[]);
        match locate_refs(locations, refs) {
            Ok(locs) => members.push(MemberWay {
                way_id: id,
                role,
                locs,
            }),
            Err(node) => {
                let message = format!("node {node} of member way {id} is not in the file");
                return (None, vec![issue(IssueCode::OsmWayMissingNode, message)]);
            }
        }
    }
    area_feature(OsmType::Relation, r.id, r.tags, &members)
}

fn area_feature(
    osm_type: OsmType,
    id: i64,
    tags: Vec<(String, String)>,
    members: &[MemberWay],
) -> (Option<OsmFeature>, Vec<OsmIssue>) {
    match assemble_area(osm_type, id, members) {
        Ok((mp, warnings)) => (
            Some(OsmFeature {
                osm_type,
                id,
                tags,
                geometry: OsmGeometry::Area(mp),
            }),
            warnings,
        ),
        Err(issue) => (None, vec![issue]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: Kind, first: i64) -> IndexEntry {
        IndexEntry {
            offset: 0,
            len: 0,
            first: Some((kind, first)),
        }
    }

    #[test]
    fn candidate_blocks_follow_the_sorted_index() {
        // Node blocks from ids 1, 100, 200 and 300 (the last one ends with ways 1..9), way
        // blocks from 10 and 50, a relation block.
        let index = vec![
            entry(Kind::Node, 1),
            entry(Kind::Node, 100),
            entry(Kind::Node, 200),
            entry(Kind::Node, 300),
            entry(Kind::Way, 10),
            entry(Kind::Way, 50),
            entry(Kind::Relation, 1),
        ];
        let nodes = candidate_blocks(&index, Kind::Node, &[1, 99, 100, 250, 1000], true);
        assert_eq!(nodes, vec![0, 1, 2, 3]);
        assert_eq!(candidate_blocks(&index, Kind::Node, &[150], true), vec![1]);
        let ways = candidate_blocks(&index, Kind::Way, &[5, 10, 60], true);
        assert_eq!(ways, vec![3, 4, 5]);
        assert_eq!(
            candidate_blocks(&index, Kind::Way, &[], true),
            Vec::<usize>::new()
        );
        assert_eq!(candidate_blocks(&index, Kind::Way, &[60], false).len(), 7);
    }

    #[test]
    fn zlib_prefix_and_whole_block_agree() {
        use std::io::Write;
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&data).unwrap();
        let z = enc.finish().unwrap();
        let mut blob = Vec::new();
        proto::encode::field_varint(&mut blob, 2, data.len() as u64);
        proto::encode::field_bytes(&mut blob, 3, &z);
        let mut u = Unpacker::new(&blob).unwrap();
        u.ensure(100).unwrap();
        assert!(u.data().len() >= 100 && u.data().len() < data.len());
        assert_eq!(&u.data()[..100], &data[..100]);
        assert_eq!(u.finish().unwrap(), data.as_slice());
        // A wrong declared size is an error, as is a cut stream.
        let mut bad = Vec::new();
        proto::encode::field_varint(&mut bad, 2, 10);
        proto::encode::field_bytes(&mut bad, 3, &z);
        assert!(Unpacker::new(&bad).unwrap().finish().is_err());
        let mut cut = Vec::new();
        proto::encode::field_varint(&mut cut, 2, data.len() as u64);
        proto::encode::field_bytes(&mut cut, 3, &z[..z.len() / 2]);
        assert!(Unpacker::new(&cut).unwrap().finish().is_err());
        // Without a declared size, the block still decompresses (growing as it goes).
        let mut undeclared = Vec::new();
        proto::encode::field_bytes(&mut undeclared, 3, &z);
        assert_eq!(
            Unpacker::new(&undeclared).unwrap().finish().unwrap(),
            data.as_slice()
        );
        let mut lz4 = Vec::new();
        proto::encode::field_bytes(&mut lz4, 6, b"xx");
        assert!(Unpacker::new(&lz4).is_err());
    }
}
