//! Protocol Buffers wire format, the small part the OSM PBF format needs. In: a byte slice of
//! one message. Out: fields (number, wire type, payload), varints, zigzag and packed arrays.
//! Every read is bounds-checked and returns a `WireError` instead of panicking.

/// A malformed message (truncated varint, length past the end, unknown wire type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub &'static str);

pub type WireResult<T> = Result<T, WireError>;

pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const LEN: u8 = 2;
pub const FIXED32: u8 = 5;

/// A field's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

impl<'a> Value<'a> {
    pub fn varint(self) -> WireResult<u64> {
        match self {
            Value::Varint(v) => Ok(v),
            _ => Err(WireError("expected a varint field")),
        }
    }

    pub fn bytes(self) -> WireResult<&'a [u8]> {
        match self {
            Value::Bytes(b) => Ok(b),
            _ => Err(WireError("expected a length-delimited field")),
        }
    }
}

/// Decodes a varint at `buf[*pos..]`, advancing `pos`.
#[inline]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> WireResult<u64> {
    let mut value: u64 = 0;
    let mut shift = 0u32;
    loop {
        let Some(&byte) = buf.get(*pos) else {
            return Err(WireError("truncated varint"));
        };
        *pos += 1;
        if shift == 63 && byte > 1 {
            return Err(WireError("varint overflows 64 bits"));
        }
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
        shift += 7;
        if shift > 63 {
            return Err(WireError("varint longer than 10 bytes"));
        }
    }
}

#[inline]
pub fn zigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Iterates over the fields of one message.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Fields { buf, pos: 0 }
    }

    /// The next `(field number, payload)`, or `None` at the end.
    pub fn next_field(&mut self) -> WireResult<Option<(u32, Value<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = read_varint(self.buf, &mut self.pos)?;
        let number = u32::try_from(key >> 3).map_err(|_| WireError("field number too large"))?;
        let value = match (key & 7) as u8 {
            VARINT => Value::Varint(read_varint(self.buf, &mut self.pos)?),
            FIXED64 => {
                let bytes = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(bytes);
                Value::Fixed64(u64::from_le_bytes(a))
            }
            LEN => {
                let len = read_varint(self.buf, &mut self.pos)?;
                let len = usize::try_from(len).map_err(|_| WireError("length too large"))?;
                Value::Bytes(self.take(len)?)
            }
            FIXED32 => {
                let bytes = self.take(4)?;
                let mut a = [0u8; 4];
                a.copy_from_slice(bytes);
                Value::Fixed32(u32::from_le_bytes(a))
            }
            _ => return Err(WireError("unsupported wire type")),
        };
        Ok(Some((number, value)))
    }

    fn take(&mut self, len: usize) -> WireResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or(WireError("field runs past the end of its message"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }
}

/// Appends the running sums of a packed, delta-coded `sint64` field to `out`.
pub fn packed_delta(value: Value<'_>, out: &mut Vec<i64>) -> WireResult<()> {
    let mut acc: i64 = out.last().copied().unwrap_or(0);
    match value {
        Value::Varint(v) => out.push(acc.wrapping_add(zigzag(v))),
        Value::Bytes(b) => {
            let mut pos = 0;
            while pos < b.len() {
                acc = acc.wrapping_add(zigzag(read_varint(b, &mut pos)?));
                out.push(acc);
            }
        }
        _ => return Err(WireError("expected a packed sint64 field")),
    }
    Ok(())
}

/// Appends the values of a packed `uint32`/`int32` field, truncated to `u32`.
pub fn packed_u32(value: Value<'_>, out: &mut Vec<u32>) -> WireResult<()> {
    match value {
        Value::Varint(v) => out.push(v as u32),
        Value::Bytes(b) => {
            let mut pos = 0;
            while pos < b.len() {
                out.push(read_varint(b, &mut pos)? as u32);
            }
        }
        _ => return Err(WireError("expected a packed int32 field")),
    }
    Ok(())
}

#[cfg(test)]
pub mod encode {
    //! Encoding helpers for tests (the synthetic PBF writer).

    pub fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    pub fn zz(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }

    pub fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
        varint(out, (u64::from(field) << 3) | u64::from(wire));
    }

    pub fn field_varint(out: &mut Vec<u8>, field: u32, v: u64) {
        key(out, field, super::VARINT);
        varint(out, v);
    }

    pub fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
        key(out, field, super::LEN);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }

    pub fn packed(values: impl IntoIterator<Item = u64>) -> Vec<u8> {
        let mut out = Vec::new();
        for v in values {
            varint(&mut out, v);
        }
        out
    }

    pub fn packed_delta(values: &[i64]) -> Vec<u8> {
        let mut prev = 0i64;
        packed(values.iter().map(|&v| {
            let d = v - prev;
            prev = v;
            zz(d)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag() {
        let mut buf = Vec::new();
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            encode::varint(&mut buf, v);
        }
        let mut pos = 0;
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(read_varint(&buf, &mut pos), Ok(v));
        }
        assert!(read_varint(&buf, &mut pos).is_err());
        assert!(read_varint(&[0x80, 0x80], &mut 0).is_err());
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(zigzag(encode::zz(v)), v);
        }
    }

    #[test]
    fn fields_and_packed() {
        let mut msg = Vec::new();
        encode::field_varint(&mut msg, 1, 42);
        encode::field_bytes(&mut msg, 8, &encode::packed_delta(&[10, 12, 5]));
        let mut f = Fields::new(&msg);
        assert_eq!(f.next_field(), Ok(Some((1, Value::Varint(42)))));
        let Ok(Some((8, v))) = f.next_field() else {
            panic!("field 8")
        };
        let mut out = Vec::new();
        packed_delta(v, &mut out).unwrap();
        assert_eq!(out, vec![10, 12, 5]);
        assert_eq!(f.next_field(), Ok(None));
        // A length past the end.
        let mut f = Fields::new(&[0x12, 0x05, 1, 2]);
        assert!(f.next_field().is_err());
    }
}
