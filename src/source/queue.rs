//! `sqs://QUEUE` for `watch`: the queue a bucket's notifications go to, received from,
//! deleted from and kept invisible while work goes on. What a message says is
//! [`super::notify`]'s business; what an object holds, the reader's.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Result};
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use crate::aws::{describe_sdk_error, AwsContext};

/// The most messages one receive returns (SQS's limit).
pub const BATCH: i32 = 10;

/// A queue, its URL resolved and its settings read.
pub struct Queue {
    client: aws_sdk_sqs::Client,
    pub url: String,
    /// Whether the queue has a redrive policy (a dead-letter queue takes what keeps failing).
    pub redrive: Option<String>,
    /// The queue's visibility timeout in seconds.
    pub visibility_timeout: i32,
}

/// One received message.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub receipt: String,
    pub body: String,
    /// How many times it was received (1 the first time).
    pub receive_count: u32,
}

/// `sqs://NAME`, `sqs://https://…/ACCOUNT/NAME`, or a queue URL as it is.
pub fn queue_spec(arg: &str) -> Result<String> {
    let rest = arg.strip_prefix("sqs://").unwrap_or(arg);
    if rest.is_empty() {
        bail!("'{arg}': no queue named (sqs://QUEUE_NAME or sqs://QUEUE_URL)");
    }
    if rest.starts_with("https://") || rest.starts_with("http://") {
        return Ok(rest.to_owned());
    }
    if !arg.starts_with("sqs://") {
        bail!("'{arg}' is not a queue: give sqs://QUEUE_NAME or a queue URL");
    }
    let valid = rest.len() <= 80
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !valid {
        bail!("'{rest}' is not a queue name (up to 80 letters, digits, '-', '_'; '.fifo' for FIFO queues)");
    }
    Ok(rest.to_owned())
}

/// The region of an AWS queue URL (`https://sqs.REGION.amazonaws.com/…`, or the legacy
/// `https://REGION.queue.amazonaws.com/…`); `None` for another host (a local server).
pub fn region_of_url(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let region = if let Some(rest) = host.strip_prefix("sqs.") {
        rest.split('.').next()?
    } else {
        host.strip_suffix(".queue.amazonaws.com")?
    };
    let known = host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
    (known && !region.is_empty()).then(|| region.to_owned())
}

impl Queue {
    /// Resolves `spec` (a name or a URL, from [`queue_spec`]) and reads its redrive policy
    /// and visibility timeout.
    pub fn open(ctx: &AwsContext, spec: &str) -> Result<Queue> {
        // a queue URL names its region: requests go there, whatever the configured region
        let client = ctx.sqs(region_of_url(spec).as_deref());
        ctx.block_on(async {
            let url = if spec.contains("://") {
                spec.to_owned()
            } else {
                client
                    .get_queue_url()
                    .queue_name(spec)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow!(
                            "sqs://{spec}: {}",
                            describe_sdk_error(&e, "sqs:GetQueueUrl")
                        )
                    })?
                    .queue_url()
                    .ok_or_else(|| anyhow!("sqs://{spec}: GetQueueUrl returned no URL"))?
                    .to_owned()
            };
            let attrs = client
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::RedrivePolicy)
                .attribute_names(QueueAttributeName::VisibilityTimeout)
                .send()
                .await
                .map_err(|e| {
                    anyhow!(
                        "{url}: {}",
                        describe_sdk_error(&e, "sqs:GetQueueAttributes")
                    )
                })?;
            let attrs = attrs.attributes().cloned().unwrap_or_default();
            Ok(Queue {
                redrive: attrs
                    .get(&QueueAttributeName::RedrivePolicy)
                    .filter(|p| !p.is_empty())
                    .cloned(),
                visibility_timeout: attrs
                    .get(&QueueAttributeName::VisibilityTimeout)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30),
                client,
                url,
            })
        })
    }

    /// Up to [`BATCH`] messages, waiting up to `wait_seconds` (0-20) for the first.
    pub async fn receive(&self, wait_seconds: i32) -> Result<Vec<Message>> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(BATCH)
            .wait_time_seconds(wait_seconds.clamp(0, 20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(self.failed("sqs:ReceiveMessage"))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let attrs: Option<&HashMap<_, _>> = m.attributes();
                Some(Message {
                    id: m.message_id()?.to_owned(),
                    receipt: m.receipt_handle()?.to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count: attrs
                        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                })
            })
            .collect())
    }

    /// Deletes up to [`BATCH`] messages in one request; returns the error of each that was
    /// not deleted, by receipt.
    pub async fn delete_batch(&self, receipts: &[String]) -> Result<Vec<(String, String)>> {
        use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
        if receipts.is_empty() {
            return Ok(Vec::new());
        }
        let entries = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .build()
                    .map_err(|e| anyhow!("{e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(self.failed("sqs:DeleteMessage"))?;
        Ok(out
            .failed()
            .iter()
            .map(|f| {
                let i: usize = f.id().parse().unwrap_or(usize::MAX);
                (
                    receipts.get(i).cloned().unwrap_or_default(),
                    format!("{}: {}", f.code(), f.message().unwrap_or_default()),
                )
            })
            .collect())
    }

    /// Keeps up to [`BATCH`] messages invisible for `seconds` more (long work), or, with 0,
    /// makes them visible again at once (work given up: they are received again); one request
    /// (a receipt the queue no longer knows is skipped: its message was deleted or came back).
    pub async fn set_visibility(&self, receipts: &[String], seconds: i32) -> Result<()> {
        use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
        if receipts.is_empty() {
            return Ok(());
        }
        let entries = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .visibility_timeout(seconds.clamp(0, 43_200))
                    .build()
                    .map_err(|e| anyhow!("{e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        self.client
            .change_message_visibility_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(self.failed("sqs:ChangeMessageVisibility"))?;
        Ok(())
    }

    /// What a failed request of this queue says: the queue and AWS's error in words.
    fn failed<E, R>(
        &self,
        permission: &'static str,
    ) -> impl FnOnce(SdkError<E, R>) -> anyhow::Error + '_
    where
        E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        move |e| anyhow!("{}: {}", self.url, describe_sdk_error(&e, permission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_and_urls() {
        assert_eq!(
            queue_spec("sqs://trail-events").ok().as_deref(),
            Some("trail-events")
        );
        assert_eq!(
            queue_spec("sqs://https://sqs.eu-west-1.amazonaws.com/111122223333/q")
                .ok()
                .as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/111122223333/q")
        );
        assert_eq!(
            queue_spec("https://sqs.us-east-1.amazonaws.com/111122223333/q.fifo")
                .ok()
                .as_deref(),
            Some("https://sqs.us-east-1.amazonaws.com/111122223333/q.fifo")
        );
        assert_eq!(
            region_of_url("https://sqs.eu-west-1.amazonaws.com/111122223333/q").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of_url("https://ap-south-1.queue.amazonaws.com/111122223333/q").as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(region_of_url("http://127.0.0.1:5000/111122223333/q"), None);
        for bad in ["sqs://", "trail-events", "sqs://a b", "sqs://x/y"] {
            assert!(queue_spec(bad).is_err(), "{bad}");
        }
    }
}
