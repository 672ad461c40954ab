//! `watch --print-setup --bucket B --queue Q`: what to apply so that the bucket notifies the
//! queue and the watcher may read both, as one JSON document (`jq .queue_policy` picks a part).

use anyhow::{anyhow, bail, Result};
use serde_json::json;

use super::Exit;
use crate::cli::WatchArgs;
use trailwhy::event::partition_of;
use trailwhy::source::queue::{queue_spec, region_of_url};

pub fn print(args: &WatchArgs) -> Result<Exit> {
    let bucket = args
        .bucket
        .as_deref()
        .ok_or_else(|| anyhow!("--print-setup needs --bucket BUCKET (the trail's bucket)"))?;
    let queue = super::queue_arg(args)
        .map_err(|_| anyhow!("--print-setup needs --queue QUEUE (a name or a queue URL)"))?;
    let q = QueueArn::of(&queue_spec(&queue)?, args)?;
    let prefix = args
        .prefix
        .as_deref()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .map_or_else(|| "AWSLogs/".to_owned(), |p| format!("{p}/AWSLogs/"));
    let queue_arn = q.arn();
    let doc = json!({
        "bucket_notification_configuration": {
            "QueueConfigurations": [{
                "Id": "trailwhy-watch",
                "QueueArn": queue_arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [
                    {"Name": "prefix", "Value": prefix},
                    {"Name": "suffix", "Value": ".json.gz"}
                ]}}
            }]
        },
        "queue_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "BucketNotifiesQueue",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": format!("arn:{}:s3:::{bucket}", q.partition)},
                    "StringEquals": {"aws:SourceAccount": q.account}
                }
            }]
        },
        "watcher_policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadTheQueue",
                    "Effect": "Allow",
                    "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                    "Resource": queue_arn
                },
                {
                    "Sid": "ReadTheTrailObjects",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": format!("arn:{}:s3:::{bucket}/{prefix}*", q.partition)
                },
                {
                    "Sid": "FindTheBucketRegion",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": format!("arn:{}:s3:::{bucket}", q.partition)
                }
            ]
        },
        "commands": [
            format!("aws sqs set-queue-attributes --queue-url {} --attributes file://queue-attributes.json   # {{\"Policy\": <queue_policy as a JSON string>}}", q.url()),
            format!("aws s3api put-bucket-notification-configuration --bucket {bucket} --notification-configuration file://notification.json   # bucket_notification_configuration; it replaces the bucket's existing configuration: merge by hand if it has one"),
        ],
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(Exit::Ok)
}

struct QueueArn {
    partition: &'static str,
    region: String,
    account: String,
    name: String,
}

impl QueueArn {
    /// From a queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`), or a name with
    /// `--account` and one `--region`.
    fn of(spec: &str, args: &WatchArgs) -> Result<QueueArn> {
        if let Some(rest) = spec
            .strip_prefix("https://")
            .or_else(|| spec.strip_prefix("http://"))
        {
            let mut parts = rest.split('/').skip(1);
            let (Some(account), Some(name)) = (parts.next(), parts.next()) else {
                bail!(
                    "'{spec}' is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"
                );
            };
            let region = region_of_url(spec)
                .ok_or_else(|| anyhow!("'{spec}': no region in the queue URL's host"))?;
            return Ok(QueueArn {
                partition: partition_of(&region),
                region,
                account: account.to_owned(),
                name: name.to_owned(),
            });
        }
        let [account] = args.account.as_slice() else {
            bail!("--print-setup with a queue name needs --account ACCOUNT_ID (or give the queue URL)");
        };
        let region = match args.region.as_slice() {
            [r] => r.clone(),
            _ => std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .map_err(|_| anyhow!("--print-setup with a queue name needs one --region (or give the queue URL)"))?,
        };
        Ok(QueueArn {
            partition: partition_of(&region),
            region,
            account: account.clone(),
            name: spec.to_owned(),
        })
    }

    fn arn(&self) -> String {
        format!(
            "arn:{}:sqs:{}:{}:{}",
            self.partition, self.region, self.account, self.name
        )
    }

    fn url(&self) -> String {
        let domain = if self.partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!(
            "https://sqs.{}.{domain}/{}/{}",
            self.region, self.account, self.name
        )
    }
}
