//! Tolerant reading of a source file, shared by the adapters. In go the bytes of one file; out
//! come its text (BOM stripped, invalid UTF-8 decoded lossily, NUL bytes removed) with the
//! [`Flaw`]s found and their byte offsets, and for JSON a [`Doc`] whose arrays are read element
//! by element from their own raw slices (`serde_json::value::RawValue`), so that one broken
//! element (a number out of range, `NaN`, a raw control character, a string where an object
//! should be) is a data issue for that element, never the end of the file. Only a file that
//! cannot be read as a whole (empty, truncated, not the declared format, mostly not text)
//! is an error.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::FileInput;
use super::mapped::issue;
use crate::error::ParseError;
use crate::model::{DataIssue, IssueAction, IssueCode};

/// Longest text a field may hold (bytes); a longer value is ignored (`oversized_field`).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// A file with more broken bytes (invalid UTF-8, NUL) than this share, and more than
/// [`MAX_BROKEN_BYTES_ANYWAY`], is not text: it fails as a whole.
const MAX_BROKEN_SHARE: f64 = 0.01;
const MAX_BROKEN_BYTES_ANYWAY: usize = 64;

/// One defect found in the bytes or the JSON text of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Flaw {
    pub code: IssueCode,
    /// Offset in the text the records are read from.
    pub at: usize,
    /// Offset in the file's bytes, when known (decoding flaws).
    pub byte: Option<usize>,
    /// What was there (`1e309`, `NaN`), for the message.
    pub detail: String,
}

/// The text of a file and what decoding it repaired.
pub struct Text<'a> {
    pub text: Cow<'a, str>,
    pub flaws: Vec<Flaw>,
}

/// Decodes a file: a BOM is dropped (no issue), invalid UTF-8 becomes U+FFFD and NUL bytes are
/// removed, each with a flaw at its byte offset. Errors: an empty file, or one whose broken
/// bytes are more than 1 % of it (a binary or wrongly encoded file, not the declared format).
pub fn decode<'a>(file: &str, bytes: &'a [u8]) -> Result<Text<'a>, ParseError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty {
            file: file.to_string(),
        });
    }
    let (body, base) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty {
            file: file.to_string(),
        });
    }
    if !body.contains(&0)
        && let Ok(text) = std::str::from_utf8(body)
    {
        return Ok(Text {
            text: Cow::Borrowed(text),
            flaws: Vec::new(),
        });
    }
    let mut text = String::with_capacity(body.len());
    let mut flaws = Vec::new();
    let mut byte = base;
    let mut broken = 0usize;
    for chunk in body.utf8_chunks() {
        for (i, part) in chunk.valid().split('\0').enumerate() {
            if i > 0 {
                flaws.push(Flaw {
                    code: IssueCode::NulByte,
                    at: text.len(),
                    byte: Some(byte),
                    detail: String::new(),
                });
                byte += 1;
                broken += 1;
            }
            text.push_str(part);
            byte += part.len();
        }
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            flaws.push(Flaw {
                code: IssueCode::InvalidUtf8,
                at: text.len(),
                byte: Some(byte),
                detail: invalid.iter().map(|b| format!("{b:02x}")).collect(),
            });
            text.push('\u{FFFD}');
            byte += invalid.len();
            broken += invalid.len();
        }
    }
    if broken > MAX_BROKEN_BYTES_ANYWAY && broken as f64 > body.len() as f64 * MAX_BROKEN_SHARE {
        return Err(ParseError::NotText {
            file: file.to_string(),
            broken,
            len: bytes.len(),
            offset: flaws.first().and_then(|f| f.byte).unwrap_or(0),
        });
    }
    Ok(Text {
        text: Cow::Owned(text),
        flaws,
    })
}

