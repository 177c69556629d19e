//! Test helper: a minimal OSM PBF writer. In: nodes, ways and relations with tags. Out: the
//! bytes of a `.osm.pbf` file (dense nodes, zlib or raw blobs, a fixed number of elements per
//! block, optionally declaring `Sort.Type_then_ID`), for synthetic test inputs.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::proto::encode::{field_bytes, field_varint, packed, packed_delta};

pub type Tags = Vec<(String, String)>;

pub fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Relation member: (type 0 node / 1 way / 2 relation, id, role).
pub type Member = (u32, i64, String);

#[derive(Default, Clone)]
pub struct TestPbf {
    pub nodes: Vec<(i64, f64, f64, Tags)>,
    pub ways: Vec<(i64, Vec<i64>, Tags)>,
    pub relations: Vec<(i64, Vec<Member>, Tags)>,
    pub sorted: bool,
    pub per_block: usize,
    pub zlib: bool,
}

struct Strings(Vec<String>);

impl Strings {
    fn new() -> Strings {
        Strings(vec![String::new()])
    }

    fn id(&mut self, s: &str) -> u64 {
        match self.0.iter().position(|t| t == s) {
            Some(i) => i as u64,
            None => {
                self.0.push(s.to_string());
                (self.0.len() - 1) as u64
            }
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.0 {
            field_bytes(&mut out, 1, s.as_bytes());
        }
        out
    }
}

impl TestPbf {
    pub fn new() -> TestPbf {
        TestPbf {
            per_block: 8000,
            zlib: true,
            sorted: true,
            ..TestPbf::default()
        }
    }

    pub fn node(&mut self, id: i64, lon: f64, lat: f64, t: &[(&str, &str)]) -> &mut Self {
        self.nodes.push((id, lon, lat, tags(t)));
        self
    }

    pub fn way(&mut self, id: i64, refs: &[i64], t: &[(&str, &str)]) -> &mut Self {
        self.ways.push((id, refs.to_vec(), tags(t)));
        self
    }

    pub fn relation(
        &mut self,
        id: i64,
        members: &[(u32, i64, &str)],
        t: &[(&str, &str)],
    ) -> &mut Self {
        let members = members
            .iter()
            .map(|&(ty, id, role)| (ty, id, role.to_string()))
            .collect();
        self.relations.push((id, members, tags(t)));
        self
    }

    fn blob(&self, kind: &str, data: &[u8], out: &mut Vec<u8>) {
        let mut blob = Vec::new();
        if self.zlib {
            let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
            enc.write_all(data).unwrap();
            let z = enc.finish().unwrap();
            field_varint(&mut blob, 2, data.len() as u64);
            field_bytes(&mut blob, 3, &z);
        } else {
            field_bytes(&mut blob, 1, data);
        }
        let mut header = Vec::new();
        field_bytes(&mut header, 1, kind.as_bytes());
        field_varint(&mut header, 3, blob.len() as u64);
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&blob);
    }

    fn block(strings: &Strings, group: &[u8]) -> Vec<u8> {
        let mut block = Vec::new();
        field_bytes(&mut block, 1, &strings.encode());
        field_bytes(&mut block, 2, group);
        block
    }

    /// The file's bytes: header, then node blocks, way blocks, relation blocks.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut header = Vec::new();
        field_bytes(&mut header, 4, b"OsmSchema-V0.6");
        field_bytes(&mut header, 4, b"DenseNodes");
        if self.sorted {
            field_bytes(&mut header, 5, b"Sort.Type_then_ID");
        }
        field_bytes(&mut header, 16, b"dcinv-testpbf");
        self.blob("OSMHeader", &header, &mut out);
        let per = self.per_block.max(1);
        for chunk in self.nodes.chunks(per) {
            let mut st = Strings::new();
            let ids: Vec<i64> = chunk.iter().map(|n| n.0).collect();
            let lats: Vec<i64> = chunk.iter().map(|n| (n.2 * 1e7).round() as i64).collect();
            let lons: Vec<i64> = chunk.iter().map(|n| (n.1 * 1e7).round() as i64).collect();
            let mut kv = Vec::new();
            for n in chunk {
                for (k, v) in &n.3 {
                    kv.push(st.id(k));
                    kv.push(st.id(v));
                }
                kv.push(0);
            }
            let mut dense = Vec::new();
            field_bytes(&mut dense, 1, &packed_delta(&ids));
            field_bytes(&mut dense, 8, &packed_delta(&lats));
            field_bytes(&mut dense, 9, &packed_delta(&lons));
            field_bytes(&mut dense, 10, &packed(kv));
            let mut group = Vec::new();
            field_bytes(&mut group, 2, &dense);
            self.blob("OSMData", &Self::block(&st, &group), &mut out);
        }
        for chunk in self.ways.chunks(per) {
            let mut st = Strings::new();
            let mut group = Vec::new();
            for (id, refs, t) in chunk {
                let mut way = Vec::new();
                field_varint(&mut way, 1, *id as u64);
                let keys: Vec<u64> = t.iter().map(|(k, _)| st.id(k)).collect();
                let vals: Vec<u64> = t.iter().map(|(_, v)| st.id(v)).collect();
                field_bytes(&mut way, 2, &packed(keys));
                field_bytes(&mut way, 3, &packed(vals));
                field_bytes(&mut way, 8, &packed_delta(refs));
                field_bytes(&mut group, 3, &way);
            }
            self.blob("OSMData", &Self::block(&st, &group), &mut out);
        }
        for chunk in self.relations.chunks(per) {
            let mut st = Strings::new();
            let mut group = Vec::new();
            for (id, members, t) in chunk {
                let mut rel = Vec::new();
                field_varint(&mut rel, 1, *id as u64);
                let keys: Vec<u64> = t.iter().map(|(k, _)| st.id(k)).collect();
                let vals: Vec<u64> = t.iter().map(|(_, v)| st.id(v)).collect();
                field_bytes(&mut rel, 2, &packed(keys));
                field_bytes(&mut rel, 3, &packed(vals));
                let roles: Vec<u64> = members.iter().map(|m| st.id(&m.2)).collect();
                let ids: Vec<i64> = members.iter().map(|m| m.1).collect();
                field_bytes(&mut rel, 8, &packed(roles));
                field_bytes(&mut rel, 9, &packed_delta(&ids));
                field_bytes(
                    &mut rel,
                    10,
                    &packed(members.iter().map(|m| u64::from(m.0))),
                );
                field_bytes(&mut group, 4, &rel);
            }
            self.blob("OSMData", &Self::block(&st, &group), &mut out);
        }
        out
    }
}
