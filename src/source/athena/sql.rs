//! The command's selection compiled into one SQL statement for Athena engine version 3
//! (Trino dialect).

// LEAD-STUB: replaced by the sql branch.
use super::table::Shape;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Objects,
    Columns,
}
pub enum Want<'a> {
    Explain { lookback: chrono::Duration },
    Query(&'a crate::query::filter::RecordFilter),
}
pub struct Plan<'a> {
    pub window: &'a crate::select::Window,
    pub want: Want<'a>,
    pub mode: Mode,
}
pub struct Statement {
    pub sql: String,
    pub columns: Vec<String>,
    pub warnings: Vec<String>,
    pub partitions: Option<u64>,
}
pub fn compile(_shape: &Shape, _plan: &Plan<'_>) -> anyhow::Result<Statement> {
    Ok(Statement {
        sql: String::new(),
        columns: vec!["eventid".into(), "$path".into()],
        warnings: vec![],
        partitions: None,
    })
}
pub fn rebuild(_columns: &[String], _row: &[Option<String>]) -> anyhow::Result<String> {
    Ok(String::new())
}
pub const COLUMNS_MODE_LOSES: &str = "";
