//! `lookup://REGION[,REGION…]`: CloudTrail's LookupEvents API, for users without access to
//! the trail bucket. Management events only, the last 90 days, 50 events a page, about two
//! requests a second per account and region.
//!
//! The time window and a lookup attribute are pushed down ([`Ask`]: for `explain`, one query
//! per event source the analysis needs, STS, ECR, IAM; for `query`, the event sources or
//! names its filters name exactly, else every management event); pages are fetched in
//! order, regions in parallel, each region held to the documented request rate. Each event's
//! `CloudTrailEvent` string is streamed as one NDJSON line to the scan.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_cloudtrail::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, Mutex};
use tokio::time::Instant;

use super::channel::ChannelInput;
use super::Input;
use crate::aws::AwsContext;

/// The event sources whose management events the analysis uses.
pub const EVENT_SOURCES: &[&str] = &[
    "sts.amazonaws.com",
    "ecr.amazonaws.com",
    "iam.amazonaws.com",
];

/// What the LookupEvents queries of each region ask for. The API takes one attribute per
/// query, so several values mean several queries (whose events never overlap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// One query per event source (`sts.amazonaws.com`, …).
    EventSources(Vec<String>),
    /// One query per event name (`AssumeRoleWithWebIdentity`, …).
    EventNames(Vec<String>),
    /// One query without an attribute: every management event of the window.
    Everything,
}

impl Ask {
    /// The sources `explain` needs.
    pub fn explain() -> Ask {
        Ask::EventSources(EVENT_SOURCES.iter().map(|s| (*s).to_owned()).collect())
    }

    /// The attribute of each query (`None`: no attribute).
    fn attributes(&self) -> Vec<Option<(LookupAttributeKey, String)>> {
        match self {
            Ask::EventSources(v) => v
                .iter()
                .map(|x| Some((LookupAttributeKey::EventSource, x.clone())))
                .collect(),
            Ask::EventNames(v) => v
                .iter()
                .map(|x| Some((LookupAttributeKey::EventName, x.clone())))
                .collect(),
            Ask::Everything => vec![None],
        }
    }
}

/// The documented LookupEvents limit: 2 requests per second per account and region.
const MIN_INTERVAL: Duration = Duration::from_millis(500);

/// Parses `lookup://us-east-1,eu-west-1` into its regions.
pub fn parse_regions(s: &str) -> Result<Vec<String>> {
    let rest = s
        .strip_prefix("lookup://")
        .ok_or_else(|| anyhow!("'{s}' is not a lookup:// source"))?;
    let regions: Vec<String> = rest
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if regions.is_empty() {
        bail!("'{s}': name at least one region, e.g. lookup://us-east-1");
    }
    for r in &regions {
        if !r
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            bail!("'{s}': '{r}' is not a region name");
        }
    }
    Ok(regions)
}

/// One input per region and query of `ask`; all inputs of a region share its rate limiter.
pub fn inputs(
    ctx: &Arc<AwsContext>,
    regions: &[String],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    ask: &Ask,
) -> Vec<Input> {
    let mut out = Vec::new();
    for region in regions {
        let mut b = aws_sdk_cloudtrail::config::Builder::from(&ctx.config);
        b = b.region(aws_config::Region::new(region.clone()));
        let client = Client::from_conf(b.build());
        let limiter = Arc::new(Mutex::new(Instant::now()));
        for attribute in ask.attributes() {
            let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
            let query = Query {
                client: client.clone(),
                region: region.clone(),
                attribute,
                since,
                until,
                limiter: limiter.clone(),
            };
            let name = query.name();
            ctx.spawn(async move { query.run(tx).await });
            out.push(Input::Remote(Arc::new(ChannelInput::new(name, rx))));
        }
    }
    out
}

struct Query {
    client: Client,
    region: String,
    attribute: Option<(LookupAttributeKey, String)>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limiter: Arc<Mutex<Instant>>,
}

impl Query {
    fn name(&self) -> String {
        match &self.attribute {
            Some((key, value)) => format!("lookup://{}?{}={value}", self.region, key.as_str()),
            None => format!("lookup://{}", self.region),
        }
    }

    /// Waits for this region's next request slot.
    async fn pace(&self) {
        let mut next = self.limiter.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = Instant::now() + MIN_INTERVAL;
    }

    async fn run(self, tx: mpsc::Sender<io::Result<Bytes>>) {
        let attr = match &self.attribute {
            None => None,
            Some((key, value)) => match LookupAttribute::builder()
                .attribute_key(key.clone())
                .attribute_value(value)
                .build()
            {
                Ok(a) => Some(a),
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
                    return;
                }
            },
        };
        let mut token: Option<String> = None;
        loop {
            self.pace().await;
            let mut req = self
                .client
                .lookup_events()
                .set_lookup_attributes(attr.clone().map(|a| vec![a]))
                .start_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(
                    self.since.timestamp(),
                ))
                .end_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(
                    self.until.timestamp(),
                ))
                .max_results(50);
            if let Some(t) = &token {
                req = req.next_token(t);
            }
            let out = match req.send().await {
                Ok(o) => o,
                Err(e) => {
                    let msg = match e.as_service_error() {
                        Some(se) => {
                            use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
                            let code = se.code().unwrap_or("error");
                            if code.contains("AccessDenied") {
                                "access denied (cloudtrail:LookupEvents is needed)".to_owned()
                            } else {
                                format!("{code}: {}", se.message().unwrap_or_default())
                            }
                        }
                        None => format!("{e}"),
                    };
                    let _ = tx.send(Err(io::Error::other(msg))).await;
                    return;
                }
            };
            let mut lines = Vec::new();
            for ev in out.events() {
                if let Some(json) = ev.cloud_trail_event() {
                    lines.extend_from_slice(json.as_bytes());
                    lines.push(b'\n');
                }
            }
            if !lines.is_empty() && tx.send(Ok(Bytes::from(lines))).await.is_err() {
                return;
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_lists() {
        assert_eq!(
            parse_regions("lookup://us-east-1,eu-west-1").unwrap(),
            ["us-east-1", "eu-west-1"]
        );
        assert!(parse_regions("lookup://").is_err());
        assert!(parse_regions("lookup://us east").is_err());
    }
}
