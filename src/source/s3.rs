//! `s3://bucket[/prefix]`: list a trail bucket by the CloudTrail key layout, pruned by
//! account, region and time window, and stream the objects that remain.
//!
//! Layout: `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<file>`,
//! where the file name carries the delivery time `…_<YYYYMMDDTHHMMZ>_….json.gz`. Accounts,
//! organization folders and regions are discovered with delimiter listings (or taken from
//! `--account`/`--region`); only the day folders inside the window are listed, in parallel;
//! a file delivered before `--since` cannot hold an event of the window and is not fetched,
//! and a file delivered after `--until` plus the delivery lag is not fetched either. Digest,
//! Insights and write-check objects live outside the day folders and are never listed.
//!
//! Objects are fetched concurrently in list order (bounded by `--s3-concurrency`) and handed
//! to the scan as blocking readers fed by a small bounded channel: bytes are decoded as they
//! arrive, with no temporary files. A body that breaks off is resumed with a ranged GET.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, NaiveDateTime, Utc};
use tokio::sync::{mpsc, Semaphore};

use super::aws::{describe_sdk_error, AwsContext};
use super::{Input, Remote};
use crate::select::Window;

/// `s3://bucket/prefix`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    pub fn parse(s: &str) -> Result<S3Url> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| anyhow!("'{s}' is not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("'{s}': no bucket name");
        }
        let mut prefix = prefix.to_owned();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix,
        })
    }
}

/// S3 source settings.
#[derive(Debug, Clone)]
pub struct S3Options {
    pub concurrency: usize,
    /// How long after `--until` a file may still be delivered with events of the window.
    pub delivery_lag: ChronoDuration,
}

/// What the listing did, for the summary and for tests.
#[derive(Debug, Default)]
pub struct ListStats {
    pub list_requests: AtomicU64,
    pub objects_listed: AtomicU64,
    pub objects_selected: AtomicU64,
    pub objects_pruned: AtomicU64,
}

/// The delivery time in a trail file name: `…_20261001T1035Z_….json.gz`.
pub fn delivery_time(key: &str) -> Option<DateTime<Utc>> {
    let name = key.rsplit('/').next()?;
    name.split('_').find_map(|part| {
        if part.len() == 14 && part.as_bytes().get(8) == Some(&b'T') && part.ends_with('Z') {
            NaiveDateTime::parse_from_str(part, "%Y%m%dT%H%MZ")
                .ok()
                .map(|d| d.and_utc())
        } else {
            None
        }
    })
}

/// Whether a file whose name says it was delivered at `delivered` can hold events of the
/// window. The name gives the minute only: a `…T1134Z…` file may have been written at
/// 11:34:59 and hold events from 11:34:30, so it is kept for any `since` before 11:35.
pub fn may_hold(delivered: DateTime<Utc>, window: &Window, lag: ChronoDuration) -> bool {
    let latest = delivered + ChronoDuration::minutes(1);
    window.since.is_none_or(|s| latest > s) && window.until.is_none_or(|u| delivered <= u + lag)
}

