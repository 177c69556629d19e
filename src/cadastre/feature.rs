//! One GeoJSON feature as bytes in → its id, raw `properties` text and flat geometry out.
//!
//! A small validating JSON parser specialised for Etalab parcel features: numbers take an exact
//! fast path (Clinger: mantissa < 2^53 and |exponent| ≤ 22 is one correctly rounded operation)
//! and fall back to the standard library otherwise; the geometry is parsed straight into a
//! reusable [`FlatGeom`] (no allocation per feature once warmed up); `properties` is skipped by
//! its brackets and strings and remembered as a byte range, then parsed and checked in full
//! into [`Props`] only when the parcel is built. Other values that are skipped are checked for
//! structure (brackets, commas, numbers, literals, string escapes), not for UTF-8.

use std::borrow::Cow;

/// Deepest nesting accepted anywhere in a feature (GeoJSON needs 6).
const MAX_DEPTH: u32 = 64;

/// A JSON syntax error inside one feature, at byte `pos` of the feature text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub pos: usize,
    pub message: &'static str,
}

type Res<T> = Result<T, SyntaxError>;

/// GeoJSON geometry type named by a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GeomKind {
    Polygon,
    MultiPolygon,
    Other,
}

/// Coordinates of one feature, flattened: `coords`, then ring ends (exclusive indices into
/// `coords`), then polygon ends (exclusive indices into `ring_ends`).
#[derive(Debug, Default, Clone)]
pub(super) struct FlatGeom {
    pub coords: Vec<[f64; 2]>,
    pub ring_ends: Vec<u32>,
    pub poly_ends: Vec<u32>,
    /// Array closings seen while parsing: (nesting level, coords so far).
    events: Vec<(u8, u32)>,
    /// Nesting level of positions (0 = `coordinates` itself), once one was seen.
    pos_level: Option<u8>,
    /// A structural problem found while parsing (mixed nesting, short position, ...).
    pub problem: Option<&'static str>,
    pub kind: Option<GeomKind>,
    pub has_coordinates: bool,
    pub null_geometry: bool,
}

impl FlatGeom {
    fn clear(&mut self) {
        self.coords.clear();
        self.ring_ends.clear();
        self.poly_ends.clear();
        self.events.clear();
        self.pos_level = None;
        self.problem = None;
        self.kind = None;
        self.has_coordinates = false;
        self.null_geometry = false;
    }

    /// Turns the parse into polygons and rings. `Err` is the `parcel_bad_geometry` detail.
    pub fn finish(&mut self) -> Result<(), &'static str> {
        if self.null_geometry {
            return Err("geometry is null");
        }
        let kind = match self.kind {
            None => return Err("geometry has no type"),
            Some(GeomKind::Other) => return Err("geometry is not a Polygon or MultiPolygon"),
            Some(k) => k,
        };
        if let Some(p) = self.problem {
            return Err(p);
        }
        if !self.has_coordinates {
            return Err("geometry has no coordinates");
        }
        let want = match kind {
            GeomKind::Polygon => 2,
            _ => 3,
        };
        match self.pos_level {
            None => return Err("geometry has no positions"),
            Some(l) if l != want => {
                return Err("coordinates nesting does not match the geometry type");
            }
            Some(_) => {}
        }
        // Rings close at level want-1, polygons at want-2 (level 0 for Polygon = the whole).
        let ring_level = want - 1;
        let poly_level = want - 2;
        for &(level, n) in &self.events {
            if level == ring_level {
                self.ring_ends.push(n);
            } else if level == poly_level {
                self.poly_ends.push(self.ring_ends.len() as u32);
            }
        }
        // Drop empty polygons (no ring at all).
        let mut prev = 0u32;
        self.poly_ends.retain(|&e| {
            let keep = e > prev;
            prev = e;
            keep
        });
        if self.poly_ends.is_empty() {
            return Err("geometry has no polygon");
        }
        Ok(())
    }

    /// Ring `r` as a coordinate slice.
    pub fn ring(&self, r: usize) -> &[[f64; 2]] {
        let start = if r == 0 {
            0
        } else {
            self.ring_ends[r - 1] as usize
        };
        &self.coords[start..self.ring_ends[r] as usize]
    }

    /// Ring index range of polygon `p`.
    pub fn poly_rings(&self, p: usize) -> std::ops::Range<usize> {
        let start = if p == 0 {
            0
        } else {
            self.poly_ends[p - 1] as usize
        };
        start..self.poly_ends[p] as usize
    }
}

