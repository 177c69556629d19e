//! A byte stream in → batches of complete feature texts out (each batch one read block with
//! the byte ranges of the features that end in it), plus the checks of the surrounding
//! FeatureCollection. Only the feature being scanned is carried from one block to the next,
//! so memory stays at about one block plus the largest feature, whatever the file size.
//!
//! The scan tracks only strings and bracket depth inside a feature; the feature parser
//! (`feature`) checks the rest. The top-level object is checked byte by byte: `type` must be
//! `"FeatureCollection"` when present, `features` must be an array of objects, other members
//! are skipped. Member names are compared as written (a name spelled with `\u` escapes is not
//! recognised).
//!
//! Line shortcut (`set_fast_lines`, used by `read::scan_parcels`): in Etalab files each
//! feature is one line ending in `},`, so a feature that starts a line and whose line ends so
//! is taken whole without scanning its bytes; the feature parser then proves the span (a JSON
//! object has exactly one end) and any error makes the caller read the file again strictly.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::error::CadastreError;
use super::source::{self, Source};

/// Bytes asked from the source per block (one block → at most one batch).
pub(super) const BLOCK: usize = 1 << 17;

/// Complete features of one block.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub data: Vec<u8>,
    /// Byte ranges of the features in `data`.
    pub spans: Vec<(usize, usize)>,
    /// Number of the first feature of the batch in the file (0-based).
    pub first_index: u64,
    /// Offset of `data[0]` in the (decompressed) stream.
    pub base_offset: u64,
}

/// Position of the first `needle` in `hay`, eight bytes at a time.
#[inline]
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let rep = LO * u64::from(needle);
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for c in chunks.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w) ^ rep;
        let t = x.wrapping_sub(LO) & !x & HI;
        if t != 0 {
            return Some(base + (t.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|p| base + p)
}

/// Scans one JSON value of unknown length; resumable at any byte.
#[derive(Debug, Clone, Copy, Default)]
struct ValueScan {
    depth: u32,
    in_str: bool,
    esc: bool,
    started: bool,
}

/// Bytes that matter outside strings.
static STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t
};

impl ValueScan {
    /// Feeds `data`; `Some(n)` when the value ends after `n` bytes of it (for a bare scalar,
    /// at the delimiter that follows it), `None` when all of `data` belongs to it.
    #[inline]
    fn feed(&mut self, data: &[u8]) -> Option<usize> {
        let mut i = 0;
        let n = data.len();
        while i < n {
            if self.in_str {
                if self.esc {
                    self.esc = false;
                    i += 1;
                    continue;
                }
                // Skip to the next quote or backslash.
                while i < n && data[i] != b'"' && data[i] != b'\\' {
                    i += 1;
                }
                if i == n {
                    return None;
                }
                if data[i] == b'\\' {
                    self.esc = true;
                } else {
                    self.in_str = false;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                i += 1;
                continue;
            }
            if self.depth > 0 {
                // Inside an object or array: jump to the next structural byte.
                while i < n && !STRUCTURAL[data[i] as usize] {
                    i += 1;
                }
                if i == n {
                    return None;
                }
            }
            match data[i] {
                b'"' => {
                    self.in_str = true;
                    self.started = true;
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    self.started = true;
                }
                b'}' | b']' => {
                    if self.depth == 0 {
                        return Some(i);
                    }
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' => {
                    // Only reached at depth 0: the end of a bare scalar.
                    if self.started {
                        return Some(i);
                    }
                }
                _ => self.started = true,
            }
            i += 1;
        }
        None
    }
}

/// Where the scan is in the top-level object.
#[derive(Debug, Clone, Copy)]
enum Top {
    Start,
    Key {
        first: bool,
    },
    InKey {
        esc: bool,
    },
    Colon,
    Value,
    InType {
        esc: bool,
    },
    Skip(ValueScan),
    /// An element of `features` that is not an object, skipped.
    SkipElem(ValueScan),
    AfterValue,
    Elem {
        first: bool,
    },
    InFeature(ValueScan),
    AfterElem,
    End,
}

/// Splits a FeatureCollection stream into feature batches.
pub(super) struct Splitter {
    src: Box<dyn Read + Send>,
    path: PathBuf,
    gzip: bool,
    max_decompressed: u64,
    max_feature: usize,
    buf: Vec<u8>,
    pos: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    state: Top,
    /// Start in `buf` of the feature being scanned.
    cur_start: Option<usize>,
    spans: Vec<(usize, usize)>,
    batch_first: u64,
    features: u64,
    token: Vec<u8>,
    key_is_long: bool,
    saw_features: bool,
    saw_any_byte: bool,
    eof: bool,
    done: bool,
    pending: Option<CadastreError>,
    spare: Vec<Vec<u8>>,
    fast_lines: bool,
    /// Elements of `features` that were not objects: the number of the feature after each.
    not_objects: Vec<u64>,
}

const MAX_TOKEN: usize = 256;

impl Splitter {
    pub fn open(
        path: &Path,
        max_decompressed: u64,
        max_feature: usize,
    ) -> Result<Self, CadastreError> {
        let Source { reader, gzip } = source::open(path, max_decompressed)?;
        Ok(Self::new(reader, path, gzip, max_decompressed, max_feature))
    }

