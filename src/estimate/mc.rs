//! Uncertainty propagation by Monte Carlo with a fixed seed: every parameter with a low /
//! central / high (10th / 50th / 90th percentiles) is a split log-normal (a split normal when
//! it can be zero or negative); draw `k` of a parameter is shared by every facility, so sums
//! over facilities keep the parameters' correlation and their percentiles are computed on the
//! summed draws (never by adding 10th percentiles).

/// Draws per quantity.
pub const DRAWS: usize = 2000;
/// z of the 90th percentile of a standard normal.
pub const Z90: f64 = 1.281_551_565_545;

/// A small deterministic generator (SplitMix64): the same seed gives the same draws on every
/// machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A quantity known by its 10th, 50th and 90th percentiles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub low: f64,
    pub central: f64,
    pub high: f64,
}

impl Range {
    pub fn exact(v: f64) -> Range {
        Range {
            low: v,
            central: v,
            high: v,
        }
    }

    /// The value at standard-normal quantile `z` of the split (log-)normal through the three
    /// percentiles.
    pub fn at(&self, z: f64) -> f64 {
        let Range { low, central, high } = *self;
        if low > 0.0 && central > 0.0 && high > 0.0 {
            let s = if z < 0.0 {
                (central / low).ln() / Z90
            } else {
                (high / central).ln() / Z90
            };
            central * (s * z).exp()
        } else {
            let s = if z < 0.0 {
                (central - low) / Z90
            } else {
                (high - central) / Z90
            };
            central + s * z
        }
    }
}

/// A stream's seed from a start value and the bytes that name the stream (ids).
pub fn seed(start: u64, bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(start, |s, b| {
        s.wrapping_mul(0x100_0000_01B3).wrapping_add(u64::from(b))
    })
}

/// `DRAWS` values of one quantity.
pub type Samples = Vec<f64>;

/// The draws of a parameter: its standard-normal quantiles come from the parameter's own
/// stream (seeded by its id), so adding a parameter does not change the others' draws.
pub fn draws_for(id: &str, range: &Range) -> Samples {
    let mut rng = Rng::new(seed(0xDC1E, id.bytes()));
    (0..DRAWS).map(|_| range.at(rng.normal())).collect()
}

/// The 10th, 50th and 90th percentiles of draws.
pub fn percentiles(samples: &[f64]) -> Range {
    if samples.is_empty() {
        return Range::exact(0.0);
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let x = p * (v.len() - 1) as f64;
        let (i, f) = (x.floor() as usize, x - x.floor());
        if i + 1 < v.len() {
            v[i] * (1.0 - f) + v[i + 1] * f
        } else {
            v[i]
        }
    };
    Range {
        low: q(0.1),
        central: q(0.5),
        high: q(0.9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_reproduce_the_percentiles() {
        let r = Range {
            low: 1.2,
            central: 1.5,
            high: 2.0,
        };
        let p = percentiles(&draws_for("pue", &r));
        assert!((p.low - 1.2).abs() < 0.03, "{p:?}");
        assert!((p.central - 1.5).abs() < 0.03, "{p:?}");
        assert!((p.high - 2.0).abs() < 0.05, "{p:?}");
        assert_eq!(draws_for("pue", &r), draws_for("pue", &r));
        assert_eq!(
            percentiles(&draws_for("x", &Range::exact(3.0))),
            Range::exact(3.0)
        );
    }

    #[test]
    fn sums_of_ranges_are_not_sums_of_percentiles() {
        // Two independent quantities: the 10th percentile of the sum is above the sum of
        // the 10th percentiles.
        let r = Range {
            low: 1.0,
            central: 2.0,
            high: 4.0,
        };
        let a = draws_for("a", &r);
        let b = draws_for("b", &r);
        let sum: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let p = percentiles(&sum);
        assert!(p.low > 2.0 && p.high < 8.0, "{p:?}");
    }
}
