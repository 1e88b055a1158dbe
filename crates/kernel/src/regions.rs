//! The official region table (Kemendagri codes), held in memory after start because every
//! registration and browse checks codes against it.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{RegionCode, RegionLevel};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Region {
    pub code: String,
    pub level: RegionLevel,
    pub name: String,
    pub parent_code: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Regions {
    by_code: BTreeMap<String, Region>,
}

impl Regions {
    pub fn new(regions: impl IntoIterator<Item = Region>) -> Self {
        Self {
            by_code: regions.into_iter().map(|r| (r.code.clone(), r)).collect(),
        }
    }

    pub fn get(&self, code: &str) -> Option<&Region> {
        self.by_code.get(code)
    }

    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }

    /// Parses and checks that the code is an official kelurahan.
    pub fn kelurahan(&self, code: &str) -> Option<RegionCode> {
        let parsed = RegionCode::parse(code).ok()?;
        (parsed.level() == RegionLevel::Kelurahan && self.by_code.contains_key(code))
            .then_some(parsed)
    }

    /// Parses and checks that the code is an official kecamatan.
    pub fn kecamatan(&self, code: &str) -> Option<RegionCode> {
        let parsed = RegionCode::parse(code).ok()?;
        (parsed.level() == RegionLevel::Kecamatan && self.by_code.contains_key(code))
            .then_some(parsed)
    }

    /// Regions of a level, optionally under a parent, in code order.
    pub fn list(&self, level: Option<RegionLevel>, parent: Option<&str>) -> Vec<&Region> {
        self.by_code
            .values()
            .filter(|r| level.is_none_or(|l| r.level == l))
            .filter(|r| parent.is_none_or(|p| r.parent_code.as_deref() == Some(p)))
            .collect()
    }
}
