//! The JSON forms of a build: `aws codebuild batch-get-builds` output (and a single build
//! object from it), the BatchGetBuilds response body, and EventBridge "CodeBuild Build State
//! Change" / "CodeBuild Build Phase Change" events. Timestamps come as epoch seconds (the
//! API), RFC 3339 with or without an offset (the CLI, local servers), or EventBridge's
//! `Sep 1, 2017 4:12:29 PM` (UTC); all are accepted.
//!
//! This is not the log-text reader (`log`), and it decides nothing about causes.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use super::{Build, Phase, PhaseContext, SourceAuth};

const BUILD_STATE_CHANGE: &str = "CodeBuild Build State Change";
const BUILD_PHASE_CHANGE: &str = "CodeBuild Build Phase Change";

/// Whether a JSON value is a build document: batch-get-builds output, one build from it, or
/// an EventBridge event from `aws.codebuild`.
pub fn is_build_document(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    o.get("builds").is_some_and(Value::is_array)
        || (o.get("source").and_then(Value::as_str) == Some("aws.codebuild")
            && o.contains_key("detail"))
        || is_build_object(o)
}

fn is_build_object(o: &Map<String, Value>) -> bool {
    o.contains_key("buildStatus")
        && o.get("arn")
            .and_then(Value::as_str)
            .is_some_and(|a| a.contains(":codebuild:") && a.contains(":build/"))
}

/// The builds in a build document. EventBridge events of other CodeBuild detail types carry
/// no build and give none; a malformed build is an error naming it.
pub fn builds_from_value(v: &Value) -> Result<Vec<Build>, String> {
    let Some(o) = v.as_object() else {
        return Err("not a JSON object".to_owned());
    };
    if let Some(list) = o.get("builds") {
        let list = list.as_array().ok_or("`builds` is not a list")?;
        return list
            .iter()
            .enumerate()
            .map(|(i, b)| {
                b.as_object()
                    .and_then(build_from_api)
                    .ok_or_else(|| format!("build {i} has neither an id nor an arn"))
            })
            .collect();
    }
    if o.get("source").and_then(Value::as_str) == Some("aws.codebuild") {
        return build_from_event(o).map(|b| b.into_iter().collect());
    }
    build_from_api(o)
        .map(|b| vec![b])
        .ok_or_else(|| "a build with neither an id nor an arn".to_owned())
}

/// One element of BatchGetBuilds' `builds`.
fn build_from_api(o: &Map<String, Value>) -> Option<Build> {
    let mut b = str_of(o, "arn")
        .or_else(|| str_of(o, "id"))
        .map(Build::named)?;
    if b.id.is_none() {
        b.id = str_of(o, "id").map(str::to_owned);
    }
    if let Some(p) = str_of(o, "projectName") {
        b.project = Some(p.to_owned());
    }
    b.start = o.get("startTime").and_then(parse_time);
    b.status = str_of(o, "buildStatus").map(str::to_owned);
    for p in o
        .get("phases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(p) = p.as_object() else { continue };
        let Some(kind) = str_of(p, "phaseType") else {
            continue;
        };
        let contexts = p.get("contexts").map(parse_contexts).unwrap_or_default();
        b.add_phase(Phase {
            kind: kind.to_owned(),
            status: str_of(p, "phaseStatus").map(str::to_owned),
            start: p.get("startTime").and_then(parse_time),
            contexts,
        });
    }
    if let Some(src) = o.get("source").and_then(Value::as_object) {
        b.source_type = str_of(src, "type").map(str::to_owned);
        b.source_location = str_of(src, "location").map(str::to_owned);
        if let Some(auth) = src.get("auth").and_then(Value::as_object) {
            if let Some(kind) = str_of(auth, "type") {
                b.source_auth = Some(SourceAuth {
                    kind: kind.to_owned(),
                    resource: str_of(auth, "resource").map(str::to_owned),
                });
            }
        }
    }
    Some(b)
}