/// Rewrites JSON text that serde_json refuses for reasons local to one value: numbers out of
/// the f64 range and the non-JSON `NaN`, `Infinity`, `-Infinity` become `null`, raw control
/// characters inside strings become spaces. `base` is the offset of `text` in the file's text
/// (for the flaws). Returns the new text, its flaws (offsets in the *old* text plus `base`),
/// and the shifts (old offset, length change) to move offsets found before the repair.
fn repair(text: &str, base: usize) -> (String, Vec<Flaw>, Vec<(usize, isize)>) {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut flaws = Vec::new();
    let mut shifts = Vec::new();
    let mut delta: isize = 0;
    let mut copied = 0; // bytes of `text` copied into `out` so far
    let mut i = 0;
    let mut in_string = false;
    let mut replace = |out: &mut String, copied: &mut usize, from: usize, to: usize, with: &str| {
        out.push_str(&text[*copied..from]);
        out.push_str(with);
        *copied = to;
        delta += with.len() as isize - (to - from) as isize;
        shifts.push((to, delta));
    };
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                0..=0x1f => {
                    flaws.push(Flaw {
                        code: IssueCode::ControlCharacter,
                        at: base + i,
                        byte: None,
                        detail: format!("U+{c:04X}"),
                    });
                    replace(&mut out, &mut copied, i, i + 1, " ");
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let word = ["NaN", "Infinity", "-Infinity"]
            .into_iter()
            .find(|w| b[i..].starts_with(w.as_bytes()));
        let end = match word {
            Some(w) => i + w.len(),
            None if c == b'-' || c.is_ascii_digit() => {
                let len = b[i + 1..]
                    .iter()
                    .take_while(|x| {
                        x.is_ascii_digit() || matches!(x, b'.' | b'e' | b'E' | b'+' | b'-')
                    })
                    .count();
                let token = &text[i..i + 1 + len];
                if token.parse::<f64>().is_ok_and(|v| !v.is_finite()) {
                    i + 1 + len
                } else {
                    i += 1 + len;
                    continue;
                }
            }
            None => {
                i += 1;
                continue;
            }
        };
        flaws.push(Flaw {
            code: IssueCode::NonFiniteNumber,
            at: base + i,
            byte: None,
            detail: text[i..end].to_string(),
        });
        replace(&mut out, &mut copied, i, end, "null");
        i = end;
    }
    out.push_str(&text[copied..]);
    (out, flaws, shifts)
}

/// Moves an offset of the text before a repair to the text after it.
fn shifted(at: usize, shifts: &[(usize, isize)]) -> usize {
    let n = shifts.partition_point(|(old, _)| *old <= at);
    match n {
        0 => at,
        _ => (at as isize + shifts[n - 1].1).max(0) as usize,
    }
}

/// A JSON document read tolerantly: decoded (see [`decode`]), repaired as a whole only when
/// it does not scan as JSON as it is (the fast path leaves it untouched), and read through
/// skeleton types holding `&RawValue`s whose elements are decoded one by one.
pub struct Doc<'a> {
    file: String,
    text: Cow<'a, str>,
    flaws: Vec<Flaw>,
}