/// Why a ring is not usable, or `None` when it is.
pub(super) fn ring_problem(ring: &[[f64; 2]]) -> Option<&'static str> {
    if ring.len() < 4 {
        return Some("ring has fewer than 4 positions");
    }
    if ring.first() != ring.last() {
        return Some("ring is not closed");
    }
    for c in ring {
        if !(c[0].is_finite() && c[1].is_finite()) {
            return Some("ring has a non-finite coordinate");
        }
        if c[0].abs() > 180.0 || c[1].abs() > 90.0 {
            return Some("ring has a coordinate outside longitude/latitude range");
        }
    }
    // All positions equal (or on one line) → no area.
    let a = planar_twice_area(ring);
    if a == 0.0 {
        return Some("ring has zero area");
    }
    None
}

/// Twice the signed planar area of a closed ring (positive = counter-clockwise).
pub(super) fn planar_twice_area(ring: &[[f64; 2]]) -> f64 {
    if ring.len() < 3 {
        return 0.0;
    }
    let o = ring[0];
    let mut s = 0.0;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        s += (a[0] - o[0]) * (b[1] - o[1]) - (b[0] - o[0]) * (a[1] - o[1]);
    }
    s
}

/// The parts of a feature found by [`parse_feature`].
#[derive(Debug, Default)]
pub(super) struct RawFeature<'a> {
    /// The feature's own `id` (string or number), if any.
    pub id: Option<Cow<'a, str>>,
    /// The `properties` object text (validated), if it is an object.
    pub properties: Option<&'a [u8]>,
}

/// Values of the parcel properties we use.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Props {
    pub id: Option<String>,
    pub commune: Option<String>,
    pub prefixe: Option<String>,
    pub section: Option<String>,
    pub numero: Option<String>,
    pub contenance: Contenance,
}

/// What `contenance` held.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) enum Contenance {
    #[default]
    Missing,
    Null,
    NotANumber,
    Value(f64),
}

/// Parses one feature object (exactly one JSON object, surrounding whitespace allowed).
/// The geometry goes into `geom` (cleared first); call [`FlatGeom::finish`] afterwards.
pub(super) fn parse_feature<'a>(bytes: &'a [u8], geom: &mut FlatGeom) -> Res<RawFeature<'a>> {
    geom.clear();
    let mut c = Cursor { b: bytes, i: 0 };
    let mut out = RawFeature::default();
    c.ws();
    c.eat(b'{', "expected '{' at the start of a feature")?;
    let mut saw_geometry = false;
    c.object_members(|c, key| {
        match key.as_ref() {
            b"geometry" => {
                saw_geometry = true;
                c.geometry(geom)?;
            }
            b"properties" => {
                let start = c.i;
                let is_object = c.peek() == Some(b'{');
                if is_object {
                    // Checked in full by `parse_props` when the parcel is built.
                    c.skip_structural()?;
                } else {
                    c.skip_value(0)?;
                }
                if is_object {
                    out.properties = Some(&c.b[start..c.i]);
                }
            }
            b"id" => match c.peek() {
                Some(b'"') => out.id = Some(c.string()?),
                Some(b'-' | b'0'..=b'9') => {
                    let start = c.i;
                    c.number()?;
                    out.id = Some(Cow::Borrowed(ascii(&c.b[start..c.i])));
                }
                _ => c.skip_value(0)?,
            },
            _ => c.skip_value(0)?,
        }
        Ok(())
    })?;
    c.ws();
    if c.i != bytes.len() {
        return Err(c.err("unexpected data after the feature object"));
    }
    if !saw_geometry {
        geom.null_geometry = true;
    }
    Ok(out)
}

