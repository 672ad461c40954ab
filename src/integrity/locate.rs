//! Finding and reading digest files: beside local copies of a trail (`aws s3 sync`), and in
//! an `s3://` bucket for the accounts, regions and days the scan covers (plus the day after
//! the window: a digest is written after the logs it lists). The source stage skips digests
//! by design; this is the one place that reads them. S3 objects are read with their user
//! metadata, which holds the signature; local copies have none.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Result};
use chrono::{Duration as ChronoDuration, NaiveDate};
use tokio::sync::Semaphore;

use super::digest::{parse_log_name, trail_relative};
use crate::aws::{describe_sdk_error, AwsContext};
use crate::selection::Window;
use crate::source::s3::S3Url;

/// Larger objects under `CloudTrail-Digest/` are not read (a digest lists one hour's files).
const MAX_DIGEST_BYTES: i64 = 64 << 20;

/// Where a digest was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    S3 { bucket: String, key: String },
    Local(PathBuf),
}

/// A digest file as read: its compressed bytes and, from S3, its signature metadata.
#[derive(Debug, Clone)]
pub struct RawDigest {
    pub location: Location,
    /// The name used in every message.
    pub name: String,
    pub bytes: Result<Vec<u8>, String>,
    /// `x-amz-meta-signature` (hex).
    pub signature: Option<String>,
    /// `x-amz-meta-signature-algorithm`.
    pub signature_algorithm: Option<String>,
    /// `x-amz-meta-backfill-generation-timestamp`: when a backfill digest was made (and
    /// signed; its key must be valid then).
    pub backfill_generated: Option<String>,
}

/// Digest files found beside local SOURCE paths: under every `CloudTrail-Digest/` folder
/// inside a SOURCE directory, and, for a SOURCE inside `ACCOUNT/CloudTrail/REGION/…`, that
/// account's `CloudTrail-Digest/REGION/` folder.
pub fn local_digests(sources: &[PathBuf]) -> Vec<RawDigest> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for p in sources {
        let text = p.to_string_lossy();
        match trail_relative(&text) {
            Some(at) => {
                let rel = &text[at..];
                let mut parts = rel.split('/');
                let account = parts.next().unwrap_or_default();
                let _kind = parts.next();
                let mut dir = PathBuf::from(&text[..at])
                    .join(account)
                    .join("CloudTrail-Digest");
                if let Some(region) = parts.next().filter(|r| !r.is_empty()) {
                    dir.push(region);
                }
                dirs.push(dir);
            }
            None => dirs.push(p.clone()),
        }
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let walker = walkdir::WalkDir::new(&d)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                !(e.file_type().is_dir()
                    && matches!(
                        e.file_name().to_str(),
                        Some("CloudTrail") | Some("CloudTrail-Insight")
                    ))
            });
        for e in walker.flatten() {
            let in_digests = e
                .path()
                .iter()
                .any(|c| c.to_str() == Some("CloudTrail-Digest"));
            if e.file_type().is_file() && in_digests {
                files.push(e.path().to_path_buf());
            }
        }
    }
    files.sort();
    files.dedup();
    files
        .into_iter()
        .map(|path| RawDigest {
            name: path.display().to_string(),
            bytes: read_small(&path),
            location: Location::Local(path),
            signature: None,
            signature_algorithm: None,
            backfill_generated: None,
        })
        .collect()
}

/// A local digest's bytes, refusing files too large to be one.
fn read_small(path: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| crate::source::io_reason(&e))?
        .len();
    if len > MAX_DIGEST_BYTES as u64 {
        return Err(format!(
            "{len} bytes: too large for a digest file (more than {MAX_DIGEST_BYTES})"
        ));
    }
    std::fs::read(path).map_err(|e| crate::source::io_reason(&e))
}

/// The absolute form of a local SOURCE (no symlinks resolved, no IO beyond the working
/// directory).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The day folders whose digests can list files of the window: from the day of `since` to
/// the day after `until + lag`.
fn digest_days(window: &Window, lag: ChronoDuration) -> Vec<NaiveDate> {
    // the log folders' days, and the day after: a digest is written after its logs
    crate::source::s3::days(window, lag + ChronoDuration::days(1))
}

/// What part of a trail layout an `s3://` SOURCE's prefix names: the `AWSLogs/` root, and
/// the organization, account and region folders below it it is confined to.
#[derive(Debug, Default, PartialEq, Eq)]
struct Within {
    root: String,
    org: Option<String>,
    account: Option<String>,
    region: Option<String>,
}