/// The day folders to list: from the day of `since` to the day of `until + lag`.
fn days(window: &Window, lag: ChronoDuration) -> Vec<NaiveDate> {
    let (Some(since), Some(until)) = (window.since, window.until) else {
        return Vec::new();
    };
    let mut d = since.date_naive();
    let last = (until + lag).date_naive();
    let mut out = Vec::new();
    while d <= last && out.len() < 3660 {
        out.push(d);
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

struct Lister {
    client: aws_sdk_s3::Client,
    bucket: String,
    stats: Arc<ListStats>,
}

impl Lister {
    /// Whether any key starts with `prefix` (one request, one key).
    async fn exists(&self, prefix: &str) -> Result<bool> {
        self.stats.list_requests.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(1)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "s3://{}/{prefix}: {}",
                    self.bucket,
                    describe_sdk_error(&e, "s3:ListBucket")
                )
            })?;
        Ok(out.key_count().unwrap_or(0) > 0 || !out.contents().is_empty())
    }

    /// (common prefixes, objects with size) of one delimiter listing, every page.
    async fn list(
        &self,
        prefix: &str,
        delimiter: bool,
    ) -> Result<(Vec<String>, Vec<(String, i64)>)> {
        let mut prefixes = Vec::new();
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix);
            if delimiter {
                req = req.delimiter("/");
            }
            if let Some(t) = &token {
                req = req.continuation_token(t);
            }
            self.stats.list_requests.fetch_add(1, Ordering::Relaxed);
            let out = req.send().await.map_err(|e| {
                anyhow!(
                    "s3://{}/{prefix}: {}",
                    self.bucket,
                    describe_sdk_error(&e, "s3:ListBucket")
                )
            })?;
            prefixes.extend(
                out.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
            objects.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| Some((o.key()?.to_owned(), o.size().unwrap_or(0)))),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok((prefixes, objects))
    }
}

/// Lists the objects of `url` that can hold events of `window`, in key order.
pub fn list(
    ctx: &Arc<AwsContext>,
    url: &S3Url,
    window: &Window,
    opts: &S3Options,
    stats: &Arc<ListStats>,
) -> Result<Vec<Input>> {
    let region = bucket_region(ctx, &url.bucket)?;
    let client = ctx.s3(region.as_deref());
    let lister = Arc::new(Lister {
        client: client.clone(),
        bucket: url.bucket.clone(),
        stats: stats.clone(),
    });
    let keys: Vec<(String, i64)> = ctx.block_on(list_keys(
        lister,
        url.prefix.clone(),
        window.clone(),
        opts.delivery_lag,
    ))?;
    stats
        .objects_selected
        .fetch_add(keys.len() as u64, Ordering::Relaxed);
    let fetcher = Arc::new(Fetcher {
        client,
        bucket: url.bucket.clone(),
        permits: Arc::new(Semaphore::new(opts.concurrency.max(1))),
    });
    // Start every fetch now, in key order; the semaphore lets `concurrency` run at once and
    // the bounded channels hold back the rest until the scan reads them.
    let mut inputs = Vec::with_capacity(keys.len());
    for (key, size) in keys {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        let f = fetcher.clone();
        let k = key.clone();
        ctx.spawn(async move { f.fetch(&k, size, tx).await });
        inputs.push(Input::Remote(Arc::new(S3Object {
            name: format!("s3://{}/{key}", url.bucket),
            rx: std::sync::Mutex::new(Some(rx)),
        })));
    }
    Ok(inputs)
}

/// The bucket's region (HeadBucket's `x-amz-bucket-region`), so a bucket in another region
/// than the configured one still works.
pub(crate) fn bucket_region(ctx: &AwsContext, bucket: &str) -> Result<Option<String>> {
    let client = ctx.s3(None);
    ctx.block_on(async {
        match client.head_bucket().bucket(bucket).send().await {
            Ok(out) => Ok(out.bucket_region().map(str::to_owned)),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let header_region = e
                    .raw_response()
                    .and_then(|r| r.headers().get("x-amz-bucket-region"))
                    .map(str::to_owned);
                match (status, header_region) {
                    (Some(301), Some(r)) | (Some(400), Some(r)) => Ok(Some(r)),
                    (Some(404), _) => Err(anyhow!("s3://{bucket}: no such bucket")),
                    (Some(403), Some(r)) => Ok(Some(r)),
                    (Some(403), None) => Err(anyhow!(
                        "s3://{bucket}: access denied (s3:ListBucket on arn:aws:s3:::{bucket} is needed)"
                    )),
                    // HEAD answers carry no error body: let the listing say what is wrong
                    _ => Ok(None),
                }
            }
        }
    })
}

