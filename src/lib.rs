//! dcinv: builds the reference inventory of data centres in France from public data.
//! Flow (one way, a plain data type between stages): catalog → fetch → adapters → locate →
//! reconcile → store / export. See ARCHITECTURE.md for the file behind each stage.
#![recursion_limit = "256"] // the json! literal of a facility feature is large

pub mod adapters;
pub mod cadastre;
pub mod catalog;
pub mod changes;
pub mod common;
pub mod error;
pub mod estimate;
pub mod export;
pub mod facts;
pub mod fetch;
pub mod geo;
pub mod inventory;
pub mod model;
pub mod osm;
pub mod parse_cache;
pub mod pipeline;
pub mod reconcile;
pub mod store;
pub mod summary;
