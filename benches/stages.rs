//! Per-stage benchmarks of the scan path: gzip inflate, record splitting, record decoding,
//! selection, trust-policy evaluation, and one end-to-end scan on one thread. Inputs are made
//! in memory from a small corpus written by `gen-corpus` (the same generator and event mix
//! as the whole-corpus comparison in `bench/compare.sh`), about 20 MB of JSON.
//!
//! This measures stage costs in isolation (MB/s of decompressed JSON, or evaluations per
//! second); it does not compare trailwhy with other tools — see BENCHMARKS.md for that. Run
//! with `cargo bench --bench stages`; measurement times are short on purpose.

#![expect(
    clippy::expect_used,
    reason = "a bench fails loudly on a broken setup, like a test"
)]

use std::hint::black_box;
use std::io::{Cursor, Read};

use gen_corpus::Parser as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

use iam_policy::{evaluate, Policy};
use trailwhy::decode::{decompress, DecodeLimits, RecordSplitter};
use trailwhy::event::Record;
use trailwhy::explain::trust::{diagnose, request_for, Token};
use trailwhy::scan::scan;
use trailwhy::select::Selector;
use trailwhy::selection::Window;
use trailwhy::source::Input;

/// Files × records per file of the bench corpus: about 14,000 records, 19 MB of JSON.
const FILES: &str = "48";
const RECORDS_PER_FILE: &str = "300";

/// The bench corpus, written once per bench run into a temporary directory.
struct Corpus {
    _dir: tempfile::TempDir,
    paths: Vec<PathBuf>,
    /// Each file's gzip bytes.
    gz: Vec<Arc<[u8]>>,
    /// Each file's JSON bytes.
    plain: Vec<Vec<u8>>,
    /// Every record of every file, owned.
    records: Vec<Vec<u8>>,
}

impl Corpus {
    fn plain_bytes(&self) -> u64 {
        self.plain.iter().map(|p| p.len() as u64).sum()
    }

    fn record_bytes(&self) -> u64 {
        self.records.iter().map(|r| r.len() as u64).sum()
    }
}

fn log_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read corpus dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if !p.ends_with("CloudTrail-Digest") {
                log_files(&p, out);
            }
        } else if p.to_string_lossy().ends_with(".json.gz") {
            out.push(p);
        }
    }
}

fn corpus() -> Corpus {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().to_str().expect("temp dir is UTF-8");
    gen_corpus::run(&gen_corpus::Args::parse_from([
        "gen-corpus",
        "--out",
        out,
        "--files",
        FILES,
        "--records-per-file",
        RECORDS_PER_FILE,
        "--seed",
        "7",
    ]))
    .expect("gen-corpus");
    let mut paths = Vec::new();
    log_files(&dir.path().join("AWSLogs"), &mut paths);
    assert!(!paths.is_empty(), "gen-corpus wrote no log files");
    let limits = DecodeLimits::default();
    let mut gz = Vec::new();
    let mut plain = Vec::new();
    let mut records = Vec::new();
    for p in &paths {
        let bytes = std::fs::read(p).expect("read log file");
        let mut json = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut json)
            .expect("inflate");
        {
            let mut splitter = RecordSplitter::new(&json[..], &limits);
            while let Some(r) = splitter.next_record().expect("split") {
                records.push(r.bytes.to_vec());
            }
        }
        gz.push(Arc::from(bytes));
        plain.push(json);
    }
    Corpus {
        _dir: dir,
        paths,
        gz,
        plain,
        records,
    }
}

