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
//! The listing streams: day folders are listed concurrently (16 at a time) but released in
//! key order through a small reorder buffer, so the objects of the first folder are appended
//! to the scan's [`Inputs`] and queued for fetching while later folders are still being
//! listed. Objects are fetched in that order, `--s3-concurrency` at once, and handed to the
//! scan as blocking readers fed by a small bounded channel: bytes are decoded as they arrive,
//! with no temporary files. A fetch holds its slot until its reader is done with the object,
//! so at most `--s3-concurrency` objects are fetched ahead of the readers, and a cancelled
//! scan (`query --limit` reached) starts no further GET. A body that breaks off is resumed
//! with a ranged GET.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, NaiveDateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use super::channel::ChannelReader;
use super::{Input, Inputs, Remote};
use crate::aws::{describe_sdk_error, AwsContext};
use crate::selection::Window;

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
pub(crate) fn days(window: &Window, lag: ChronoDuration) -> Vec<NaiveDate> {
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
        self.pages(prefix, delimiter, |p, o| {
            prefixes.extend(p);
            objects.extend(o);
        })
        .await?;
        Ok((prefixes, objects))
    }

    /// Hands each page of a listing to `page` (common prefixes, objects with size) as it
    /// arrives.
    async fn pages(
        &self,
        prefix: &str,
        delimiter: bool,
        mut page: impl FnMut(Vec<String>, Vec<(String, i64)>),
    ) -> Result<()> {
        let mut token: Option<String> = None;
        loop {
            // Ctrl-C: list no further page (what was listed is still read or counted)
            if crate::interrupt::requested() {
                return Ok(());
            }
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
            page(
                out.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned))
                    .collect(),
                out.contents()
                    .iter()
                    .filter_map(|o| Some((o.key()?.to_owned(), o.size().unwrap_or(0))))
                    .collect(),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(())
    }
}

/// One `s3://` SOURCE, ready to be listed: the bucket's region is known (a missing bucket
/// fails here, before any scan), nothing is listed yet.
pub struct Listing {
    lister: Arc<Lister>,
    fetcher: Arc<Fetcher>,
    prefix: String,
    window: Window,
    lag: ChronoDuration,
}

/// Finds the bucket's region for `url` and prepares its listing ([`Listing::run`]).
pub fn prepare(
    ctx: &Arc<AwsContext>,
    url: &S3Url,
    window: &Window,
    opts: &S3Options,
    stats: &Arc<ListStats>,
) -> Result<Listing> {
    let region = bucket_region(ctx, &url.bucket)?;
    let client = ctx.s3(region.as_deref());
    Ok(Listing {
        lister: Arc::new(Lister {
            client: client.clone(),
            bucket: url.bucket.clone(),
            stats: stats.clone(),
        }),
        fetcher: Arc::new(Fetcher {
            client,
            bucket: url.bucket.clone(),
            permits: Arc::new(Semaphore::new(opts.concurrency.max(1))),
        }),
        prefix: url.prefix.clone(),
        window: window.clone(),
        lag: opts.delivery_lag,
    })
}

impl Listing {
    /// Lists the objects that can hold events of the window and appends them to `inputs` in
    /// key order, each day folder as soon as it and every folder before it are listed; their
    /// GETs start in the same order. Cancelling `inputs` closes the fetch queue.
    pub async fn run(self, inputs: Arc<Inputs>) -> Result<()> {
        let queue = start_fetching(&self.fetcher, &inputs);
        let release = Release {
            lister: self.lister.clone(),
            window: self.window.clone(),
            lag: self.lag,
            to: Destination::Scan { queue, inputs },
        };
        list_keys(&self.lister, &self.prefix, &release).await
    }

    /// The objects and bytes of the day folders the window spans (whole folders: what a
    /// query over day partitions reads), fetching nothing; `None` when that would take
    /// listing more than `max_folders` day folders.
    pub async fn measure(self, max_folders: usize) -> Result<Option<(u64, u64)>> {
        let release = Release {
            lister: self.lister.clone(),
            window: self.window.clone(),
            lag: self.lag,
            to: Destination::Measure {
                max_folders,
                objects: AtomicU64::new(0),
                bytes: AtomicU64::new(0),
            },
        };
        match list_keys(&self.lister, &self.prefix, &release).await {
            Err(e) if e.is::<TooManyFolders>() => Ok(None),
            Err(e) => Err(e),
            Ok(()) => match &release.to {
                Destination::Measure { objects, bytes, .. } => Ok(Some((
                    objects.load(Ordering::Relaxed),
                    bytes.load(Ordering::Relaxed),
                ))),
                Destination::Scan { .. } => Ok(None),
            },
        }
    }
}

/// A measurement would list more day folders than allowed.
#[derive(Debug)]
struct TooManyFolders;

