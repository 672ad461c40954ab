//! `gen-corpus`: see the library's documentation (`tools/gen-corpus/src/lib.rs`).

use gen_corpus::{Args, Parser};

fn main() -> anyhow::Result<()> {
    println!("{}", gen_corpus::run(&Args::parse())?);
    Ok(())
}
