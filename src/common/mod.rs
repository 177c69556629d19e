//! Low-level helpers shared by every layer, below all stages (they import nothing of the
//! crate): sha256 hashing, the one atomic file write (temporary file, fsync, rename), the
//! slug of stable ids, geodesic distance and area (through the `geo` crate) and the one
//! postcode → département rule, the GeoPackage point-blob decoder and the one enum of
//! data-issue codes.

pub mod fs;
pub mod geodesy;
pub mod gpkg_blob;
pub mod hash;
pub mod issue_code;
pub mod postcode;
pub mod text;

pub use fs::{ReplaceError, replace_file, write_atomic, write_atomic_with};
pub use geodesy::{area_m2, distance_m};
pub use gpkg_blob::decode_point;
pub use hash::sha256_hex;
pub use issue_code::IssueCode;
pub use postcode::departement_of_postcode;
pub use text::slug;