/// Parses a `properties` object text returned by [`parse_feature`].
pub(super) fn parse_props(bytes: &[u8]) -> Res<Props> {
    let mut c = Cursor { b: bytes, i: 0 };
    let mut p = Props::default();
    c.ws();
    c.eat(b'{', "expected '{' for properties")?;
    c.object_members(|c, key| {
        let slot = match key.as_ref() {
            b"id" => &mut p.id,
            b"commune" => &mut p.commune,
            b"prefixe" => &mut p.prefixe,
            b"section" => &mut p.section,
            b"numero" => &mut p.numero,
            b"contenance" => {
                p.contenance = match c.peek() {
                    Some(b'-' | b'0'..=b'9') => Contenance::Value(c.number()?),
                    Some(b'n') => {
                        c.skip_value(0)?;
                        Contenance::Null
                    }
                    _ => {
                        c.skip_value(0)?;
                        Contenance::NotANumber
                    }
                };
                return Ok(());
            }
            _ => return c.skip_value(0),
        };
        *slot = c.text_value()?;
        Ok(())
    })?;
    Ok(p)
}

fn ascii(b: &[u8]) -> &str {
    // Only called on spans the number scanner accepted (ASCII digits, signs, '.', 'e').
    std::str::from_utf8(b).unwrap_or_default()
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, message: &'static str) -> SyntaxError {
        SyntaxError {
            pos: self.i,
            message,
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, ch: u8, message: &'static str) -> Res<()> {
        if self.peek() == Some(ch) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(message))
        }
    }

    /// Iterates the members of an object whose '{' was consumed; `f` must consume the value.
    fn object_members(
        &mut self,
        mut f: impl FnMut(&mut Self, Cow<'a, [u8]>) -> Res<()>,
    ) -> Res<()> {
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a member name"));
            }
            let key = self.raw_string_bytes()?;
            self.ws();
            self.eat(b':', "expected ':' after a member name")?;
            self.ws();
            f(self, key)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or '}' in an object")),
            }
        }
    }

    /// A string's raw bytes (cursor on its opening quote): borrowed and not checked for UTF-8
    /// when it has no escapes (enough to compare it with ASCII names), else unescaped.
    #[inline]
    fn raw_string_bytes(&mut self) -> Res<Cow<'a, [u8]>> {
        let b = self.b;
        let start = self.i + 1;
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    self.i = i + 1;
                    return Ok(Cow::Borrowed(&b[start..i]));
                }
                b'\\' => break,
                0..=0x1f => {
                    self.i = i;
                    return Err(self.err("control character in a string"));
                }
                _ => i += 1,
            }
        }
        match self.string()? {
            Cow::Borrowed(s) => Ok(Cow::Borrowed(s.as_bytes())),
            Cow::Owned(s) => Ok(Cow::Owned(s.into_bytes())),
        }
    }

    /// A string value at the cursor (on its opening quote).
    fn string(&mut self) -> Res<Cow<'a, str>> {
        self.eat(b'"', "expected a string")?;
        let start = self.i;
        let b = self.b;
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    let s = std::str::from_utf8(&b[start..i]).map_err(|_| SyntaxError {
                        pos: start,
                        message: "string is not valid UTF-8",
                    })?;
                    self.i = i + 1;
                    return Ok(Cow::Borrowed(s));
                }
                b'\\' => {
                    self.i = i;
                    return self.string_escaped(start).map(Cow::Owned);
                }
                0..=0x1f => {
                    self.i = i;
                    return Err(self.err("control character in a string"));
                }
                _ => i += 1,
            }
        }
        self.i = i;
        Err(self.err("unterminated string"))
    }

    fn string_escaped(&mut self, start: usize) -> Res<String> {
        let mut out: Vec<u8> = self.b[start..self.i].to_vec();
        loop {
            let Some(ch) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match ch {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                if self.b.get(self.i..self.i + 2) == Some(b"\\u") {
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(self.err("invalid surrogate pair"));
                                    }
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                } else {
                                    return Err(self.err("lone surrogate in a string"));
                                }
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Err(self.err("lone surrogate in a string"));
                            }
                            let c =
                                char::from_u32(cp).ok_or_else(|| self.err("invalid \\u escape"))?;
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                        }
                        _ => return Err(self.err("invalid escape in a string")),
                    }
                }
                0..=0x1f => return Err(self.err("control character in a string")),
                _ => out.push(ch),
            }
        }
        String::from_utf8(out).map_err(|_| SyntaxError {
            pos: start,
            message: "string is not valid UTF-8",
        })
    }

    fn hex4(&mut self) -> Res<u32> {
        let Some(h) = self.b.get(self.i..self.i + 4) else {
            return Err(self.err("short \\u escape"));
        };
        let mut v = 0u32;
        for &d in h {
            let x = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape")),
            };
            v = v * 16 + u32::from(x);
        }
        self.i += 4;
        Ok(v)
    }

    /// A string or a number as text; `null` as `None`; anything else skipped as `None`.
    fn text_value(&mut self) -> Res<Option<String>> {
        match self.peek() {
            Some(b'"') => Ok(Some(self.string()?.into_owned())),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                self.number()?;
                Ok(Some(ascii(&self.b[start..self.i]).to_string()))
            }
            _ => {
                self.skip_value(0)?;
                Ok(None)
            }
        }
    }

    /// A JSON number at the cursor.
    #[inline]
    fn number(&mut self) -> Res<f64> {
        let b = self.b;
        let start = self.i;
        let mut i = start;
        let neg = b.get(i) == Some(&b'-');
        if neg {
            i += 1;
        }
        let mut mant: u64 = 0;
        let mut ndigits: u32 = 0;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(&d @ b'0'..=b'9') = b.get(i) {
                    mant = mant.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                    ndigits += 1;
                    i += 1;
                }
            }
            _ => {
                self.i = i;
                return Err(self.err("invalid number"));
            }
        }
        let mut frac: i32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let fstart = i;
            while let Some(&d @ b'0'..=b'9') = b.get(i) {
                mant = mant.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                if mant != 0 || ndigits != 0 {
                    ndigits += 1;
                }
                i += 1;
            }
            if i == fstart {
                self.i = i;
                return Err(self.err("invalid number: no digit after '.'"));
            }
            frac = (i - fstart) as i32;
        }
        let mut exp: i32 = 0;
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            let eneg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let estart = i;
            while let Some(&d @ b'0'..=b'9') = b.get(i) {
                if exp < 100_000 {
                    exp = exp * 10 + i32::from(d - b'0');
                }
                i += 1;
            }
            if i == estart {
                self.i = i;
                return Err(self.err("invalid number: no digit in the exponent"));
            }
            if eneg {
                exp = -exp;
            }
        }
        self.i = i;
        let e10 = exp - frac;
        if ndigits <= 19 && mant < (1u64 << 53) && (-22..=22).contains(&e10) {
            let m = mant as f64;
            let v = if e10 >= 0 {
                m * POW10[e10 as usize]
            } else {
                m / POW10[(-e10) as usize]
            };
            return Ok(if neg { -v } else { v });
        }
        ascii(&b[start..i]).parse::<f64>().map_err(|_| SyntaxError {
            pos: start,
            message: "invalid number",
        })
    }

    /// Skips one value, checking its structure.
    fn skip_value(&mut self, depth: u32) -> Res<()> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') => {
                self.i += 1;
                self.object_members(|c, _| c.skip_value(depth + 1))
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected ',' or ']' in an array")),
                    }
                }
            }
            Some(b'"') => self.skip_string(),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(_) => Err(self.err("expected a value")),
            None => Err(self.err("unexpected end of feature")),
        }
    }

    /// Skips an object or array by its brackets and strings only (cursor on its opening
    /// bracket). Exact for valid JSON; invalid content inside is not noticed here.
    fn skip_structural(&mut self) -> Res<()> {
        let b = self.b;
        let mut i = self.i;
        let mut depth = 0u32;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i = i + 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.i = b.len();
        Err(self.err("unexpected end of feature"))
    }

    fn skip_string(&mut self) -> Res<()> {
        self.i += 1;
        let b = self.b;
        let mut i = self.i;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    self.i = i + 1;
                    return Ok(());
                }
                b'\\' => {
                    match b.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        Some(b'u') => {
                            self.i = i + 2;
                            self.hex4()?;
                            i = self.i;
                        }
                        _ => {
                            self.i = i;
                            return Err(self.err("invalid escape in a string"));
                        }
                    }
                    continue;
                }
                0..=0x1f => {
                    self.i = i;
                    return Err(self.err("control character in a string"));
                }
                _ => i += 1,
            }
        }
        self.i = i;
        Err(self.err("unterminated string"))
    }

    fn literal(&mut self, word: &'static [u8]) -> Res<()> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("invalid literal"))
        }
    }

    /// The `geometry` member value: an object or `null`.
    fn geometry(&mut self, g: &mut FlatGeom) -> Res<()> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                g.null_geometry = true;
                Ok(())
            }
            Some(b'{') => {
                self.i += 1;
                self.object_members(|c, key| match key.as_ref() {
                    b"type" => {
                        if c.peek() == Some(b'"') {
                            let t = c.raw_string_bytes()?;
                            g.kind = Some(match t.as_ref() {
                                b"Polygon" => GeomKind::Polygon,
                                b"MultiPolygon" => GeomKind::MultiPolygon,
                                _ => GeomKind::Other,
                            });
                            Ok(())
                        } else {
                            g.kind = Some(GeomKind::Other);
                            c.skip_value(0)
                        }
                    }
                    b"coordinates" => {
                        g.has_coordinates = true;
                        if c.peek() == Some(b'[') {
                            c.coords(g, 0)
                        } else {
                            g.problem.get_or_insert("coordinates is not an array");
                            c.skip_value(0)
                        }
                    }
                    _ => c.skip_value(0),
                })
            }
            _ => {
                g.problem.get_or_insert("geometry is not an object");
                self.skip_value(0)
            }
        }
    }

    /// A (nested) coordinates array at nesting `level`, cursor on its '['.
    fn coords(&mut self, g: &mut FlatGeom, level: u8) -> Res<()> {
        if u32::from(level) > 8 {
            g.problem.get_or_insert("coordinates nested too deep");
            return self.skip_value(0);
        }
        self.i += 1; // '['
        self.ws();
        match self.peek() {
            Some(b']') => {
                self.i += 1;
                g.events.push((level, g.coords.len() as u32));
                return Ok(());
            }
            Some(b'-' | b'0'..=b'9') => return self.position(g, level),
            _ => {}
        }
        loop {
            self.ws();
            match self.peek() {
                Some(b'[') => self.coords(g, level + 1)?,
                _ => {
                    g.problem
                        .get_or_insert("coordinates hold a non-array element");
                    self.skip_value(1)?;
                }
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    g.events.push((level, g.coords.len() as u32));
                    return Ok(());
                }
                _ => return Err(self.err("expected ',' or ']' in an array")),
            }
        }
    }

    /// A position (array of numbers) whose '[' was consumed; cursor on the first number.
    #[inline]
    fn position(&mut self, g: &mut FlatGeom, level: u8) -> Res<()> {
        match g.pos_level {
            None => g.pos_level = Some(level),
            Some(l) if l != level => {
                g.problem
                    .get_or_insert("positions at different nesting levels");
            }
            Some(_) => {}
        }
        let mut xy = [0.0f64; 2];
        let mut n = 0usize;
        loop {
            self.ws();
            match self.peek() {
                Some(b'-' | b'0'..=b'9') => {
                    let v = self.number()?;
                    if n < 2 {
                        xy[n] = v;
                    }
                    n += 1;
                }
                _ => {
                    g.problem
                        .get_or_insert("a position holds something else than numbers");
                    self.skip_value(1)?;
                    n += 1;
                }
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.err("expected ',' or ']' in a position")),
            }
        }
        if n < 2 {
            g.problem
                .get_or_insert("a position has fewer than 2 numbers");
        }
        g.coords.push(xy);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> f64 {
        let mut c = Cursor {
            b: s.as_bytes(),
            i: 0,
        };
        let v = c.number().unwrap();
        assert_eq!(c.i, s.len(), "{s}");
        v
    }

    #[test]
    fn numbers_match_std() {
        for s in [
            "0",
            "-0",
            "4.6574243",
            "45.9570037",
            "-180",
            "1e5",
            "1.5E-3",
            "123456789012345678901234",
            "0.000000000000000000001",
            "2.2250738585072014e-308",
            "1e400",
            "43570",
            "9007199254740993",
            "0.1",
            "3.141592653589793238462643383279",
        ] {
            assert_eq!(num(s).to_bits(), s.parse::<f64>().unwrap().to_bits(), "{s}");
        }
    }

    #[test]
    fn bad_numbers_are_errors() {
        for s in ["-", "1.", "1e", "1e+", ".5", "-a"] {
            let mut c = Cursor {
                b: s.as_bytes(),
                i: 0,
            };
            assert!(c.number().is_err(), "{s}");
        }
    }

    #[test]
    fn feature_parts() {
        let f = br#"{"type":"Feature","id":"X1","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]],[[2.1,2.1],[2.2,2.1],[2.2,2.2],[2.1,2.1]]]]},"properties":{"id":"P\u00e9","contenance":12,"numero":30}}"#;
        let mut g = FlatGeom::default();
        let r = parse_feature(f, &mut g).unwrap();
        assert_eq!(r.id.as_deref(), Some("X1"));
        g.finish().unwrap();
        assert_eq!(g.poly_ends, vec![1, 3]);
        assert_eq!(g.ring_ends, vec![4, 8, 12]);
        let p = parse_props(r.properties.unwrap()).unwrap();
        assert_eq!(p.id.as_deref(), Some("Pé"));
        assert_eq!(p.numero.as_deref(), Some("30"));
        assert_eq!(p.contenance, Contenance::Value(12.0));
    }

    #[test]
    fn geometry_problems() {
        let mut g = FlatGeom::default();
        for (f, want) in [
            (
                r#"{"geometry":{"type":"Point","coordinates":[1,2]}}"#,
                "geometry is not a Polygon or MultiPolygon",
            ),
            (r#"{"geometry":null}"#, "geometry is null"),
            (r#"{"properties":{}}"#, "geometry is null"),
            (
                r#"{"geometry":{"type":"Polygon","coordinates":[[[[0,0]]]]}}"#,
                "coordinates nesting does not match the geometry type",
            ),
            (
                r#"{"geometry":{"type":"Polygon","coordinates":[[[0]]]}}"#,
                "a position has fewer than 2 numbers",
            ),
            (
                r#"{"geometry":{"type":"Polygon","coordinates":[[[1,"a"]]]}}"#,
                "a position holds something else than numbers",
            ),
            (
                r#"{"geometry":{"type":"Polygon","coordinates":[]}}"#,
                "geometry has no positions",
            ),
        ] {
            parse_feature(f.as_bytes(), &mut g).unwrap();
            assert_eq!(g.finish(), Err(want), "{f}");
        }
    }

    #[test]
    fn syntax_errors() {
        let mut g = FlatGeom::default();
        for f in [
            r#"{"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0]]}}"#,
            r#"{"a":tru}"#,
            r#"{"a":"x}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(parse_feature(f.as_bytes(), &mut g).is_err(), "{f}");
        }
    }

    #[test]
    fn rings() {
        assert!(ring_problem(&[[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]).is_some());
        assert_eq!(
            ring_problem(&[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.1]]),
            Some("ring is not closed")
        );
        assert_eq!(
            ring_problem(&[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]),
            None
        );
        assert_eq!(
            ring_problem(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 0.0]]),
            Some("ring has zero area")
        );
    }
}