impl Within {
    /// `[P/]AWSLogs/[o-ORG/][ACCOUNT/][CloudTrail/][REGION/]…`; a prefix without `AWSLogs/`
    /// is the key prefix in front of it.
    fn of(prefix: &str) -> Within {
        let Some(at) = prefix.rfind("AWSLogs/") else {
            return Within {
                root: format!("{prefix}AWSLogs/"),
                ..Within::default()
            };
        };
        let root = prefix[..at + "AWSLogs/".len()].to_owned();
        let mut rest = prefix[root.len()..]
            .split('/')
            .filter(|s| !s.is_empty())
            .peekable();
        let org = rest.next_if(|s| s.starts_with("o-")).map(str::to_owned);
        let account = rest.next().map(str::to_owned);
        let _kind = rest.next();
        let region = rest.next().map(str::to_owned);
        Within {
            root,
            org,
            account,
            region,
        }
    }
}

/// The digest folders of the days a log file read could be listed in: its account's
/// `CloudTrail-Digest/REGION/` folder, the day it was delivered and the day after (the
/// digest of the last hour of a day is written on the next).
fn digest_folders_of_log(key: &str) -> Vec<String> {
    let (Some(at), Some(name)) = (trail_relative(key), parse_log_name(key)) else {
        return Vec::new();
    };
    let day = name.delivered.date_naive();
    [Some(day), day.succ_opt()]
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{}{}/CloudTrail-Digest/{}/{}/",
                &key[..at],
                name.account,
                name.region,
                d.format("%Y/%m/%d")
            )
        })
        .collect()
}

/// Lists and reads the digests of `url`: those of the window's accounts, regions and days
/// (every organization and account folder below the SOURCE's prefix, every region folder of
/// each), and those of every region and day a log file read (`read`: keys in this bucket)
/// was delivered in.
pub fn s3_digests(
    ctx: &Arc<AwsContext>,
    url: &S3Url,
    window: &Window,
    lag: ChronoDuration,
    read: &[String],
) -> Result<Vec<RawDigest>> {
    let region = crate::source::s3::bucket_region(ctx, &url.bucket)?;
    let client = ctx.s3(region.as_deref());
    let bucket = url.bucket.clone();
    let within = Within::of(&url.prefix);
    let days = digest_days(window, lag);
    let window = window.clone();
    let from_logs: BTreeSet<String> = read
        .iter()
        .filter(|k| k.starts_with(url.prefix.as_str()))
        .flat_map(|k| digest_folders_of_log(k))
        .collect();
    ctx.block_on(async move {
        let list = |prefix: String, delimiter: bool| {
            let client = client.clone();
            let bucket = bucket.clone();
            async move { list(&client, &bucket, &prefix, delimiter).await }
        };
        let mut accounts = Vec::new();
        let tops = match (&within.org, &within.account) {
            (Some(org), _) => vec![format!("{}{org}/", within.root)],
            (None, Some(a)) => vec![format!("{}{a}/", within.root)],
            (None, _) => list(within.root.clone(), true).await?.0,
        };
        for p in tops {
            let name = last_segment(&p);
            if name.starts_with("o-") {
                match &within.account {
                    Some(a) if within.org.is_some() => accounts.push(format!("{p}{a}/")),
                    _ => accounts.extend(list(p.clone(), true).await?.0),
                }
            } else {
                accounts.push(p);
            }
        }
        accounts.retain(|p| {
            let a = last_segment(p);
            a.len() == 12
                && a.bytes().all(|b| b.is_ascii_digit())
                && (window.accounts.is_empty() || window.accounts.iter().any(|x| x == a))
        });
        let mut regions = Vec::new();
        for a in accounts {
            let digests = format!("{a}CloudTrail-Digest/");
            match (&within.region, window.regions.is_empty()) {
                (Some(r), _) => regions.push(format!("{digests}{r}/")),
                (None, true) => regions.extend(list(digests, true).await?.0),
                (None, false) => {
                    regions.extend(window.regions.iter().map(|r| format!("{digests}{r}/")))
                }
            }
        }
        let mut prefixes: BTreeSet<String> = if days.is_empty() {
            regions.into_iter().collect()
        } else {
            regions
                .iter()
                .flat_map(|r| {
                    days.iter()
                        .map(move |d| format!("{r}{}/", d.format("%Y/%m/%d")))
                })
                .collect()
        };
        // a folder already listed whole (no window) holds the day folders below it
        for p in from_logs {
            if !prefixes.iter().any(|q| p.starts_with(q.as_str())) {
                prefixes.insert(p);
            }
        }
        let mut keys = Vec::new();
        for p in prefixes {
            keys.extend(list(p, false).await?.1);
        }
        keys.sort();
        keys.dedup();
        let permits = Arc::new(Semaphore::new(16));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, key) in keys.iter().enumerate() {
            let client = client.clone();
            let bucket = bucket.clone();
            let key = key.clone();
            let permits = permits.clone();
            tasks.spawn(async move {
                let _p = permits.acquire_owned().await;
                (i, get(&client, &bucket, &key).await)
            });
        }
        let mut out: Vec<Option<RawDigest>> = vec![None; keys.len()];
        while let Some(r) = tasks.join_next().await {
            let (i, d) = r.map_err(|e| anyhow!("digest fetch task failed: {e}"))?;
            out[i] = Some(d);
        }
        Ok(out.into_iter().flatten().collect())
    })
}