impl std::fmt::Display for TooManyFolders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("too many day folders to measure")
    }
}

impl std::error::Error for TooManyFolders {}

/// Starts the task that fetches what is queued, in queue order; cancelling `inputs` closes
/// the slots and stops the running fetches.
fn start_fetching(fetcher: &Arc<Fetcher>, inputs: &Inputs) -> mpsc::UnboundedSender<Queued> {
    let permits = fetcher.permits.clone();
    let (abort, aborted) = watch::channel(false);
    inputs.on_cancel(Box::new(move || {
        permits.close();
        let _ = abort.send(true);
    }));
    let (queue, queued) = mpsc::unbounded_channel();
    tokio::spawn(fetch_in_order(fetcher.clone(), queued, aborted));
    queue
}

/// Queues `objects` (key, size; a size of 0 or less when not known) for fetching and
/// appends them to `inputs`, in the given order.
fn queue_objects(
    bucket: &str,
    objects: impl IntoIterator<Item = (String, i64)>,
    queue: &mpsc::UnboundedSender<Queued>,
    inputs: &Inputs,
) {
    for (key, size) in objects {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        let (reading, gone) = oneshot::channel();
        let name = format!("s3://{bucket}/{key}");
        // a closed queue means the fetches were cancelled: the reader then sees no bytes
        let _ = queue.send(Queued {
            key,
            size,
            tx,
            gone,
        });
        inputs.push(Input::Remote(Arc::new(S3Object {
            name,
            rx: std::sync::Mutex::new(Some((rx, reading))),
        })));
    }
}

/// Objects named in advance (an Athena query's `"$path"`s, in `s3://bucket/key` form),
/// appended to `inputs` in the given order and fetched like a listing's objects:
/// `concurrency` at once per bucket, each bucket read in its own region.
pub async fn read_named(
    client: aws_sdk_s3::Client,
    paths: Vec<String>,
    concurrency: usize,
    inputs: Arc<Inputs>,
) -> Result<()> {
    let mut queues: BTreeMap<String, mpsc::UnboundedSender<Queued>> = BTreeMap::new();
    for path in paths {
        let url = S3Url::parse(&path)?;
        let key = url.prefix.trim_end_matches('/').to_owned();
        if key.is_empty() {
            bail!("'{path}' names no object");
        }
        if !queues.contains_key(&url.bucket) {
            let region = bucket_region_of(&client, &url.bucket).await?;
            let mut b = client.config().to_builder();
            if let Some(r) = region {
                b = b.region(aws_config::Region::new(r));
            }
            let fetcher = Arc::new(Fetcher {
                client: aws_sdk_s3::Client::from_conf(b.build()),
                bucket: url.bucket.clone(),
                permits: Arc::new(Semaphore::new(concurrency.max(1))),
            });
            queues.insert(url.bucket.clone(), start_fetching(&fetcher, &inputs));
        }
        queue_objects(&url.bucket, [(key, 0)], &queues[&url.bucket], &inputs);
    }
    Ok(())
}

/// An object waiting for its GET.
struct Queued {
    key: String,
    size: i64,
    /// Where its bytes go.
    tx: mpsc::Sender<io::Result<Bytes>>,
    /// Resolves when the object's reader (or the unread input) is gone.
    gone: oneshot::Receiver<()>,
}

/// Starts the GETs of queued objects in queue order, `--s3-concurrency` at once, skipping
/// objects nobody will read. A fetch keeps its slot until the object's reader is done with
/// it, and stops when the reader is gone or the inputs are cancelled (`aborted`). Ends when
/// the queue closes or the slots are closed (cancelled).
async fn fetch_in_order(
    fetcher: Arc<Fetcher>,
    mut queued: mpsc::UnboundedReceiver<Queued>,
    aborted: watch::Receiver<bool>,
) {
    while let Some(q) = queued.recv().await {
        let Ok(permit) = fetcher.permits.clone().acquire_owned().await else {
            return;
        };
        if q.tx.is_closed() {
            continue; // no longer wanted (the inputs after it were cancelled)
        }
        let f = fetcher.clone();
        let mut aborted = aborted.clone();
        tokio::spawn(async move {
            let Queued {
                key,
                size,
                tx,
                mut gone,
            } = q;
            let fetched = tokio::select! {
                () = f.fetch(&key, size, &tx) => true,
                _ = &mut gone => false,
                _ = aborted.wait_for(|a| *a) => false,
            };
            // the reader sees the end of the object once the sender is gone
            drop(tx);
            if fetched {
                // the bytes may still wait in the channel: the slot is free once they are read
                tokio::select! {
                    _ = gone => {}
                    _ = aborted.wait_for(|a| *a) => {}
                }
            }
            drop(permit);
        });
    }
}

