use super::*;
use proptest::prelude::*;
use serde_json::json;

const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T1005Z_abc.json.gz";

fn obj(bucket: &str, key: &str, size: Option<u64>) -> ObjectRef {
    ObjectRef {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size,
    }
}

/// An S3 event notification as S3 sends it (the documented event message structure).
fn s3_event(name: &str, raw_key: &str) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-10-01T10:05:31.123Z", "eventName": name,
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.9"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "trailwhy",
               "bucket": {"name": "trail-bucket", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::trail-bucket"},
               "object": {"key": raw_key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5"}}
    }]})
}

fn sns(message: &Value) -> Value {
    json!({
        "Type": "Notification", "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:trail-topic", "Subject": "Amazon S3 Notification",
        "Message": message.to_string(), "Timestamp": "2026-10-01T10:05:32.000Z",
        "SignatureVersion": "1", "Signature": "EXAMPLE", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    })
}

fn parsed(v: &Value) -> Result<Notice, String> {
    parse(&v.to_string())
}

#[test]
fn every_envelope_names_the_same_object() {
    let direct = s3_event("ObjectCreated:Put", KEY);
    let want = Ok(Notice::Objects(vec![obj("trail-bucket", KEY, Some(1024))]));
    assert_eq!(parsed(&direct), want);
    // in an SNS envelope, and with raw message delivery (the message itself)
    assert_eq!(parsed(&sns(&direct)), want);
    let eventbridge = json!({
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
        "source": "aws.s3", "account": "111122223333", "time": "2026-10-01T10:05:31Z", "region": "us-east-1",
        "resources": ["arn:aws:s3:::trail-bucket"],
        "detail": {"version": "0", "bucket": {"name": "trail-bucket"},
                   "object": {"key": KEY, "size": 1024, "etag": "b1946ac92492d2347c6235b4d2611184", "sequencer": "00617F08299329D189"},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "111122223333", "reason": "PutObject"}
    });
    assert_eq!(parsed(&eventbridge), want);
    let cloudtrail =
        json!({"s3Bucket": "trail-bucket", "s3ObjectKey": [KEY, KEY.replace("abc", "def")]});
    let both = Ok(Notice::Objects(vec![
        obj("trail-bucket", KEY, None),
        obj("trail-bucket", &KEY.replace("abc", "def"), None),
    ]));
    assert_eq!(parsed(&cloudtrail), both);
    assert_eq!(parsed(&sns(&cloudtrail)), both);
}

#[test]
fn the_test_event_and_other_events_name_no_object() {
    let test = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-10-01T10:00:00.000Z",
                      "Bucket": "trail-bucket", "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"});
    assert_eq!(parsed(&test), Ok(Notice::Test));
    assert_eq!(parsed(&sns(&test)), Ok(Notice::Test));
    // SNS's confirmation of a queue's subscription names no object; it is said, not followed
    let confirm = json!({"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37", "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "Message": "You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.",
        "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37",
        "Timestamp": "2012-04-26T20:45:04.751Z", "SignatureVersion": "1", "Signature": "EXAMPLE"});
    match parsed(&confirm) {
        Ok(Notice::Sns(text)) => {
            assert!(
                text.contains(
                    "SubscriptionConfirmation for topic arn:aws:sns:us-west-2:123456789012:MyTopic"
                ),
                "{text}"
            );
            assert!(text.contains("Action=ConfirmSubscription"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parsed(&s3_event("ObjectRemoved:Delete", KEY)),
        Ok(Notice::Objects(Vec::new()))
    );
    let deleted = json!({"version": "0", "detail-type": "Object Deleted", "source": "aws.s3",
                         "detail": {"bucket": {"name": "b"}, "object": {"key": "k"}}});
    assert_eq!(parsed(&deleted), Ok(Notice::Objects(Vec::new())));
}

#[test]
fn s3_notification_keys_are_form_decoded() {
    for (raw, key) in [
        ("AWSLogs/a+b/c%3Ad.json.gz", "AWSLogs/a b/c:d.json.gz"),
        ("plus%2Bsign", "plus+sign"),
        ("caf%C3%A9", "café"),
        ("100%25", "100%"),
        // a stray percent is kept as it is
        ("odd%zz", "odd%zz"),
    ] {
        assert_eq!(
            parsed(&s3_event("ObjectCreated:CompleteMultipartUpload", raw)),
            Ok(Notice::Objects(vec![obj("trail-bucket", key, Some(1024))])),
            "{raw}"
        );
    }
    let bad = parsed(&s3_event("ObjectCreated:Put", "bad%FF")).unwrap_err();
    assert!(
        bad.contains("\"bad%FF\"") && bad.contains("not UTF-8"),
        "{bad}"
    );
}

#[test]
fn hostile_messages_are_errors_that_say_what_is_wrong() {
    let cases: Vec<(String, &str)> = vec![
        ("not json".to_owned(), "not JSON"),
        ("[1,2]".to_owned(), "not a JSON object"),
        ("{}".to_owned(), "not an S3 event notification"),
        (json!({"Records": "x"}).to_string(), "Records is not a list"),
        (json!({"Records": [{"eventSource": "aws:sqs"}]}).to_string(), "Records[0] is not an S3 event"),
        (json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]}).to_string(), "Records[0] has no s3.bucket.name"),
        (json!({"Type": "Notification"}).to_string(), "without a Message string"),
        (json!({"Type": "Notification", "Message": "{"}).to_string(), "Message is not JSON"),
        (sns(&sns(&s3_event("ObjectCreated:Put", KEY))).to_string(), "inside an SNS envelope"),
        (json!({"s3Bucket": "b", "s3ObjectKey": "k"}).to_string(), "without an s3ObjectKey list"),
        (json!({"s3Bucket": "b", "s3ObjectKey": [1]}).to_string(), "not a string"),
        (json!({"source": "aws.s3", "detail-type": "Object Created"}).to_string(), "without detail"),
    ];
    for (body, want) in cases {
        let e = parse(&body).unwrap_err();
        assert!(e.contains(want), "{body}: {e}");
    }
}

#[test]
fn objects_that_are_not_trail_logs_are_named_as_s3_names_them() {
    assert!(log_key(KEY));
    for (key, why) in [
        (
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/10/01/x.json.gz",
            "a digest file",
        ),
        (
            "AWSLogs/1/CloudTrail-Insight/us-east-1/2026/10/01/x.json.gz",
            "an Insights file",
        ),
        ("AWSLogs/1/CloudTrail/", "a folder marker"),
        (
            "AWSLogs/1/CloudTrail/ConfigWritabilityCheckFile",
            "CloudTrail's write check",
        ),
    ] {
        assert_eq!(not_a_log(key), Some(why), "{key}");
    }
}

/// How S3 writes a key in a notification: a form encoding (space as `+`).
fn form_encode(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

proptest! {
    #[test]
    fn any_key_survives_the_notification_encoding(key in "\\PC{0,40}") {
        let v = s3_event("ObjectCreated:Put", &form_encode(&key));
        prop_assert_eq!(parsed(&v), Ok(Notice::Objects(vec![obj("trail-bucket", &key, Some(1024))])));
    }

    #[test]
    fn no_message_makes_the_parser_panic(body in "\\PC{0,200}") {
        let _ = parse(&body);
    }
}
