//! Arbitrary bytes as one raw record, decoded the way `scan` decodes it (borrowed `Record`,
//! a lossy retry for invalid UTF-8, the `CloudTrailEvent` string of lookup-events output), then
//! classified by `Selector::select` with an open and with a filtering window. The same bytes, as
//! text, go through the string parsers that see log text: `parse_denial`,
//! `parse_web_identity_principal`, the ARN helpers and the time parsers.
//!
//! Checked: no panic anywhere; a record without escapes that `select` keeps as a web-identity
//! attempt or a failed call passes `may_match` (the byte pre-filter must not lose it); a
//! principal id built as `provider:aud:sub` gives back `aud`; a denial message built from clean
//! parts gives back those parts.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use trailwhy::event::denial::{parse_denial, PolicyLayer};
use trailwhy::event::identity::{parse_web_identity_principal, provider_issuer};
use trailwhy::event::{arn_account, assumed_role_parts, role_name_from_arn, Record};
use trailwhy::selection::time::{parse_duration, parse_event_time, parse_time_bound};
use trailwhy::select::{Selected, Selector};
use trailwhy::selection::Window;

fuzz_target!(|data: &[u8]| {
    let open = Selector::new(Window::default());
    let filtering = Selector::new(Window {
        since: Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).single(),
        until: Utc.with_ymd_and_hms(2026, 10, 2, 0, 0, 0).single(),
        accounts: vec!["111122223333".to_owned()],
        regions: vec!["us-east-1".to_owned()],
    });
    decode_record(data, &open, &filtering);

    let text = String::from_utf8_lossy(data);
    strings(&text);
});

fn decode_record(bytes: &[u8], open: &Selector, filtering: &Selector) {
    let lossy;
    let rec = match serde_json::from_slice::<Record>(bytes) {
        Ok(r) => r,
        Err(_) if std::str::from_utf8(bytes).is_err() => {
            lossy = String::from_utf8_lossy(bytes).into_owned();
            match serde_json::from_str::<Record>(&lossy) {
                Ok(r) => r,
                Err(_) => return,
            }
        }
        Err(_) => return,
    };
    let literal_miss = !open.may_match(bytes) && !bytes.contains(&b'\\');
    classify(&rec, open, filtering, literal_miss);
    if let Some(inner) = rec.cloudtrail_event.as_deref() {
        if let Ok(inner_rec) = serde_json::from_str::<Record>(inner) {
            // the wrapper's `CloudTrailEvent` key already satisfies the pre-filter
            classify(&inner_rec, open, filtering, false);
        }
    }
}

/// Selects `rec` with both selectors; `literal_miss` says the pre-filter rejected a record
/// whose bytes hold no escape, so its field names and values are written literally.
fn classify(rec: &Record<'_>, open: &Selector, filtering: &Selector, literal_miss: bool) {
    let kept = open.select(rec);
    if let Ok(selected) = &kept {
        if literal_miss {
            // Change events are recognised by name alone; the pre-filter finds them through
            // `iam.amazonaws.com` / `RepositoryPolicy`, which only the real sources carry.
            assert!(
                matches!(selected, Selected::Change(_)),
                "may_match rejected a record that select keeps: {selected:?}"
            );
        }
    }
    // A filtering window can only drop more.
    if filtering.select(rec).is_ok() {
        assert!(
            kept.is_ok(),
            "the filtering window kept what the open one dropped"
        );
    }
    if let Some(message) = rec.error_message.as_deref() {
        let _ = parse_denial(message);
    }
    if let Some(u) = rec.user_identity.as_ref() {
        let _ = parse_web_identity_principal(
            u.principal_id.as_deref(),
            u.identity_provider.as_deref(),
            u.user_name.as_deref(),
        );
    }
}

fn strings(text: &str) {
    let _ = parse_denial(text);
    let _ = arn_account(text);
    let _ = role_name_from_arn(text);
    let _ = assumed_role_parts(text);
    let _ = provider_issuer(text);
    // the whole text and each of its first lines, so short time values are tried often
    if let Some(now) = Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).single() {
        for t in std::iter::once(text).chain(text.lines().take(4)) {
            let _ = parse_event_time(t);
            let _ = parse_duration(t);
            let _ = parse_time_bound(t, now);
        }
    }

    // Up to three newline-separated fields: principal id, provider, user name.
    let mut fields = text.splitn(3, '\n');
    let (a, b, c) = (fields.next(), fields.next(), fields.next());
    for (pid, provider, user) in [(a, b, c), (a, b, None), (None, b, c), (a, None, c)] {
        let _ = parse_web_identity_principal(pid, provider, user);
    }
    if let (Some(provider), Some(aud), Some(sub)) = (a, b, c) {
        if !provider.is_empty() && !aud.is_empty() && !sub.is_empty() {
            let pid = format!("{provider}:{aud}:{sub}");
            let p = parse_web_identity_principal(Some(&pid), Some(provider), Some(sub));
            let audience = p.as_ref().and_then(|p| p.audience.as_deref());
            assert_eq!(audience, Some(aud), "audience lost from {pid:?}");
        }
    }
    denial_round_trip(text);
}

/// Builds a denial message from clean parts taken from `text` and parses it back.
fn denial_round_trip(text: &str) {
    let clean: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '*' | '-' | '_' | '\n'))
        .collect();
    let mut parts = clean.split('\n').filter(|p| !p.is_empty());
    let (Some(principal), Some(action)) = (parts.next(), parts.next()) else {
        return;
    };
    let resource = parts.next();
    let layers = [
        PolicyLayer::IdentityBased,
        PolicyLayer::ResourceBased,
        PolicyLayer::PermissionsBoundary,
        PolicyLayer::Session,
        PolicyLayer::ServiceControl,
        PolicyLayer::ResourceControl,
        PolicyLayer::VpcEndpoint,
    ];
    let layer = layers[text.len() % layers.len()];
    let on = resource
        .map(|r| format!(" on resource: {r}"))
        .unwrap_or_default();
    let explicit = text.len() % 2 == 0;
    let message = if explicit {
        format!(
            "User: {principal} is not authorized to perform: {action}{on} with an explicit deny in a {} policy",
            layer.phrase()
        )
    } else {
        format!(
            "User: {principal} is not authorized to perform: {action}{on} because no {} policy allows the {action} action",
            layer.phrase()
        )
    };
    let d = parse_denial(&message);
    assert_eq!(d.principal.as_deref(), Some(principal), "{message}");
    assert_eq!(d.action.as_deref(), Some(action), "{message}");
    assert_eq!(d.resource.as_deref(), resource, "{message}");
    assert_eq!(d.layer, Some(layer), "{message}");
}