/// Hands listed objects to the scan: pruned, appended to its inputs, queued for fetching.
struct Release {
    lister: Arc<Lister>,
    window: Window,
    lag: ChronoDuration,
    to: Destination,
}

/// Where listed objects go.
enum Destination {
    /// Appended to the scan's inputs and queued for fetching.
    Scan {
        queue: mpsc::UnboundedSender<Queued>,
        inputs: Arc<Inputs>,
    },
    /// Only measured: every object of the day folders counts (a query engine reads whole
    /// partitions), none is fetched; more day folders than `max_folders` stop the listing.
    Measure {
        max_folders: usize,
        objects: AtomicU64,
        bytes: AtomicU64,
    },
}

impl Release {
    /// Objects listed in key order (after every object released before).
    fn objects(&self, objects: Vec<(String, i64)>) {
        let (queue, inputs) = match &self.to {
            Destination::Scan { queue, inputs } => (queue, inputs),
            Destination::Measure {
                objects: count,
                bytes,
                ..
            } => {
                count.fetch_add(objects.len() as u64, Ordering::Relaxed);
                let sum: i64 = objects.iter().map(|(_, size)| (*size).max(0)).sum();
                bytes.fetch_add(sum as u64, Ordering::Relaxed);
                return;
            }
        };
        let kept = prune(&self.lister, objects, &self.window, self.lag);
        self.lister
            .stats
            .objects_selected
            .fetch_add(kept.len() as u64, Ordering::Relaxed);
        queue_objects(&self.lister.bucket, kept, queue, inputs);
    }
}

/// Day folders listed at once.
const LIST_CONCURRENCY: usize = 16;

/// The folders right below one `AWSLogs/` folder of a trail bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFolders {
    /// 12-digit account ids, sorted.
    pub accounts: Vec<String>,
    /// Organization folders (`o-…`), sorted.
    pub organizations: Vec<String>,
    /// Any other folder, sorted (not a trail's).
    pub other: Vec<String>,
}

/// Lists the folders right below `root` (`[prefix/]AWSLogs/` or `…/AWSLogs/o-…/`) of
/// `bucket` with one delimiter listing (every page): which accounts, and which organization
/// folders, deliver logs there (`trailwhy athena ddl --accounts-from-bucket`).
pub fn account_folders(ctx: &AwsContext, bucket: &str, root: &str) -> Result<AccountFolders> {
    let region = bucket_region(ctx, bucket)?;
    let lister = Lister {
        client: ctx.s3(region.as_deref()),
        bucket: bucket.to_owned(),
        stats: Arc::new(ListStats::default()),
    };
    let (prefixes, _) = ctx.block_on(lister.list(root, true))?;
    let mut out = AccountFolders::default();
    for p in prefixes {
        let name = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .trim_end_matches('/')
            .to_owned();
        if name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit()) {
            out.accounts.push(name);
        } else if name.starts_with("o-") {
            out.organizations.push(name);
        } else {
            out.other.push(name);
        }
    }
    for v in [&mut out.accounts, &mut out.organizations, &mut out.other] {
        v.sort();
        v.dedup();
    }
    Ok(out)
}

/// The bucket's region (HeadBucket's `x-amz-bucket-region`), so a bucket in another region
/// than the configured one still works.
pub(crate) fn bucket_region(ctx: &AwsContext, bucket: &str) -> Result<Option<String>> {
    let client = ctx.s3(None);
    ctx.block_on(bucket_region_of(&client, bucket))
}

/// [`bucket_region`], asked with `client` from async code.
/// Why an object a notification named could not be fetched.
#[derive(Debug)]
pub enum GetError {
    /// It is not there (deleted since, never written) or too large: retrying cannot help.
    Permanent(String),
    /// Anything else (access, network, throttling): worth another attempt.
    Failed(String),
}

/// Whole objects by bucket and key (`watch`), each bucket read in its own region.
pub struct ObjectGetter {
    base: aws_sdk_s3::Client,
    clients: tokio::sync::Mutex<BTreeMap<String, aws_sdk_s3::Client>>,
}