/// An EventBridge event from `aws.codebuild`; `None` for detail types that are not about a
/// build's state or phases.
fn build_from_event(o: &Map<String, Value>) -> Result<Option<Build>, String> {
    let kind = str_of(o, "detail-type").unwrap_or_default();
    if kind != BUILD_STATE_CHANGE && kind != BUILD_PHASE_CHANGE {
        return Ok(None);
    }
    let d = o
        .get("detail")
        .and_then(Value::as_object)
        .ok_or("the event has no detail object")?;
    let mut b = str_of(d, "build-id")
        .map(Build::named)
        .ok_or("the event's detail has no build-id")?;
    if let Some(p) = str_of(d, "project-name") {
        b.project = Some(p.to_owned());
    }
    if b.account.is_none() {
        b.account = str_of(o, "account").map(str::to_owned);
    }
    if b.region.is_none() {
        b.region = str_of(o, "region").map(str::to_owned);
    }
    if kind == BUILD_STATE_CHANGE {
        b.status = str_of(d, "build-status").map(str::to_owned);
    }
    let info = d.get("additional-information").and_then(Value::as_object);
    if let Some(info) = info {
        b.start = info.get("build-start-time").and_then(parse_time);
        for p in info
            .get("phases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(p) = p.as_object() else { continue };
            let Some(kind) = str_of(p, "phase-type") else {
                continue;
            };
            b.add_phase(Phase {
                kind: kind.to_owned(),
                status: str_of(p, "phase-status").map(str::to_owned),
                start: p.get("start-time").and_then(parse_time),
                contexts: p
                    .get("phase-context")
                    .map(parse_contexts)
                    .unwrap_or_default(),
            });
        }
        if let Some(src) = info.get("source").and_then(Value::as_object) {
            b.source_type = str_of(src, "type").map(str::to_owned);
            b.source_location = str_of(src, "location").map(str::to_owned);
        }
    }
    if kind == BUILD_PHASE_CHANGE {
        if let Some(phase) = str_of(d, "completed-phase") {
            b.add_phase(Phase {
                kind: phase.to_owned(),
                status: str_of(d, "completed-phase-status").map(str::to_owned),
                start: d.get("completed-phase-start").and_then(parse_time),
                contexts: d
                    .get("completed-phase-context")
                    .map(parse_contexts)
                    .unwrap_or_default(),
            });
        }
    }
    if b.start.is_none() {
        // the event's own time, when the event does not say when the build started
        b.start = o.get("time").and_then(parse_time);
    }
    Ok(Some(b))
}

/// Phase contexts in every form seen: `[{statusCode, message}]` (the API), `["CODE: message"]`
/// and `"[CODE: message]"` (EventBridge). Empty contexts (`": "`) are dropped.
pub fn parse_contexts(v: &Value) -> Vec<PhaseContext> {
    match v {
        Value::Array(items) => items.iter().flat_map(parse_contexts).collect(),
        Value::Object(o) => {
            let code = str_of(o, "statusCode")
                .or_else(|| str_of(o, "status-code"))
                .filter(|s| !s.trim().is_empty());
            let message = str_of(o, "message").filter(|s| !s.trim().is_empty());
            if code.is_none() && message.is_none() {
                return Vec::new();
            }
            vec![PhaseContext {
                status_code: code.map(str::to_owned),
                message: message.map(str::to_owned),
            }]
        }
        Value::String(s) => {
            let s = s.trim();
            let s = s
                .strip_prefix('[')
                .and_then(|x| x.strip_suffix(']'))
                .unwrap_or(s)
                .trim();
            let (code, message) = match s.split_once(':') {
                Some((c, m))
                    if c.chars()
                        .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_') =>
                {
                    (c.trim(), m.trim())
                }
                _ => ("", s),
            };
            if code.is_empty() && message.is_empty() {
                return Vec::new();
            }
            vec![PhaseContext {
                status_code: Some(code.to_owned()).filter(|c| !c.is_empty()),
                message: Some(message.to_owned()).filter(|m| !m.is_empty()),
            }]
        }
        _ => Vec::new(),
    }
}