impl<'a> Doc<'a> {
    pub fn open(input: &FileInput<'a>) -> Result<Doc<'a>, ParseError> {
        Doc::from_bytes(&input.file.name, input.bytes)
    }

    pub fn from_bytes(file: &str, bytes: &'a [u8]) -> Result<Doc<'a>, ParseError> {
        let Text {
            mut text,
            mut flaws,
        } = decode(file, bytes)?;
        if serde_json::from_str::<IgnoredAny>(&text).is_err() {
            let (fixed, found, shifts) = repair(&text, 0);
            if !found.is_empty() {
                for f in &mut flaws {
                    f.at = shifted(f.at, &shifts);
                }
                flaws.extend(found.into_iter().map(|mut f| {
                    f.at = shifted(f.at, &shifts);
                    f
                }));
                flaws.sort_by_key(|f| f.at);
                text = Cow::Owned(fixed);
            }
        }
        Ok(Doc {
            file: file.to_string(),
            text,
            flaws,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether decoding or repairing changed anything.
    pub fn has_flaws(&self) -> bool {
        !self.flaws.is_empty()
    }

    /// The whole document as `T` (a skeleton of `&RawValue`s, or a small typed value); the
    /// error names the file: the document cannot be read as a whole.
    pub fn parse<'d, T: Deserialize<'d>>(&'d self) -> Result<T, ParseError> {
        serde_json::from_str(&self.text).map_err(|e| ParseError::Json {
            file: self.file.clone(),
            message: e.to_string(),
        })
    }

    /// Where `raw` (a slice of this document) is in the text.
    pub fn span(&self, raw: &RawValue) -> Range<usize> {
        let start = (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        start..start + raw.get().len()
    }

    /// The flaws inside `span`.
    pub fn flaws_in(&self, span: Range<usize>) -> Vec<Flaw> {
        let from = self.flaws.partition_point(|f| f.at < span.start);
        self.flaws[from..]
            .iter()
            .take_while(|f| f.at < span.end)
            .cloned()
            .collect()
    }

    /// One element as a JSON value with the flaws of its span; an element serde_json refuses
    /// (a number out of the f64 range) is repaired on its own first. The error is the message
    /// of an element that cannot be read even so.
    pub fn value(&self, raw: &RawValue) -> Result<(Value, Vec<Flaw>), String> {
        let span = self.span(raw);
        let mut flaws = self.flaws_in(span.clone());
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(v) => Ok((v, flaws)),
            Err(first) => {
                let (fixed, found, _) = repair(raw.get(), span.start);
                if found.is_empty() {
                    return Err(first.to_string());
                }
                let v = serde_json::from_str::<Value>(&fixed).map_err(|e| e.to_string())?;
                flaws.extend(found);
                Ok((v, flaws))
            }
        }
    }
}

/// Removes from `obj` the members that stand in the way of `T` (a value of the wrong type
/// where an optional field is), one at a time, and reads `T`. Returns `T` and the members
/// removed, or the first error when a required member is the one in the way.
pub fn typed<T: DeserializeOwned>(
    mut obj: Map<String, Value>,
) -> Result<(T, Vec<String>), serde_json::Error> {
    let attempt = |obj: &Map<String, Value>| T::deserialize(&Value::Object(obj.clone()));
    let first = match attempt(&obj) {
        Ok(t) => return Ok((t, Vec::new())),
        Err(e) => e,
    };
    let mut error = first.to_string();
    let mut removed = Vec::new();
    while !obj.is_empty() {
        // The culprit: removing it gives success or another (not "missing field") error.
        let found = obj.keys().find_map(|k| {
            let mut without = obj.clone();
            without.shift_remove(k);
            match attempt(&without) {
                Ok(t) => Some((k.clone(), Some(t))),
                Err(e) => {
                    let e = e.to_string();
                    (e != error && !e.starts_with("missing field")).then(|| (k.clone(), None))
                }
            }
        });
        let Some((k, done)) = found else { break };
        obj.shift_remove(&k);
        removed.push(k);
        match done {
            Some(t) => return Ok((t, removed)),
            None => match attempt(&obj) {
                Ok(t) => return Ok((t, removed)),
                Err(e) => error = e.to_string(),
            },
        }
    }
    Err(first)
}

/// One entry decoded from its own slice: `T` with the issues of the values left out (wrong
/// type, out of range), or the issues that drop it (`what` names the kind of entry).
pub fn typed_entry<T: DeserializeOwned>(
    input: &FileInput<'_>,
    doc: &Doc<'_>,
    raw: &RawValue,
    locator: &str,
    what: &str,
) -> Result<(T, Vec<DataIssue>), Vec<DataIssue>> {
    let (mut obj, flaws) = object_entry(input, doc, raw, locator).map_err(|e| vec![*e])?;
    let screened = screen(&mut obj);
    let mut issues = flaw_issues(input, &flaws, &screened, locator, None);
    match typed::<T>(obj) {
        Ok((t, removed)) => {
            issues.extend(removed.iter().map(|k| wrong_type(input, locator, None, k)));
            Ok((t, issues))
        }
        Err(e) => {
            issues.push(issue(
                input,
                IssueCode::RowShapeMismatch,
                IssueAction::Dropped,
                locator,
                None,
                format!("not {what}: {e}"),
            ));
            Err(issues)
        }
    }
}

/// Screens the members of one entry: a text longer than [`MAX_FIELD_BYTES`] is ignored and
/// NUL characters (`\u0000` escapes) are removed. Returns (code, member) per finding.
pub fn screen(obj: &mut Map<String, Value>) -> Vec<(IssueCode, String)> {
    let mut found = Vec::new();
    for (k, v) in obj.iter_mut() {
        if let Value::String(s) = v {
            if s.len() > MAX_FIELD_BYTES {
                found.push((IssueCode::OversizedField, k.clone()));
                *v = Value::Null;
            } else if s.contains('\0') {
                found.push((IssueCode::NulByte, k.clone()));
                s.retain(|c| c != '\0');
            }
        }
    }
    found
}

/// The data issues of an entry's flaws (one per code, naming the first byte offset) and of
/// its screened members.
pub fn flaw_issues(
    input: &FileInput<'_>,
    flaws: &[Flaw],
    screened: &[(IssueCode, String)],
    locator: &str,
    record_key: Option<&str>,
) -> Vec<DataIssue> {
    let mut out = Vec::new();
    let mut codes: Vec<IssueCode> = flaws.iter().map(|f| f.code).collect();
    codes.sort_unstable();
    codes.dedup();
    for code in codes {
        let of: Vec<&Flaw> = flaws.iter().filter(|f| f.code == code).collect();
        let first = of[0];
        let at = first
            .byte
            .map_or_else(String::new, |b| format!(" at byte {b}"));
        let (action, what) = match code {
            IssueCode::InvalidUtf8 => (
                IssueAction::Repaired,
                format!(
                    "bytes not valid UTF-8{at} (`{}`), decoded as U+FFFD",
                    first.detail
                ),
            ),
            IssueCode::NulByte => (IssueAction::Repaired, format!("NUL byte{at}, removed")),
            IssueCode::ControlCharacter => (
                IssueAction::Repaired,
                format!(
                    "raw control character {} in a string, made a space",
                    first.detail
                ),
            ),
            _ => (
                IssueAction::ValueIgnored,
                format!("`{}` is not a finite number; value ignored", first.detail),
            ),
        };
        let message = if of.len() > 1 {
            format!("{what} (and {} more)", of.len() - 1)
        } else {
            what
        };
        out.push(issue(input, code, action, locator, record_key, message));
    }
    for (code, member) in screened {
        let message = match *code {
            IssueCode::OversizedField => {
                format!("field `{member}` is longer than {MAX_FIELD_BYTES} bytes; ignored")
            }
            _ => format!("field `{member}` holds a NUL character; removed"),
        };
        let action = match *code {
            IssueCode::OversizedField => IssueAction::ValueIgnored,
            _ => IssueAction::Repaired,
        };
        out.push(issue(input, *code, action, locator, record_key, message));
    }
    out
}

/// A JSON object and the flaws of its span.
pub type ObjectEntry = (Map<String, Value>, Vec<Flaw>);

/// One element read as a JSON object, with the flaws of its span; an element that cannot
/// be read, or is not an object, is the data issue that drops it.
pub fn object_entry(
    input: &FileInput<'_>,
    doc: &Doc<'_>,
    raw: &RawValue,
    locator: &str,
) -> Result<ObjectEntry, Box<DataIssue>> {
    let (value, flaws) = doc
        .value(raw)
        .map_err(|message| Box::new(unreadable(input, locator, &message)))?;
    match value {
        Value::Object(obj) => Ok((obj, flaws)),
        other => Err(Box::new(not_an_object(input, locator, &other))),
    }
}

/// An entry that is not a JSON object, dropped.
pub fn not_an_object(input: &FileInput<'_>, locator: &str, value: &Value) -> DataIssue {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    issue(
        input,
        IssueCode::NotAnObject,
        IssueAction::Dropped,
        locator,
        None,
        format!("entry is {kind}, not a JSON object"),
    )
}

/// An entry that cannot be read at all (its own JSON is broken beyond repair), dropped.
pub fn unreadable(input: &FileInput<'_>, locator: &str, message: &str) -> DataIssue {
    issue(
        input,
        IssueCode::RowShapeMismatch,
        IssueAction::Dropped,
        locator,
        None,
        format!("entry cannot be read: {message}"),
    )
}

/// A member of the wrong type, left out of the entry.
pub fn wrong_type(
    input: &FileInput<'_>,
    locator: &str,
    record_key: Option<&str>,
    member: &str,
) -> DataIssue {
    issue(
        input,
        IssueCode::WrongJsonType,
        IssueAction::ValueIgnored,
        locator,
        record_key,
        format!("field `{member}` has the wrong JSON type; ignored"),
    )
}

/// The element list at a dotted `path` of objects (empty: the root), as raw slices.
pub fn array_at<'d>(doc: &'d Doc<'_>, path: &str) -> Result<Vec<&'d RawValue>, ParseError> {
    let structure = |message: String| ParseError::Structure {
        file: doc.file.clone(),
        message,
    };
    let mut node: &'d RawValue = doc.parse()?;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let members: std::collections::HashMap<String, &'d RawValue> =
            serde_json::from_str(node.get()).map_err(|_| {
                structure(format!("`{part}` of the path `{path}` is not in an object"))
            })?;
        node = members
            .get(part)
            .copied()
            .ok_or_else(|| structure(format!("no member `{part}` on the path `{path}`")))?;
    }
    serde_json::from_str(node.get()).map_err(|_| structure(format!("`{path}` is not an array")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_lossily_with_byte_offsets() {
        let t = decode("f", b"\xEF\xBB\xBFab\xe9c\0d").unwrap();
        assert_eq!(t.text, "ab\u{FFFD}cd");
        assert_eq!(t.flaws.len(), 2);
        assert_eq!(t.flaws[0].code, IssueCode::InvalidUtf8);
        assert_eq!(t.flaws[0].byte, Some(5));
        assert_eq!(t.flaws[1].code, IssueCode::NulByte);
        assert_eq!(t.flaws[1].byte, Some(7));
        assert!(matches!(decode("f", b" \n"), Err(ParseError::Empty { .. })));
        assert!(matches!(
            decode("f", b"\xEF\xBB\xBF"),
            Err(ParseError::Empty { .. })
        ));
        let binary: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 256) as u8).collect();
        assert!(matches!(
            decode("f", &binary),
            Err(ParseError::NotText { .. })
        ));
        assert!(matches!(
            decode("f", b"plain"),
            Ok(Text {
                text: Cow::Borrowed(_),
                ..
            })
        ));
    }

    #[test]
    fn serde_json_refuses_1e309_only_when_decoding_the_number() {
        // The premise of per-element decoding: the raw scan accepts it, `Value` does not.
        let doc = r#"{"a":[{"x":1e309},{"x":2}]}"#;
        assert!(serde_json::from_str::<Value>(doc).is_err());
        assert!(serde_json::from_str::<IgnoredAny>(doc).is_ok());
        let d = Doc::from_bytes("f", doc.as_bytes()).unwrap();
        let items = array_at(&d, "a").unwrap();
        let (v, flaws) = d.value(items[0]).unwrap();
        assert_eq!(v["x"], Value::Null);
        assert_eq!(flaws[0].code, IssueCode::NonFiniteNumber);
        assert_eq!(flaws[0].detail, "1e309");
        assert_eq!(d.value(items[1]).unwrap().0["x"], 2);
    }

    #[test]
    fn repairs_nan_and_control_characters_in_the_right_element() {
        let doc = "{\"a\":[{\"x\":NaN,\"n\":\"a\tb\"},{\"x\":-Infinity},{\"x\":\"\u{e9}\"}]}";
        let d = Doc::from_bytes("f", doc.as_bytes()).unwrap();
        let items = array_at(&d, "a").unwrap();
        let (v0, f0) = d.value(items[0]).unwrap();
        assert_eq!(v0["x"], Value::Null);
        assert_eq!(v0["n"], "a b");
        let codes: Vec<IssueCode> = f0.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [IssueCode::NonFiniteNumber, IssueCode::ControlCharacter]
        );
        let (v1, f1) = d.value(items[1]).unwrap();
        assert_eq!(v1["x"], Value::Null);
        assert_eq!(f1.len(), 1);
        assert!(d.value(items[2]).unwrap().1.is_empty());
    }

    #[test]
    fn truncated_json_still_fails() {
        let d = Doc::from_bytes("f.json", br#"{"a":[{"x":1},{"x""#).unwrap();
        let err = array_at(&d, "a").unwrap_err().to_string();
        assert!(err.starts_with("f.json: invalid JSON"), "{err}");
    }

    #[test]
    fn typed_leaves_out_the_member_of_the_wrong_type() {
        #[derive(Deserialize)]
        struct T {
            a: String,
            b: Option<f64>,
        }
        let obj = serde_json::json!({"a": "x", "b": "not a number"});
        let Value::Object(obj) = obj else { panic!() };
        let (t, removed): (T, _) = typed(obj).unwrap();
        assert_eq!((t.a.as_str(), t.b), ("x", None));
        assert_eq!(removed, ["b"]);
        let Value::Object(obj) = serde_json::json!({"a": 1}) else {
            panic!()
        };
        assert!(typed::<T>(obj).is_err());
    }
}