impl ObjectGetter {
    pub fn new(ctx: &AwsContext) -> ObjectGetter {
        ObjectGetter {
            base: ctx.s3(None),
            clients: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    async fn client(&self, bucket: &str) -> aws_sdk_s3::Client {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(bucket) {
            return c.clone();
        }
        // an unknown region (or an error) leaves the configured one: GetObject says the rest
        let client = match bucket_region_of(&self.base, bucket).await {
            Ok(Some(r)) => aws_sdk_s3::Client::from_conf(
                self.base
                    .config()
                    .to_builder()
                    .region(aws_config::Region::new(r))
                    .build(),
            ),
            _ => self.base.clone(),
        };
        clients.insert(bucket.to_owned(), client.clone());
        client
    }

    /// Writes object `key` of `bucket` to `dest`, at most `max_bytes` of it; returns its size.
    pub async fn get_to(
        &self,
        bucket: &str,
        key: &str,
        dest: &mut std::fs::File,
        max_bytes: u64,
    ) -> std::result::Result<u64, GetError> {
        use std::io::Write as _;
        let client = self.client(bucket).await;
        let out = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                let missing = e.raw_response().map(|r| r.status().as_u16()) == Some(404)
                    || e.as_service_error().is_some_and(|s| s.is_no_such_key());
                let why = describe_sdk_error(&e, "s3:GetObject");
                if missing {
                    GetError::Permanent(why)
                } else {
                    GetError::Failed(why)
                }
            })?;
        let mut body = out.body;
        let mut written = 0u64;
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| GetError::Failed(format!("the download broke off: {e}")))?
        {
            written += chunk.len() as u64;
            if written > max_bytes {
                return Err(GetError::Permanent(format!(
                    "larger than {max_bytes} bytes (--max-decompressed-size)"
                )));
            }
            dest.write_all(&chunk)
                .map_err(|e| GetError::Failed(format!("cannot write it to disk: {e}")))?;
        }
        Ok(written)
    }
}

pub(crate) async fn bucket_region_of(
    client: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<Option<String>> {
    {
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
    }
}

async fn list_keys(lister: &Arc<Lister>, prefix: &str, release: &Release) -> Result<()> {
    let (window, lag) = (&release.window, release.lag);
    // Find the AWSLogs/ root: the prefix itself, or AWSLogs/ right below it.
    let root = if prefix.ends_with("AWSLogs/") {
        Some(prefix.to_owned())
    } else {
        let candidate = format!("{prefix}AWSLogs/");
        lister.exists(&candidate).await?.then_some(candidate)
    };
    let Some(root) = root else {
        if matches!(release.to, Destination::Measure { .. }) {
            return Err(TooManyFolders.into()); // no day folders to count
        }
        // Not a trail layout: every object below the prefix (in key order, as S3 lists
        // them), pruned by file-name time only, released page by page.
        return lister
            .pages(prefix, false, |_, objects| release.objects(objects))
            .await;
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
    // Day folders inside the window, in key order: the folders are siblings, so every key
    // of one sorts before every key of the next.
    let days = days(window, lag);
    let day_prefixes: Vec<String> = if days.is_empty() {
        region_prefixes
    } else {
        region_prefixes
            .iter()
            .flat_map(|r| {
                days.iter()
                    .map(move |d| format!("{r}{}/", d.format("%Y/%m/%d")))
            })
            .collect()
    };
    if let Destination::Measure { max_folders, .. } = &release.to {
        if day_prefixes.len() > *max_folders {
            return Err(TooManyFolders.into());
        }
    }
    // Listed LIST_CONCURRENCY at a time, started in key order; each folder is released as
    // soon as every folder before it is (the rest wait in `listed`).
    let mut folders = day_prefixes.into_iter().enumerate();
    let mut running = tokio::task::JoinSet::new();
    let mut listed: BTreeMap<usize, Vec<(String, i64)>> = BTreeMap::new();
    let mut next = 0;
    loop {
        while running.len() < LIST_CONCURRENCY && !crate::interrupt::requested() {
            let Some((i, p)) = folders.next() else { break };
            let l = lister.clone();
            running.spawn(async move { Ok::<_, anyhow::Error>((i, l.list(&p, false).await?.1)) });
        }
        let Some(r) = running.join_next().await else {
            break;
        };
        let (i, mut objects) = r.map_err(|e| anyhow!("listing task failed: {e}"))??;
        objects.sort();
        listed.insert(i, objects);
        while let Some(objects) = listed.remove(&next) {
            release.objects(objects);
            next += 1;
        }
    }
    Ok(())
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
        .filter(|(k, _)| super::notify::log_key(k))
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
    async fn fetch(&self, key: &str, size: i64, tx: &mpsc::Sender<io::Result<Bytes>>) {
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

/// One S3 object as a scan input: its bytes arrive through the fetch task's channel. The
/// `oneshot::Sender` lives as long as the reader: its drop frees the fetch slot.
struct S3Object {
    name: String,
    #[expect(clippy::type_complexity, reason = "taken once, as a pair")]
    rx: std::sync::Mutex<Option<(mpsc::Receiver<io::Result<Bytes>>, oneshot::Sender<()>)>>,
}

impl Remote for S3Object {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        let (rx, reading) = self
            .rx
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .ok_or_else(|| io::Error::other("object already read"))?;
        Ok(Box::new(ChannelReader::holding(rx, reading)))
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
