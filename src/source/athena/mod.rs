//! `athena://DATABASE.TABLE?workgroup=W&output=s3://BUCKET/PREFIX/`: the record selection
//! pushed down to Amazon Athena over the trail bucket's CloudTrail table.
//!
//! The table's definition comes from the Glue Data Catalog (`table.rs`: partition keys and
//! partition projection, read into a [`table::Shape`]); the command's selection becomes one
//! Trino SQL statement (`sql.rs`); the statement runs in Athena (`run.rs`); its rows are
//! either the matched events' `eventid` and `"$path"` (objects mode: those objects are then
//! read with the S3 reader and only the matched events kept) or the events' columns, rebuilt
//! into records (columns mode, for callers without `s3:GetObject` on the trail bucket).
//! `ddl.rs` writes the `CREATE EXTERNAL TABLE` of `trailwhy athena ddl`.

pub mod ddl;
pub mod sql;
pub mod table;