/// A timestamp in any of the forms builds carry.
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => from_epoch(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            if let Ok(secs) = s.parse::<f64>() {
                return from_epoch(secs);
            }
            for f in [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%b %d, %Y %I:%M:%S %p",
            ] {
                if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                    return Some(Utc.from_utc_datetime(&t));
                }
            }
            None
        }
        _ => None,
    }
}

fn from_epoch(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() {
        return None;
    }
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round() as u32;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "out-of-range epochs are rejected by chrono"
    )]
    DateTime::from_timestamp(whole as i64, nanos.min(999_999_999))
}

fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_timestamp_form() {
        assert_eq!(
            parse_time(&json!(1_790_812_800.25)),
            Some(t("2026-10-01T00:00:00.25Z"))
        );
        assert_eq!(
            parse_time(&json!("2026-10-01T09:00:00.000+09:00")),
            Some(t("2026-10-01T00:00:00Z"))
        );
        assert_eq!(
            parse_time(&json!("Sep 1, 2017 4:12:29 PM")),
            Some(t("2017-09-01T16:12:29Z"))
        );
        assert_eq!(
            parse_time(&json!("2026-11-23T10:45:40.123")),
            Some(t("2026-11-23T10:45:40.123Z"))
        );
        assert_eq!(parse_time(&json!("yesterday")), None);
    }

    #[test]
    fn contexts_in_every_form() {
        let api = parse_contexts(&json!([{"statusCode": "CLIENT_ERROR", "message": "a: b"}]));
        let eb = parse_contexts(&json!(["CLIENT_ERROR: a: b"]));
        let current = parse_contexts(&json!("[CLIENT_ERROR: a: b]"));
        assert_eq!(api, eb);
        assert_eq!(api, current);
        assert_eq!(api[0].message.as_deref(), Some("a: b"));
        assert!(parse_contexts(&json!("[: ]")).is_empty());
        assert!(parse_contexts(&json!([{"statusCode": "", "message": ""}])).is_empty());
    }

    #[test]
    fn the_awslabs_eventbridge_fixture_reads_as_a_succeeded_build() {
        let v = json!({
            "version": "0", "detail-type": "CodeBuild Build State Change", "source": "aws.codebuild",
            "account": "123456789012", "time": "2017-09-01T16:14:28Z", "region": "us-west-2",
            "detail": {"build-status": "SUCCEEDED", "project-name": "my-sample-project",
                "build-id": "arn:aws:codebuild:us-west-2:123456789012:build/my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX",
                "additional-information": {"build-start-time": "Sep 1, 2017 4:12:29 PM",
                    "source": {"location": "codebuild-123456789012-input-bucket/my-input-artifact.zip", "type": "S3"},
                    "phases": [{"phase-context": [], "start-time": "Sep 1, 2017 4:13:05 PM", "phase-type": "DOWNLOAD_SOURCE", "phase-status": "SUCCEEDED"},
                               {"start-time": "Sep 1, 2017 4:14:26 PM", "phase-type": "COMPLETED"}]},
                "current-phase": "COMPLETED", "current-phase-context": "[]", "version": "1"}});
        assert!(is_build_document(&v));
        let b = builds_from_value(&v).unwrap().remove(0);
        assert_eq!(
            b.id.as_deref(),
            Some("my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX")
        );
        assert_eq!(b.region.as_deref(), Some("us-west-2"));
        assert_eq!(b.start, Some(t("2017-09-01T16:12:29Z")));
        assert!(!b.is_failure());
        assert_eq!(b.phases.len(), 2);
    }

    #[test]
    fn other_codebuild_events_carry_no_build() {
        let v = json!({"source": "aws.codebuild", "detail-type": "CodeBuild Report State Change", "detail": {}});
        assert!(is_build_document(&v));
        assert!(builds_from_value(&v).unwrap().is_empty());
        assert!(!is_build_document(&json!({"eventName": "CreateProject"})));
    }
}
