//! What a CloudTrail table in the Glue Data Catalog looks like to trailwhy: its columns,
//! partition keys and partition projection, read into a [`Shape`] that says which partition
//! key holds the account, the region and the date, whatever the table's author named them.

use std::collections::BTreeMap;

/// A table definition as the Glue Data Catalog returns it (`glue:GetTable`), free of SDK
/// types so it can be built in tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDef {
    pub catalog: String,
    pub database: String,
    pub name: String,
    /// `StorageDescriptor.Location`.
    pub location: Option<String>,
    /// Data columns (not partition keys): name and Hive type text as Glue stores it
    /// (`string`, `struct<type:string,principalid:string,…>`, `array<struct<…>>`).
    pub columns: Vec<(String, String)>,
    /// Partition keys in order: name and type.
    pub partition_keys: Vec<(String, String)>,
    /// Table parameters (`projection.enabled`, `projection.<key>.type`, …,
    /// `storage.location.template`).
    pub parameters: BTreeMap<String, String>,
}

// LEAD-STUB: replaced by the sql branch.
pub struct Shape;
impl Shape {
    pub fn from_def(_def: &TableDef) -> anyhow::Result<Shape> {
        Ok(Shape)
    }
}
