//! CloudTrail digest files: the name, the JSON body and the data-signing string.
//!
//! A digest is `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/
//! ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ[_backfill].json.gz`
//! (REGION the region whose logs it lists, HOMEREGION the trail's: they differ for a
//! multi-region or organization trail in every region but its home one), written
//! hourly per region, listing each log file delivered in the hour with the SHA-256 of its
//! uncompressed content, and chained to the previous digest (its S3 path, the SHA-256 of
//! its uncompressed content, its signature). The signature itself is not in the file: it is
//! the object's S3 user metadata `x-amz-meta-signature` (hex), over the data-signing string
//! built by [`signing_string`]. This module parses; it performs no IO and decides nothing.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

/// What a digest's file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestName {
    pub account: String,
    /// The region whose log files the digest lists (and whose key signs it).
    pub region: String,
    pub trail: String,
    /// The trail's home region: the same as `region` for a single-region trail and in a
    /// multi-region or organization trail's home region, another one everywhere else.
    pub home_region: String,
    pub end: DateTime<Utc>,
    pub backfill: bool,
}

/// Parses `ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ[_backfill].json.gz`
/// (the last path segment of `path`). Region names hold no underscore but trail names may,
/// so the regions are taken from both ends and the trail is what lies between them.
pub fn parse_name(path: &str) -> Option<DigestName> {
    let name = path.rsplit(['/', '\\']).next()?;
    let stem = name
        .strip_suffix(".json.gz")
        .or_else(|| name.strip_suffix(".json"))?;
    let (stem, backfill) = match stem.strip_suffix("_backfill") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    let (account, rest) = stem.split_once("_CloudTrail-Digest_")?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (rest, stamp) = rest.rsplit_once('_')?;
    let end = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc();
    let (region, rest) = rest.split_once('_')?;
    let (trail, home_region) = rest.rsplit_once('_')?;
    if !is_region(region) || !is_region(home_region) || !is_trail_name(trail) {
        return None;
    }
    Some(DigestName {
        account: account.to_owned(),
        region: region.to_owned(),
        trail: trail.to_owned(),
        home_region: home_region.to_owned(),
        end,
        backfill,
    })
}

/// An AWS region name as it appears in paths: `us-east-1`, `ap-southeast-5`, `us-gov-west-1`,
/// `cn-north-1` (lowercase letters, digits and dashes, a digit last).
pub fn is_region(s: &str) -> bool {
    (4..=32).contains(&s.len())
        && s.contains('-')
        && s.bytes().last().is_some_and(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// CloudTrail's rule for trail names, loosely: up to 128 letters, digits, periods,
/// underscores and dashes, starting and ending with a letter or digit (AWS also asks for 3
/// or more; shorter names are accepted here).
fn is_trail_name(s: &str) -> bool {
    let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    (1..=128).contains(&s.len())
        && alnum(s.bytes().next())
        && alnum(s.bytes().last())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// One log file a digest lists.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub s3_bucket: String,
    pub s3_object: String,
    pub hash_value: String,
    #[serde(default)]
    pub hash_algorithm: Option<String>,
}

/// The JSON body of a digest file (the fields verification uses).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestBody {
    pub aws_account_id: String,
    pub digest_start_time: String,
    pub digest_end_time: String,
    #[serde(rename = "digestS3Bucket")]
    pub digest_s3_bucket: String,
    #[serde(rename = "digestS3Object")]
    pub digest_s3_object: String,
    #[serde(default)]
    pub digest_public_key_fingerprint: Option<String>,
    #[serde(default)]
    pub digest_signature_algorithm: Option<String>,
    #[serde(default, rename = "previousDigestS3Bucket")]
    pub previous_digest_s3_bucket: Option<String>,
    #[serde(default, rename = "previousDigestS3Object")]
    pub previous_digest_s3_object: Option<String>,
    #[serde(default)]
    pub previous_digest_hash_value: Option<String>,
    #[serde(default)]
    pub previous_digest_hash_algorithm: Option<String>,
    #[serde(default)]
    pub previous_digest_signature: Option<String>,
    #[serde(default)]
    pub log_files: Vec<LogEntry>,
}

impl DigestBody {
    /// Parses the uncompressed bytes of a digest file.
    pub fn parse(bytes: &[u8]) -> Result<DigestBody, String> {
        let body: DigestBody = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                format!("malformed JSON: {e}")
            } else {
                format!("not a CloudTrail digest: {e}")
            }
        })?;
        body.start()
            .ok_or("digestStartTime is not an RFC 3339 time")?;
        body.end().ok_or("digestEndTime is not an RFC 3339 time")?;
        Ok(body)
    }

    pub fn start(&self) -> Option<DateTime<Utc>> {
        rfc3339(&self.digest_start_time)
    }

    pub fn end(&self) -> Option<DateTime<Utc>> {
        rfc3339(&self.digest_end_time)
    }
}

/// A time in a digest's S3 metadata: RFC 3339, or CloudTrail's `YYYYMMDDTHHMMSSZ`.
pub fn metadata_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    rfc3339(s).or_else(|| {
        NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
            .ok()
            .map(|t| t.and_utc())
    })
}

fn rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The data-signing string CloudTrail signs (SHA256withRSA) for a digest, as AWS documents
/// it: the end time (as written in the file), the digest's `bucket/key`, the hex SHA-256 of
/// the uncompressed digest, and the previous digest's hex signature — `null` for the first
/// digest of a chain — joined by newlines.
pub fn signing_string(body: &DigestBody, digest_sha256_hex: &str) -> String {
    format!(
        "{}\n{}/{}\n{}\n{}",
        body.digest_end_time,
        body.digest_s3_bucket,
        body.digest_s3_object,
        digest_sha256_hex,
        body.previous_digest_signature.as_deref().unwrap_or("null")
    )
}