async fn list_keys(
    lister: Arc<Lister>,
    prefix: String,
    window: Window,
    lag: ChronoDuration,
) -> Result<Vec<(String, i64)>> {
    // Find the AWSLogs/ root: the prefix itself, or AWSLogs/ right below it.
    let root = if prefix.ends_with("AWSLogs/") {
        Some(prefix.clone())
    } else {
        let candidate = format!("{prefix}AWSLogs/");
        lister.exists(&candidate).await?.then_some(candidate)
    };
    let Some(root) = root else {
        // Not a trail layout: every object below the prefix, pruned by file-name time only.
        let (_, objects) = lister.list(&prefix, false).await?;
        return Ok(prune(&lister, objects, &window, lag));
    };
    // Accounts (and organization folders holding accounts).
    let mut account_prefixes = Vec::new();
    let (top, _) = lister.list(&root, true).await?;
    for p in top {
        let name = p
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        if name.starts_with("o-") {
            let (inner, _) = lister.list(&p, true).await?;
            account_prefixes.extend(inner);
        } else {
            account_prefixes.push(p);
        }
    }
    account_prefixes.retain(|p| {
        let acct = p
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        acct.len() == 12
            && acct.chars().all(|c| c.is_ascii_digit())
            && (window.accounts.is_empty() || window.accounts.iter().any(|a| a == acct))
    });
    // Regions of each account, in parallel.
    let mut tasks = tokio::task::JoinSet::new();
    for a in account_prefixes {
        let l = lister.clone();
        let regions = window.regions.clone();
        tasks.spawn(async move {
            let trail = format!("{a}CloudTrail/");
            let found: Vec<String> = if regions.is_empty() {
                l.list(&trail, true).await?.0
            } else {
                regions.iter().map(|r| format!("{trail}{r}/")).collect()
            };
            Ok::<Vec<String>, anyhow::Error>(found)
        });
    }
    let mut region_prefixes = Vec::new();
    while let Some(r) = tasks.join_next().await {
        region_prefixes.extend(r.map_err(|e| anyhow!("listing task failed: {e}"))??);
    }
    region_prefixes.sort();
    // Day folders inside the window, in parallel (bounded).
    let days = days(&window, lag);
    let day_prefixes: Vec<String> = if days.is_empty() {
        region_prefixes.clone()
    } else {
        region_prefixes
            .iter()
            .flat_map(|r| {
                days.iter()
                    .map(move |d| format!("{r}{}/", d.format("%Y/%m/%d")))
            })
            .collect()
    };
    let limit = Arc::new(Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for p in day_prefixes {
        let l = lister.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|e| anyhow!("{e}"))?;
            Ok::<Vec<(String, i64)>, anyhow::Error>(l.list(&p, false).await?.1)
        });
    }
    let mut objects = Vec::new();
    while let Some(r) = tasks.join_next().await {
        objects.extend(r.map_err(|e| anyhow!("listing task failed: {e}"))??);
    }
    objects.sort();
    Ok(prune(&lister, objects, &window, lag))
}

fn prune(
    lister: &Lister,
    objects: Vec<(String, i64)>,
    window: &Window,
    lag: ChronoDuration,
) -> Vec<(String, i64)> {
    let listed = objects.len() as u64;
    lister
        .stats
        .objects_listed
        .fetch_add(listed, Ordering::Relaxed);
    let kept: Vec<(String, i64)> = objects
        .into_iter()
        .filter(|(k, _)| {
            !k.ends_with('/')
                && !k.contains("/CloudTrail-Digest/")
                && !k.contains("/CloudTrail-Insight/")
        })
        .filter(|(k, _)| !k.ends_with("ConfigWritabilityCheckFile"))
        .filter(|(k, _)| delivery_time(k).is_none_or(|t| may_hold(t, window, lag)))
        .collect();
    lister
        .stats
        .objects_pruned
        .fetch_add(listed - kept.len() as u64, Ordering::Relaxed);
    kept
}

struct Fetcher {
    client: aws_sdk_s3::Client,
    bucket: String,
    permits: Arc<Semaphore>,
}