    /// Opens bytes already in memory, named `name` in messages.
    pub fn open_bytes(
        name: &Path,
        bytes: std::sync::Arc<[u8]>,
        max_decompressed: u64,
        max_feature: usize,
    ) -> Result<Self, CadastreError> {
        let Source { reader, gzip } = source::open_bytes(name, bytes, max_decompressed)?;
        Ok(Self::new(reader, name, gzip, max_decompressed, max_feature))
    }

    pub fn new(
        src: Box<dyn Read + Send>,
        path: &Path,
        gzip: bool,
        max_decompressed: u64,
        max_feature: usize,
    ) -> Self {
        Splitter {
            src,
            path: path.to_path_buf(),
            gzip,
            max_decompressed,
            max_feature,
            buf: Vec::with_capacity(BLOCK + (BLOCK >> 2)),
            pos: 0,
            base: 0,
            state: Top::Start,
            cur_start: None,
            spans: Vec::new(),
            batch_first: 0,
            features: 0,
            token: Vec::new(),
            key_is_long: false,
            saw_features: false,
            saw_any_byte: false,
            eof: false,
            done: false,
            pending: None,
            spare: Vec::new(),
            fast_lines: false,
            not_objects: Vec::new(),
        }
    }

    /// Line shortcut: a feature that starts a line and whose line ends with `},` is taken
    /// to end at that `}` without scanning it (Etalab files have one feature a line). A span
    /// so found is right exactly when the feature parser accepts it as one whole object (a
    /// JSON object has one end); on any error the caller must read again without it.
    pub fn set_fast_lines(&mut self, on: bool) {
        self.fast_lines = on;
    }

    /// Complete features found so far.
    pub fn features(&self) -> u64 {
        self.features
    }

    /// Elements of `features` skipped because they are not objects (a string, a number), each
    /// as the number of the feature that follows it.
    pub fn not_objects(&self) -> &[u64] {
        &self.not_objects
    }