/// Where a trail path's account-relative part starts: the byte offset of the
/// `ACCOUNT/CloudTrail/` or `ACCOUNT/CloudTrail-Digest/` segment. A local copy keeps this
/// part of the S3 key whatever folder it was synced into.
pub fn trail_relative(path: &str) -> Option<usize> {
    let mut offset = 0;
    let segments: Vec<&str> = path.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let is_account = seg.len() == 12 && seg.bytes().all(|b| b.is_ascii_digit());
        if is_account
            && matches!(
                segments.get(i + 1),
                Some(&"CloudTrail") | Some(&"CloudTrail-Digest")
            )
        {
            return Some(offset);
        }
        offset += seg.len() + 1;
    }
    None
}

/// What a trail log file's name says: account, region and delivery time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogName {
    pub account: String,
    pub region: String,
    pub delivered: DateTime<Utc>,
}

/// Parses `…/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_x.json.gz`.
pub fn parse_log_name(path: &str) -> Option<LogName> {
    let rel = &path[trail_relative(path)?..];
    let mut parts = rel.split('/');
    let account = parts.next()?;
    if parts.next()? != "CloudTrail" {
        return None;
    }
    let region = parts.next()?;
    let name = rel.rsplit('/').next()?;
    let delivered = crate::source::s3::delivery_time(name)?;
    Some(LogName {
        account: account.to_owned(),
        region: region.to_owned(),
        delivered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = parse_name("AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_my_trail_us-east-2_20150817T150131Z.json.gz").unwrap();
        assert_eq!(n.account, "111122223333");
        assert_eq!(n.region, "us-east-2");
        assert_eq!(n.trail, "my_trail");
        assert!(!n.backfill);
        assert_eq!(n.end.to_rfc3339(), "2015-08-17T15:01:31+00:00");
        let b = parse_name("111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20150817T150131Z_backfill.json.gz").unwrap();
        assert!(b.backfill);
        assert_eq!(b.trail, "t");
        assert!(parse_name("111122223333_CloudTrail_us-east-1_20150817T1501Z_x.json.gz").is_none());
    }

    #[test]
    fn multi_region_and_organization_names() {
        // a multi-region trail's digest outside its home region (public data)
        let n = parse_name("AWSLogs/123456789012/CloudTrail-Digest/ap-northeast-1/2024/05/01/123456789012_CloudTrail-Digest_ap-northeast-1_llm-guard-trail_us-west-2_20240501T000000Z.json.gz").unwrap();
        assert_eq!(
            (n.region.as_str(), n.trail.as_str(), n.home_region.as_str()),
            ("ap-northeast-1", "llm-guard-trail", "us-west-2")
        );
        // AWS's organization example
        let n = parse_name("AWSLogs/o-exampleorgid/111111111111/CloudTrail-Digest/ca-central-1/2019/11/20/111111111111_CloudTrail-Digest_ca-central-1_POrgTrail_us-east-1_20191120T173047Z.json.gz").unwrap();
        assert_eq!(
            (n.region.as_str(), n.trail.as_str(), n.home_region.as_str()),
            ("ca-central-1", "POrgTrail", "us-east-1")
        );
        // underscores, periods and dashes in the trail name; a backfill digest
        let n = parse_name("111122223333_CloudTrail-Digest_eu-west-1_my_trail.v2-x_us-gov-west-1_20261231T230131Z_backfill.json.gz").unwrap();
        assert_eq!(
            (
                n.region.as_str(),
                n.trail.as_str(),
                n.home_region.as_str(),
                n.backfill
            ),
            ("eu-west-1", "my_trail.v2-x", "us-gov-west-1", true)
        );
        // a trail name ending in what looks like a region is still split at the last `_`
        let n = parse_name("111122223333_CloudTrail-Digest_eu-west-1_a_us-east-1_eu-west-1_20261001T000000Z.json.gz").unwrap();
        assert_eq!(
            (n.trail.as_str(), n.home_region.as_str()),
            ("a_us-east-1", "eu-west-1")
        );
        for bad in [
            "111122223333_CloudTrail-Digest_eu-west-1_eu-west-1_20261001T000000Z.json.gz",
            "111122223333_CloudTrail-Digest_EU_t_eu-west-1_20261001T000000Z.json.gz",
            "111122223333_CloudTrail-Digest_eu-west-1_t\u{1b}x_eu-west-1_20261001T000000Z.json.gz",
            "111122223333_CloudTrail-Digest_eu-west-1__eu-west-1_20261001T000000Z.json.gz",
            "11112222333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20261001T000000Z.json.gz",
        ] {
            assert!(parse_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn first_digest_signs_null() {
        let body = DigestBody::parse(br#"{"awsAccountId":"111122223333","digestStartTime":"2015-08-17T14:01:31Z","digestEndTime":"2015-08-17T15:01:31Z","digestS3Bucket":"b","digestS3Object":"k.json.gz","previousDigestSignature":null,"logFiles":[]}"#).unwrap();
        assert_eq!(
            signing_string(&body, "ab"),
            "2015-08-17T15:01:31Z\nb/k.json.gz\nab\nnull"
        );
    }

    #[test]
    fn relative_parts_and_log_names() {
        let p = "/tmp/x/AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/10/01/111122223333_CloudTrail_us-east-1_20261001T1035Z_a.json.gz";
        assert_eq!(
            &p[trail_relative(p).unwrap()..][..24],
            "111122223333/CloudTrail/"
        );
        let n = parse_log_name(p).unwrap();
        assert_eq!(
            (n.account.as_str(), n.region.as_str()),
            ("111122223333", "us-east-1")
        );
        assert!(parse_log_name("/tmp/x/iam.json").is_none());
    }
}