fn last_segment(prefix: &str) -> &str {
    prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

async fn list(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    delimiter: bool,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut prefixes = Vec::new();
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = client.list_objects_v2().bucket(bucket).prefix(prefix);
        if delimiter {
            req = req.delimiter("/");
        }
        if let Some(t) = &token {
            req = req.continuation_token(t);
        }
        let out = req.send().await.map_err(|e| {
            anyhow!(
                "s3://{bucket}/{prefix}: {}",
                describe_sdk_error(&e, "s3:ListBucket")
            )
        })?;
        prefixes.extend(
            out.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
        keys.extend(
            out.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .filter(|k| !k.ends_with('/')),
        );
        match out.next_continuation_token() {
            Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok((prefixes, keys))
}

async fn get(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> RawDigest {
    let name = format!("s3://{bucket}/{key}");
    let location = Location::S3 {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    };
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) => {
            return RawDigest {
                name,
                location,
                bytes: Err(describe_sdk_error(&e, "s3:GetObject")),
                signature: None,
                signature_algorithm: None,
                backfill_generated: None,
            }
        }
    };
    if out.content_length().unwrap_or(0) > MAX_DIGEST_BYTES {
        return RawDigest {
            name,
            location,
            bytes: Err(format!(
                "{} bytes: too large for a digest file (more than {MAX_DIGEST_BYTES})",
                out.content_length().unwrap_or(0)
            )),
            signature: None,
            signature_algorithm: None,
            backfill_generated: None,
        };
    }
    let meta = out.metadata().cloned().unwrap_or_default();
    let bytes = match out.body.collect().await {
        Ok(b) => Ok(b.into_bytes().to_vec()),
        Err(e) => Err(format!("the object's body broke off: {e}")),
    };
    RawDigest {
        name,
        location,
        bytes,
        signature: meta.get("signature").cloned(),
        signature_algorithm: meta.get("signature-algorithm").cloned(),
        backfill_generated: meta.get("backfill-generation-timestamp").cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_prefix_names() {
        assert_eq!(Within::of("").root, "AWSLogs/");
        assert_eq!(Within::of("logs/ct/").root, "logs/ct/AWSLogs/");
        let w = Within::of("logs/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2026/");
        assert_eq!(
            w,
            Within {
                root: "logs/AWSLogs/".into(),
                org: Some("o-abc123".into()),
                account: Some("111122223333".into()),
                region: Some("eu-west-1".into()),
            }
        );
        let w = Within::of("AWSLogs/111122223333/");
        assert_eq!(
            (w.org, w.account, w.region),
            (None, Some("111122223333".into()), None)
        );
    }

    #[test]
    fn a_log_read_names_its_digest_folders_that_day_and_the_next() {
        let k = "p/AWSLogs/o-abc123/111122223333/CloudTrail/ap-northeast-1/2026/12/31/111122223333_CloudTrail_ap-northeast-1_20261231T2355Z_x.json.gz";
        assert_eq!(
            digest_folders_of_log(k),
            vec![
                "p/AWSLogs/o-abc123/111122223333/CloudTrail-Digest/ap-northeast-1/2026/12/31/",
                "p/AWSLogs/o-abc123/111122223333/CloudTrail-Digest/ap-northeast-1/2027/01/01/",
            ]
        );
        assert!(digest_folders_of_log("p/notes.json.gz").is_empty());
    }
}
