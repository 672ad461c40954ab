//! trailwhy as a library: the stages of the data flow
//! source → decode → select → (scan) → inventory → explain → report, used by the `trailwhy`
//! binary (whose own modules `cli` and `command` hold the command line and the glue), the
//! benches and the fuzz targets. See ARCHITECTURE.md.

pub mod authz;
pub mod aws;
pub mod codebuild;
pub mod correlate;
pub mod decode;
pub mod event;
pub mod explain;
pub mod integrity;
pub mod interrupt;
pub mod inventory;
pub mod query;
pub mod read;
pub mod report;
pub mod scan;
pub mod select;
pub mod selection;
pub mod source;
