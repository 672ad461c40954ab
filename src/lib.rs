//! trailwhy as a library: the stages of the data flow
//! source → decode → select → (scan) → inventory → explain → report, used by the `trailwhy`
//! binary, the benches and the fuzz targets. See ARCHITECTURE.md.

pub mod authz;
pub mod cli;
pub mod codebuild;
pub mod command;
pub mod correlate;
pub mod decode;
pub mod event;
pub mod explain;
pub mod integrity;
pub mod interrupt;
pub mod inventory;
pub mod query;
pub mod report;
pub mod scan;
pub mod select;
pub mod source;