    /// Hands a batch buffer back for reuse.
    pub fn give_back(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < 2 {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// The next batch of complete features; `Ok(None)` at the clean end of the file. After an
    /// error, the features completed before it are returned first, then the error, then `None`.
    pub fn next_batch(&mut self) -> Result<Option<Batch>, CadastreError> {
        loop {
            if self.done {
                return Ok(None);
            }
            if self.pos < self.buf.len() && self.pending.is_none() {
                if let Err(e) = self.step() {
                    self.pending = Some(e);
                    self.pos = self.buf.len();
                }
                continue;
            }
            if !self.spans.is_empty() {
                return Ok(Some(self.take_batch()));
            }
            if let Some(e) = self.pending.take() {
                self.done = true;
                return Err(e);
            }
            if self.eof {
                self.done = true;
                return match self.state {
                    Top::End if self.saw_features => Ok(None),
                    Top::End => Err(self.not_fc("it has no `features` member")),
                    Top::Start if !self.saw_any_byte => Err(self.not_fc("the file is empty")),
                    Top::Start => Err(self.not_fc("no JSON object in the file")),
                    s => Err(CadastreError::Truncated {
                        path: self.path.clone(),
                        offset: self.offset(),
                        features_read: self.features,
                        context: match s {
                            Top::InFeature(_) => "inside a feature",
                            Top::Elem { .. } | Top::AfterElem => "between two features",
                            _ => "inside the FeatureCollection object",
                        },
                    }),
                };
            }
            match self.read_more() {
                Ok(true) => {}
                Ok(false) => self.eof = true,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn not_fc(&self, message: &str) -> CadastreError {
        CadastreError::NotFeatureCollection {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }

    fn syntax(&self, message: &str) -> CadastreError {
        CadastreError::Syntax {
            path: self.path.clone(),
            offset: self.offset(),
            feature_index: None,
            message: message.to_string(),
        }
    }

    fn take_batch(&mut self) -> Batch {
        let keep = self.cur_start.unwrap_or(self.pos);
        let mut next = self.spare.pop().unwrap_or_default();
        next.clear();
        next.extend_from_slice(&self.buf[keep..]);
        let data = std::mem::replace(&mut self.buf, next);
        let batch = Batch {
            data,
            spans: std::mem::take(&mut self.spans),
            first_index: self.batch_first,
            base_offset: self.base,
        };
        self.base += keep as u64;
        self.pos -= keep;
        if let Some(s) = &mut self.cur_start {
            *s -= keep;
        }
        self.batch_first = self.features;
        batch
    }

    /// Reads the next block. `Ok(false)` at the end of the stream.
    fn read_more(&mut self) -> Result<bool, CadastreError> {
        let keep = self.cur_start.unwrap_or(self.pos);
        if keep > 0 {
            self.buf.drain(..keep);
            self.base += keep as u64;
            self.pos -= keep;
            if let Some(s) = &mut self.cur_start {
                *s -= keep;
            }
        }
        let old = self.buf.len();
        self.buf.reserve_exact(BLOCK);
        self.buf.resize(old + BLOCK, 0);
        let mut filled = old;
        let mut err = None;
        while filled < self.buf.len() {
            match self.src.read(&mut self.buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        self.buf.truncate(filled);
        if let Some(e) = err {
            let e = self.map_io(e, filled as u64);
            if filled > old {
                // Use the bytes that came before the error, then report it.
                self.pending = Some(e);
            } else {
                return Err(e);
            }
        }
        Ok(filled > old)
    }

    fn map_io(&self, e: io::Error, filled: u64) -> CadastreError {
        let decompressed = self.base + filled;
        if source::is_limit(&e) {
            CadastreError::DecompressedTooLarge {
                path: self.path.clone(),
                limit: self.max_decompressed,
            }
        } else if self.gzip && e.kind() == io::ErrorKind::UnexpectedEof {
            CadastreError::Truncated {
                path: self.path.clone(),
                offset: decompressed,
                features_read: self.features,
                context: "inside the gzip stream",
            }
        } else if self.gzip {
            CadastreError::Gzip {
                path: self.path.clone(),
                decompressed,
                source: e,
            }
        } else {
            CadastreError::Io {
                path: self.path.clone(),
                source: e,
            }
        }
    }

    /// Consumes `buf[pos..]`.
    fn step(&mut self) -> Result<(), CadastreError> {
        let len = self.buf.len();
        if len > self.pos {
            self.saw_any_byte = true;
        }
        while self.pos < len {
            match self.state {
                Top::InFeature(mut scan) => {
                    let start = self.cur_start.unwrap_or(self.pos);
                    match scan.feed(&self.buf[self.pos..]) {
                        Some(n) => {
                            let end = self.pos + n;
                            self.spans.push((start, end));
                            self.features += 1;
                            self.pos = end;
                            self.cur_start = None;
                            self.state = Top::AfterElem;
                        }
                        None => {
                            self.pos = len;
                            self.state = Top::InFeature(scan);
                            if len - start > self.max_feature {
                                return Err(CadastreError::FeatureTooLarge {
                                    path: self.path.clone(),
                                    feature_index: self.features,
                                    offset: self.base + start as u64,
                                    limit: self.max_feature as u64,
                                });
                            }
                        }
                    }
                }
                Top::Skip(mut scan) => match scan.feed(&self.buf[self.pos..]) {
                    Some(n) => {
                        self.pos += n;
                        self.state = Top::AfterValue;
                    }
                    None => {
                        self.pos = len;
                        self.state = Top::Skip(scan);
                    }
                },
                Top::SkipElem(mut scan) => match scan.feed(&self.buf[self.pos..]) {
                    Some(n) => {
                        self.pos += n;
                        self.not_objects.push(self.features);
                        self.state = Top::AfterElem;
                    }
                    None => {
                        self.pos = len;
                        self.state = Top::SkipElem(scan);
                    }
                },
                _ => {
                    let b = self.buf[self.pos];
                    self.byte(b)?;
                }
            }
        }
        Ok(())
    }

    /// One byte of the top-level structure at `pos`.
    fn byte(&mut self, b: u8) -> Result<(), CadastreError> {
        let ws = matches!(b, b' ' | b'\n' | b'\r' | b'\t');
        match self.state {
            Top::Start => {
                if ws || (matches!(b, 0xEF | 0xBB | 0xBF) && self.offset() < 3) {
                } else if b == b'{' {
                    self.state = Top::Key { first: true };
                } else {
                    return Err(self.not_fc("the file does not start with a JSON object"));
                }
            }
            Top::Key { first } => {
                if ws {
                } else if b == b'"' {
                    self.token.clear();
                    self.key_is_long = false;
                    self.state = Top::InKey { esc: false };
                } else if b == b'}' && first {
                    self.state = Top::End;
                } else {
                    return Err(self.syntax("expected a member name in the top-level object"));
                }
            }
            Top::InKey { esc } | Top::InType { esc } => {
                let in_key = matches!(self.state, Top::InKey { .. });
                let mut next_esc = false;
                if esc {
                    self.push_token(b);
                } else if b == b'\\' {
                    next_esc = true;
                    self.push_token(b);
                } else if b == b'"' {
                    self.pos += 1;
                    if in_key {
                        self.state = Top::Colon;
                    } else {
                        if self.token != b"FeatureCollection" {
                            let t = String::from_utf8_lossy(&self.token).into_owned();
                            return Err(self.not_fc(&format!("its type is {t:?}")));
                        }
                        self.state = Top::AfterValue;
                    }
                    return Ok(());
                } else if b < 0x20 {
                    return Err(self.syntax("control character in a string"));
                } else {
                    self.push_token(b);
                }
                self.state = if in_key {
                    Top::InKey { esc: next_esc }
                } else {
                    Top::InType { esc: next_esc }
                };
            }
            Top::Colon => {
                if ws {
                } else if b == b':' {
                    self.state = Top::Value;
                } else {
                    return Err(self.syntax("expected ':' after a member name"));
                }
            }
            Top::Value => {
                if ws {
                } else if self.token == b"features" && !self.key_is_long {
                    if b != b'[' {
                        return Err(self.not_fc("`features` is not an array"));
                    }
                    self.saw_features = true;
                    self.state = Top::Elem { first: true };
                } else if self.token == b"type" && !self.key_is_long {
                    if b != b'"' {
                        return Err(self.not_fc("`type` is not a string"));
                    }
                    self.token.clear();
                    self.key_is_long = false;
                    self.state = Top::InType { esc: false };
                } else if matches!(
                    b,
                    b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
                ) {
                    self.state = Top::Skip(ValueScan::default());
                    return Ok(()); // the scan starts on this byte
                } else {
                    return Err(self.syntax("expected a value"));
                }
            }
            Top::AfterValue => {
                if ws {
                } else if b == b',' {
                    self.state = Top::Key { first: false };
                } else if b == b'}' {
                    self.state = Top::End;
                } else {
                    return Err(self.syntax("expected ',' or '}' in the top-level object"));
                }
            }
            Top::Elem { first } => {
                if ws {
                } else if b == b'{' {
                    if self.fast_lines && self.line_feature() {
                        return Ok(());
                    }
                    self.cur_start = Some(self.pos);
                    self.state = Top::InFeature(ValueScan::default());
                    return Ok(()); // the scan starts on this byte
                } else if b == b']' && first {
                    self.state = Top::AfterValue;
                } else if matches!(b, b'"' | b'[' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') {
                    // Not a feature: skipped, counted (`not_objects`).
                    self.state = Top::SkipElem(ValueScan::default());
                    return Ok(()); // the scan starts on this byte
                } else {
                    return Err(self.syntax("expected a feature object in `features`"));
                }
            }
            Top::AfterElem => {
                if ws {
                } else if b == b',' {
                    self.state = Top::Elem { first: false };
                } else if b == b']' {
                    self.state = Top::AfterValue;
                } else {
                    return Err(self.syntax("expected ',' or ']' after a feature"));
                }
            }
            Top::End => {
                if !ws {
                    return Err(self.syntax("data after the end of the FeatureCollection"));
                }
            }
            Top::Skip(_) | Top::SkipElem(_) | Top::InFeature(_) => {}
        }
        self.pos += 1;
        Ok(())
    }

    /// The line shortcut at a feature's '{' (at `pos`): true when it took the feature.
    fn line_feature(&mut self) -> bool {
        let start = self.pos;
        let Some(nl) = find_byte(&self.buf[start..], b'\n') else {
            return false;
        };
        let line = &self.buf[start..start + nl];
        let mut e = line.len();
        let trim = |e: &mut usize| {
            while *e > 0 && matches!(line[*e - 1], b' ' | b'\t' | b'\r') {
                *e -= 1;
            }
        };
        trim(&mut e);
        if e == 0 || line[e - 1] != b',' {
            return false;
        }
        e -= 1;
        trim(&mut e);
        if e == 0 || line[e - 1] != b'}' || e > self.max_feature {
            return false;
        }
        self.spans.push((start, start + e));
        self.features += 1;
        self.pos = start + e;
        self.state = Top::AfterElem;
        true
    }

    fn push_token(&mut self, b: u8) {
        if self.token.len() < MAX_TOKEN {
            self.token.push(b);
        } else {
            self.key_is_long = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `text` read in pieces of `chunk` bytes.
    fn split(text: &[u8], chunk: usize) -> Result<Vec<String>, CadastreError> {
        split_mode(text, chunk, false)
    }

    fn split_mode(text: &[u8], chunk: usize, fast: bool) -> Result<Vec<String>, CadastreError> {
        struct Chunky(Vec<u8>, usize, usize);
        impl Read for Chunky {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.2).min(self.0.len() - self.1);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut s = Splitter::new(
            Box::new(Chunky(text.to_vec(), 0, chunk)),
            Path::new("t.json"),
            false,
            u64::MAX,
            1 << 20,
        );
        s.set_fast_lines(fast);
        let mut out = Vec::new();
        while let Some(b) = s.next_batch()? {
            for &(a, e) in &b.spans {
                out.push(String::from_utf8(b.data[a..e].to_vec()).unwrap_or_default());
            }
        }
        Ok(out)
    }

    #[test]
    fn splits_features_whatever_the_read_sizes() {
        let text =
            br#"{"type":"FeatureCollection","name":"x","crs":{"a":[1,{"b":"}"}]},"features":[
{"type":"Feature","properties":{"s":"a\"]}"},"geometry":null} ,
  {"x":[[1,2]]}
],"bbox":[0,1,2,3],"n":-1.5e3,"t":true}
"#;
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let got = split(text, chunk).unwrap();
            assert_eq!(
                got,
                vec![
                    r#"{"type":"Feature","properties":{"s":"a\"]}"},"geometry":null}"#,
                    r#"{"x":[[1,2]]}"#
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn structure_errors() {
        for (text, want) in [
            (&b""[..], "empty"),
            (b"  ", "no JSON object"),
            (b"[1]", "does not start"),
            (br#"{"type":"Feature"}"#, "its type is"),
            (br#"{"type":"FeatureCollection"}"#, "no `features`"),
            (br#"{"features":{}}"#, "not an array"),
            (br#"{"features":[}"#, "expected a feature object"),
            (br#"{"features":[]} x"#, "data after"),
            (br#"{"features":[{}"#, "between two features"),
            (br#"{"features":[{"a":[1,2"#, "inside a feature"),
            (br#"{"features":[{}],"#, "inside the FeatureCollection"),
        ] {
            let e = split(text, 3).unwrap_err().to_string();
            assert!(e.contains(want), "{e} / {want}");
        }
    }

    #[test]
    fn line_shortcut_takes_one_feature_lines() {
        let text = b"{\"type\":\"FeatureCollection\",\"features\":[\n{\"a\":1} , \r\n{\"b\":[2]},\n{\"c\":\"},\"},\n{\"d\":4}\n]}";
        for chunk in [1, 5, 4096] {
            let got = split_mode(text, chunk, true).unwrap();
            assert_eq!(
                got,
                [r#"{"a":1}"#, r#"{"b":[2]}"#, r#"{"c":"},"}"#, r#"{"d":4}"#]
            );
        }
        // A feature spread over lines fools the shortcut: here the splitter notices (the
        // next line is no feature); in general only the feature parser can tell, which is
        // why such spans are marked speculative and any error means a strict re-read.
        let text = b"{\"features\":[\n{\"c\":{\"x\":1},\n\"y\":2},\n{}]}";
        assert!(split_mode(text, 4096, true).is_err());
        assert_eq!(split_mode(text, 4096, false).unwrap().len(), 2);
    }

    #[test]
    fn find_byte_finds_the_first() {
        let hay = b"abcdefghij\nklmnop\nq";
        for start in 0..hay.len() {
            assert_eq!(
                find_byte(&hay[start..], b'\n'),
                hay[start..].iter().position(|&b| b == b'\n')
            );
        }
        assert_eq!(find_byte(b"", b'x'), None);
    }

    #[test]
    fn empty_collection_is_fine() {
        assert!(
            split(br#"{"type":"FeatureCollection","features":[]}"#, 5)
                .unwrap()
                .is_empty()
        );
    }
}
