//! `--webhook URL`: the outbox's deliveries POSTed, one at a time, oldest first.
//!
//! A delivery is accepted by a 2xx answer. Anything else — a refused connection, a timeout,
//! a 5xx, a 429 — leaves it in the outbox to be retried with exponential backoff (1 s
//! doubling to 5 min), across restarts; a 4xx other than 408 and 429 is retried too, but
//! named on stderr each time, since it may not mend itself. Each body carries the delivery's
//! ID (`delivery_id`, and the `Idempotency-Key` header): the one thing that makes a retry
//! after a crash between the receiver's 2xx and our state write harmless to a receiver that
//! honours it.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use super::state::Delivery;
use crate::cli::WebhookFormat;

pub struct Webhook {
    url: hyper::Uri,
    format: WebhookFormat,
    /// How long one POST may take, connection included.
    timeout: Duration,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Webhook {
    pub fn new(url: &str, format: WebhookFormat, timeout: Duration) -> Result<Webhook> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| anyhow!("--webhook: '{url}' is not a URL: {e}"))?;
        match uri.scheme_str() {
            Some("http" | "https") if uri.host().is_some() => {}
            _ => bail!("--webhook: '{url}' is not an http:// or https:// URL"),
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| anyhow!("--webhook: cannot load the system's root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Webhook {
            url: uri,
            format,
            timeout,
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// The body of a delivery in the chosen format.
    pub fn body(&self, d: &Delivery) -> serde_json::Value {
        match self.format {
            WebhookFormat::Json => json!({
                "delivery_id": d.id,
                "created": d.created,
                "findings": d.findings,
            }),
            WebhookFormat::Slack => json!({ "text": d.markdown }),
        }
    }

    /// POSTs one delivery; `Ok` only on a 2xx answer.
    pub async fn post(&self, d: &Delivery) -> Result<()> {
        let body = serde_json::to_vec(&self.body(d))?;
        let req = hyper::Request::post(self.url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("trailwhy/", env!("CARGO_PKG_VERSION")),
            )
            .header("Idempotency-Key", d.id.as_str())
            .body(Full::new(Bytes::from(body)))?;
        let answer = tokio::time::timeout(self.timeout, async {
            let resp = self.client.request(req).await?;
            let status = resp.status();
            // read (a little of) the answer: the connection is reused and the error says more
            let text = resp.into_body().collect().await.map(|b| b.to_bytes());
            Ok::<_, anyhow::Error>((status, text.unwrap_or_default()))
        })
        .await;
        let (status, text) = match answer {
            Err(_) => bail!("no answer within {:?}", self.timeout),
            Ok(Err(e)) => bail!("{}", error_chain(e.as_ref())),
            Ok(Ok(a)) => a,
        };
        if status.is_success() {
            return Ok(());
        }
        let said = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
        bail!(
            "answered {status}{}",
            if said.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", said.trim())
            }
        )
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// When a delivery that failed `attempts` times is tried again: 1 s doubling, at most 5 min.
pub fn next_attempt(now: DateTime<Utc>, attempts: u32) -> DateTime<Utc> {
    let secs = 1i64 << attempts.saturating_sub(1).min(9);
    now + chrono::Duration::seconds(secs.min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let t = Utc::now();
        let waits: Vec<i64> = (1..=12)
            .map(|n| (next_attempt(t, n) - t).num_seconds())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    }

    #[test]
    fn only_http_urls() {
        for bad in ["ftp://x/y", "hooks.slack.com/x", "http://"] {
            assert!(
                Webhook::new(bad, WebhookFormat::Json, Duration::from_secs(1)).is_err(),
                "{bad}"
            );
        }
    }
}
