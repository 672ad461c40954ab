//! The messages a bucket's notifications put on a queue, for `watch`: which objects landed.
//!
//! Five shapes reach a queue: an S3 event notification (`Records[].s3`, keys
//! URL-encoded as a form: `+` is a space), the same inside an SNS envelope (`Type`
//! `Notification`, the message as a JSON string; with raw delivery the queue gets the
//! message itself), an EventBridge `Object Created` event (`detail.object.key`, not encoded),
//! CloudTrail's own SNS log-delivery notification (`s3Bucket`, `s3ObjectKey` list, not
//! encoded), and S3's `s3:TestEvent`. Anything else is an error that names what is wrong; this
//! module decides nothing about which objects are trail logs beyond [`log_key`].

use serde_json::Value;

/// An object a notification names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// Decoded: the key as S3 stores it.
    pub key: String,
    pub size: Option<u64>,
}

/// What one queue message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Objects that landed (an event that is not a creation names none).
    Objects(Vec<ObjectRef>),
    /// `s3:TestEvent`: sent once when a notification configuration is set; acknowledged.
    Test,
    /// SNS's own message to a subscribed queue (a subscription or unsubscription
    /// confirmation): names no object; what to do about it, for the operator.
    Sns(String),
}

/// The objects (or the test event) a message body names.
pub fn parse(body: &str) -> Result<Notice, String> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| format!("the message is not JSON: {e}"))?;
    parse_value(&v, 0)
}

fn parse_value(v: &Value, depth: u8) -> Result<Notice, String> {
    let Some(o) = v.as_object() else {
        return Err("the message is not a JSON object".to_owned());
    };
    // an SNS envelope (not raw delivery): the message is a JSON string inside
    if o.get("Type").and_then(Value::as_str) == Some("Notification") {
        if depth > 0 {
            return Err("an SNS envelope inside an SNS envelope".to_owned());
        }
        let inner = o
            .get("Message")
            .and_then(Value::as_str)
            .ok_or("an SNS envelope without a Message string")?;
        let inner: Value = serde_json::from_str(inner)
            .map_err(|e| format!("the SNS envelope's Message is not JSON: {e}"))?;
        return parse_value(&inner, depth + 1);
    }
    if let (0, Some(kind @ ("SubscriptionConfirmation" | "UnsubscribeConfirmation"))) =
        (depth, o.get("Type").and_then(Value::as_str))
    {
        let topic = o.get("TopicArn").and_then(Value::as_str).unwrap_or("?");
        let url = o.get("SubscribeURL").and_then(Value::as_str).unwrap_or("?");
        return Ok(Notice::Sns(format!(
            "an SNS {kind} for topic {topic}: names no object; trailwhy confirms nothing (to confirm, open {url})"
        )));
    }
    if o.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Notice::Test);
    }
    if let Some(records) = o.get("Records") {
        return s3_records(records).map(Notice::Objects);
    }
    if o.get("source").and_then(Value::as_str) == Some("aws.s3") {
        return eventbridge(o).map(Notice::Objects);
    }
    if let Some(bucket) = o.get("s3Bucket") {
        return cloudtrail_delivery(bucket, o.get("s3ObjectKey")).map(Notice::Objects);
    }
    Err("not an S3 event notification, an EventBridge S3 event, a CloudTrail delivery notification or an SNS envelope of one".to_owned())
}

/// `Records[]` of an S3 event notification: the created objects (other events name none).
fn s3_records(records: &Value) -> Result<Vec<ObjectRef>, String> {
    let list = records.as_array().ok_or("Records is not a list")?;
    let mut out = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let name = r["eventName"].as_str().unwrap_or_default();
        if r["eventSource"].as_str() != Some("aws:s3") {
            return Err(format!(
                "Records[{i}] is not an S3 event (eventSource {})",
                r["eventSource"]
            ));
        }
        if !name.starts_with("ObjectCreated:") {
            continue;
        }
        let bucket = r["s3"]["bucket"]["name"]
            .as_str()
            .ok_or_else(|| format!("Records[{i}] has no s3.bucket.name"))?;
        let raw = r["s3"]["object"]["key"]
            .as_str()
            .ok_or_else(|| format!("Records[{i}] has no s3.object.key"))?;
        out.push(ObjectRef {
            bucket: bucket.to_owned(),
            key: form_decode(raw).map_err(|e| format!("Records[{i}]'s key {raw:?}: {e}"))?,
            size: r["s3"]["object"]["size"].as_u64(),
        });
    }
    Ok(out)
}

/// An EventBridge event from S3: `Object Created` names its object (its key as stored).
fn eventbridge(o: &serde_json::Map<String, Value>) -> Result<Vec<ObjectRef>, String> {
    if o.get("detail-type").and_then(Value::as_str) != Some("Object Created") {
        return Ok(Vec::new());
    }
    let d = o
        .get("detail")
        .ok_or("an EventBridge event without detail")?;
    let bucket = d["bucket"]["name"]
        .as_str()
        .ok_or("an EventBridge event without detail.bucket.name")?;
    let key = d["object"]["key"]
        .as_str()
        .ok_or("an EventBridge event without detail.object.key")?;
    Ok(vec![ObjectRef {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: d["object"]["size"].as_u64(),
    }])
}

/// CloudTrail's log-delivery notification: `{"s3Bucket": B, "s3ObjectKey": [K, …]}`.
fn cloudtrail_delivery(bucket: &Value, keys: Option<&Value>) -> Result<Vec<ObjectRef>, String> {
    let bucket = bucket.as_str().ok_or("s3Bucket is not a string")?;
    let keys = keys
        .and_then(Value::as_array)
        .ok_or("a CloudTrail notification without an s3ObjectKey list")?;
    keys.iter()
        .map(|k| {
            let key = k.as_str().ok_or("an s3ObjectKey that is not a string")?;
            Ok(ObjectRef {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                size: None,
            })
        })
        .collect()
}

/// A key as S3 event notifications write it: URL-encoded as a form (`+` for a space).
pub fn form_decode(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| "its decoded bytes are not UTF-8".to_owned())
}

/// Why an object is not read as a trail log file (the rules of `s3://`), or `None`.
pub fn not_a_log(key: &str) -> Option<&'static str> {
    if key.ends_with('/') {
        Some("a folder marker")
    } else if key.contains("/CloudTrail-Digest/") {
        Some("a digest file")
    } else if key.contains("/CloudTrail-Insight/") {
        Some("an Insights file")
    } else if key.ends_with("ConfigWritabilityCheckFile") {
        Some("CloudTrail's write check")
    } else {
        None
    }
}

/// Whether `key` is read as a trail log file ([`not_a_log`]).
pub fn log_key(key: &str) -> bool {
    not_a_log(key).is_none()
}

#[cfg(test)]
mod tests;