fn short(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

fn stages(c: &mut Criterion) {
    let corpus = corpus();
    let limits = DecodeLimits::default();
    eprintln!(
        "bench corpus: {} files, {} records, {:.1} MB JSON, {:.1} MB gzip",
        corpus.paths.len(),
        corpus.records.len(),
        corpus.plain_bytes() as f64 / 1e6,
        corpus.gz.iter().map(|g| g.len() as f64).sum::<f64>() / 1e6,
    );

    // 1. gzip: each file through `decompress`, as the scan does (a new inflater per file).
    let mut g = c.benchmark_group("decompress");
    short(&mut g);
    g.throughput(Throughput::Bytes(corpus.plain_bytes()));
    let mut sink = vec![0u8; 256 * 1024];
    g.bench_function("per_file_decompress", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for gz in &corpus.gz {
                let (_, mut r) = decompress(Cursor::new(Arc::clone(gz)), &limits).expect("open");
                loop {
                    let n = r.read(&mut sink).expect("inflate");
                    if n == 0 {
                        break;
                    }
                    total += n;
                }
            }
            black_box(total)
        })
    });
    // The same bytes as one multi-member stream: the inflate cost without per-file setup.
    let joined: Arc<[u8]> = corpus.gz.iter().flat_map(|g| g.iter().copied()).collect();
    g.bench_function("one_multi_member_stream", |b| {
        b.iter(|| {
            let (_, mut r) = decompress(Cursor::new(Arc::clone(&joined)), &limits).expect("open");
            let mut total = 0usize;
            loop {
                let n = r.read(&mut sink).expect("inflate");
                if n == 0 {
                    break;
                }
                total += n;
            }
            black_box(total)
        })
    });
    g.finish();

    // 2. Splitting plain JSON into records.
    let mut g = c.benchmark_group("split");
    short(&mut g);
    g.throughput(Throughput::Bytes(corpus.plain_bytes()));
    g.bench_function("record_splitter", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for json in &corpus.plain {
                let mut s = RecordSplitter::new(&json[..], &limits);
                while let Some(r) = s.next_record().expect("split") {
                    n += r.bytes.len();
                }
            }
            black_box(n)
        })
    });
    g.finish();

    // 3. Decoding records into the borrowed `Record` struct.
    let selector = Selector::new(Window::default());
    let candidates: Vec<&Vec<u8>> = corpus
        .records
        .iter()
        .filter(|r| selector.may_match(r))
        .collect();
    let candidate_bytes: u64 = candidates.iter().map(|r| r.len() as u64).sum();
    eprintln!(
        "may_match passes {} of {} records ({:.1}% of bytes)",
        candidates.len(),
        corpus.records.len(),
        candidate_bytes as f64 * 100.0 / corpus.record_bytes() as f64
    );
    let mut g = c.benchmark_group("decode");
    short(&mut g);
    g.throughput(Throughput::Bytes(corpus.record_bytes()));
    g.bench_function("from_slice_every_record", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for r in &corpus.records {
                if let Ok(rec) = serde_json::from_slice::<Record>(r) {
                    n += usize::from(rec.error_code.is_some());
                }
            }
            black_box(n)
        })
    });
    g.throughput(Throughput::Bytes(candidate_bytes));
    g.bench_function("from_slice_candidates_only", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for r in &candidates {
                if let Ok(rec) = serde_json::from_slice::<Record>(r) {
                    n += usize::from(rec.error_code.is_some());
                }
            }
            black_box(n)
        })
    });
    g.finish();

    // 4. Selection: the byte pre-filter, then decode + select of what passes.
    let mut g = c.benchmark_group("select");
    short(&mut g);
    g.throughput(Throughput::Bytes(corpus.record_bytes()));
    g.bench_function("may_match", |b| {
        b.iter(|| {
            black_box(
                corpus
                    .records
                    .iter()
                    .filter(|r| selector.may_match(r))
                    .count(),
            )
        })
    });
    g.bench_function("may_match_decode_select", |b| {
        b.iter(|| {
            let mut kept = 0usize;
            for r in &corpus.records {
                if !selector.may_match(r) {
                    continue;
                }
                if let Ok(rec) = serde_json::from_slice::<Record>(r) {
                    kept += usize::from(selector.select(&rec).is_ok());
                }
            }
            black_box(kept)
        })
    });
    g.finish();

    // 5. End to end on one thread: files → decompress → split → select (no explain).
    let inputs: Vec<Input> = corpus.paths.iter().cloned().map(Input::File).collect();
    let mut g = c.benchmark_group("scan");
    short(&mut g);
    g.throughput(Throughput::Bytes(corpus.plain_bytes()));
    g.bench_function("files_one_thread", |b| {
        b.iter(|| {
            let s = scan(&inputs, Vec::new(), &selector, &limits, Some(1)).expect("scan");
            black_box(s.stats.records_matched)
        })
    });
    g.finish();
}

const TRUST_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": [
          "repo:acme/web:ref:refs/heads/main",
          "repo:acme/api:environment:*",
          "repo:acme/infra:ref:refs/tags/v*"
        ]}
      }
    },
    {
      "Sid": "DenyForks",
      "Effect": "Deny",
      "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:evil/*"}}
    }
  ]
}"#;

fn policy(c: &mut Criterion) {
    let provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
    let role = "arn:aws:iam::111122223333:role/gha-deploy";
    let policy = Policy::parse(TRUST_POLICY).expect("trust policy");
    let allowed = Token {
        provider,
        audience: Some("sts.amazonaws.com"),
        subject: "repo:acme/api:environment:production",
        session_name: Some("GitHubActions"),
        request: None,
    };
    let denied = Token {
        subject: "repo:acme/web:pull_request",
        ..allowed.clone()
    };
    let mut g = c.benchmark_group("policy");
    short(&mut g);
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_trust_policy", |b| {
        b.iter(|| black_box(Policy::parse(black_box(TRUST_POLICY)).is_ok()))
    });
    g.bench_function("request_for", |b| {
        b.iter(|| black_box(request_for(black_box(&denied), Some(role))))
    });
    let allow_request = request_for(&allowed, Some(role));
    let deny_request = request_for(&denied, Some(role));
    g.bench_function("evaluate_allowed", |b| {
        b.iter(|| black_box(evaluate(&policy, black_box(&allow_request))))
    });
    g.bench_function("evaluate_denied", |b| {
        b.iter(|| black_box(evaluate(&policy, black_box(&deny_request))))
    });
    g.bench_function("diagnose_denied", |b| {
        b.iter(|| black_box(diagnose(&policy, black_box(&denied), Some(role)).decision))
    });
    g.finish();
}

criterion_group!(benches, stages, policy);
criterion_main!(benches);
