//! `trailwhy athena ddl`: the `CREATE EXTERNAL TABLE` for a trail bucket, with partition
//! projection.
