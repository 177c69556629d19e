//! GeoPackage point blobs → (lon, lat): the one decoder the inventory readers (`changes`,
//! `explain`) share. In: a `GP` header (any envelope) followed by a WKB point; out: finite
//! coordinates, or `None` for anything else.

/// Decodes a GeoPackage point blob (standard header, any envelope, WKB point of either byte
/// order) to finite (lon, lat).
pub fn decode_point(blob: &[u8]) -> Option<(f64, f64)> {
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return None;
    }
    let envelope = match (blob[3] >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return None,
    };
    let wkb = blob.get(8 + envelope..)?;
    let little = *wkb.first()? == 1;
    let f = |at: usize| -> Option<f64> {
        let b: [u8; 8] = wkb.get(at..at + 8)?.try_into().ok()?;
        Some(if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    };
    let (x, y) = (f(5)?, f(13)?);
    (x.is_finite() && y.is_finite()).then_some((x, y))
}

#[cfg(test)]
mod tests {
    use super::decode_point;

    #[test]
    fn decodes_both_byte_orders_and_refuses_the_rest() {
        let mut le = b"GP\0\x01\xe6\x10\0\0".to_vec();
        le.extend([1u8, 1, 0, 0, 0]);
        le.extend(2.35f64.to_le_bytes());
        le.extend(48.85f64.to_le_bytes());
        assert_eq!(decode_point(&le), Some((2.35, 48.85)));
        let mut be = b"GP\0\x00\0\0\x10\xe6".to_vec();
        be.extend([0u8, 0, 0, 0, 1]);
        be.extend(2.35f64.to_be_bytes());
        be.extend(48.85f64.to_be_bytes());
        assert_eq!(decode_point(&be), Some((2.35, 48.85)));
        let mut nan = le.clone();
        nan[13..21].copy_from_slice(&f64::NAN.to_le_bytes());
        assert_eq!(decode_point(&nan), None);
        assert_eq!(decode_point(b"XX"), None);
        assert_eq!(decode_point(&le[..20]), None);
    }
}