impl Fetcher {
    /// Streams one object into `tx`, resuming with a ranged GET when the body breaks off.
    async fn fetch(&self, key: &str, size: i64, tx: mpsc::Sender<io::Result<Bytes>>) {
        let Ok(_permit) = self.permits.clone().acquire_owned().await else {
            return;
        };
        let mut delivered: u64 = 0;
        let mut body_failures = 0u32;
        loop {
            let mut req = self.client.get_object().bucket(&self.bucket).key(key);
            if delivered > 0 {
                req = req.range(format!("bytes={delivered}-"));
            }
            let mut body: ByteStream = match req.send().await {
                Ok(out) => out.body,
                Err(e) => {
                    let msg = describe_sdk_error(&e, "s3:GetObject");
                    let _ = tx.send(Err(io::Error::other(msg))).await;
                    return;
                }
            };
            loop {
                match body.try_next().await {
                    Ok(Some(chunk)) => {
                        delivered += chunk.len() as u64;
                        if tx.send(Ok(chunk)).await.is_err() {
                            return; // the reader is gone
                        }
                    }
                    Ok(None) => {
                        if size > 0 && delivered < size as u64 {
                            break; // short body: resume
                        }
                        return;
                    }
                    Err(_) => break,
                }
            }
            body_failures += 1;
            if body_failures > 4 {
                let _ = tx
                    .send(Err(io::Error::other(format!(
                        "the object's body broke off 5 times (last at byte {delivered} of {size})"
                    ))))
                    .await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100 << body_failures)).await;
        }
    }
}

/// One S3 object as a scan input: its bytes arrive through the fetch task's channel.
struct S3Object {
    name: String,
    rx: std::sync::Mutex<Option<mpsc::Receiver<io::Result<Bytes>>>>,
}

impl Remote for S3Object {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        let rx = self
            .rx
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .ok_or_else(|| io::Error::other("object already read"))?;
        Ok(Box::new(ChannelReader {
            rx,
            current: Bytes::new(),
        }))
    }
}

/// A blocking `Read` over chunks sent by an async task.
pub struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    pub fn new(rx: mpsc::Receiver<io::Result<Bytes>>) -> ChannelReader {
        ChannelReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn urls() {
        assert_eq!(
            S3Url::parse("s3://b").unwrap(),
            S3Url {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            S3Url::parse("s3://b/logs").unwrap(),
            S3Url {
                bucket: "b".into(),
                prefix: "logs/".into()
            }
        );
        assert!(S3Url::parse("s3:///x").is_err());
    }

    #[test]
    fn delivery_times_and_pruning() {
        let k = "AWSLogs/1/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T1035Z_abcDEF.json.gz";
        let t = delivery_time(k).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 10, 1, 10, 35, 0).unwrap());
        let w = Window {
            since: Some(Utc.with_ymd_and_hms(2026, 10, 1, 10, 0, 0).unwrap()),
            until: Some(Utc.with_ymd_and_hms(2026, 10, 1, 10, 30, 0).unwrap()),
            ..Window::default()
        };
        assert!(may_hold(t, &w, ChronoDuration::minutes(15)));
        assert!(!may_hold(t, &w, ChronoDuration::minutes(4)));
        let early = Utc.with_ymd_and_hms(2026, 10, 1, 9, 59, 0).unwrap();
        assert!(!may_hold(early, &w, ChronoDuration::minutes(15)));
        // The name's minute covers the whole minute: 09:59 may hold events up to 09:59:59.
        let w = Window {
            since: Some(Utc.with_ymd_and_hms(2026, 10, 1, 9, 59, 30).unwrap()),
            ..w
        };
        assert!(may_hold(early, &w, ChronoDuration::minutes(15)));
        let w = Window {
            since: Some(Utc.with_ymd_and_hms(2026, 10, 1, 10, 0, 0).unwrap()),
            ..w
        };
        assert!(!may_hold(early, &w, ChronoDuration::minutes(15)));
        assert_eq!(days(&w, ChronoDuration::hours(20)).len(), 2);
    }
}
