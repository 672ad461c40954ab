//! CloudTrail's public keys and the signature check (SHA256withRSA, PKCS#1 v1.5).
//!
//! Keys come from `cloudtrail:ListPublicKeys` (one call per region the digests come from —
//! the REGION of a digest's name, whose logs it lists, not the trail's home region: AWS's
//! validator asks the region whose digests it walks — over the digests' time range) or from `--public-keys FILE`, the JSON that
//! `aws cloudtrail list-public-keys` prints (`Value` base64 of a DER PKCS#1 RSA public key,
//! `ValidityStartTime`, `ValidityEndTime`, `Fingerprint`). A digest names its key by
//! `digestPublicKeyFingerprint`; the key is chosen by that fingerprint, as AWS's own
//! validator does, and must be valid at the digest's end time. The cryptography is the
//! RustCrypto `rsa` and `sha2` crates'.

use std::path::Path;

use anyhow::{anyhow, Context as _, Result};
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::Value;
use sha2::Sha256;

use crate::aws::{describe_sdk_error, AwsContext};

/// One public key.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// Lowercase hex, as digests name it.
    pub fingerprint: String,
    pub key: RsaPublicKey,
    pub valid_from: DateTime<Utc>,
    pub valid_to: DateTime<Utc>,
    /// The region whose ListPublicKeys returned it; `None` for keys from a file.
    pub region: Option<String>,
}

/// The outcome of checking one digest's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    Valid,
    /// Every failure, in words: a bad signature, an unknown key, a key outside its validity.
    Failed(String),
}

/// The keys a run knows.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<PublicKey>,
}

impl KeyRing {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Reads `aws cloudtrail list-public-keys` output (or a bare `PublicKeyList` array).
    pub fn from_file(path: &Path) -> Result<KeyRing> {
        let text = std::fs::read(path)
            .with_context(|| format!("--public-keys {}: cannot read", path.display()))?;
        let v: Value = serde_json::from_slice(&text)
            .with_context(|| format!("--public-keys {}: not JSON", path.display()))?;
        let list = v
            .get("PublicKeyList")
            .unwrap_or(&v)
            .as_array()
            .ok_or_else(|| {
                anyhow!(
                    "--public-keys {}: expected the output of `aws cloudtrail list-public-keys` ({{\"PublicKeyList\": [...]}})",
                    path.display()
                )
            })?;
        let mut ring = KeyRing::default();
        for (i, k) in list.iter().enumerate() {
            ring.keys.push(
                key_from_json(k, None)
                    .map_err(|e| anyhow!("--public-keys {}: key {i}: {e}", path.display()))?,
            );
        }
        Ok(ring)
    }

    /// Calls `cloudtrail:ListPublicKeys` in each region for `[start, end]`.
    pub fn fetch(
        ctx: &AwsContext,
        regions: &[String],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<KeyRing> {
        use aws_sdk_cloudtrail::primitives::DateTime as SdkTime;
        let mut ring = KeyRing::default();
        for region in regions {
            let conf = aws_sdk_cloudtrail::config::Builder::from(&ctx.config)
                .region(aws_config::Region::new(region.clone()))
                .build();
            let client = aws_sdk_cloudtrail::Client::from_conf(conf);
            let mut token: Option<String> = None;
            loop {
                let mut req = client
                    .list_public_keys()
                    .start_time(SdkTime::from_secs(start.timestamp()))
                    .end_time(SdkTime::from_secs(end.timestamp()));
                if let Some(t) = &token {
                    req = req.next_token(t);
                }
                let out = ctx.block_on(req.send()).map_err(|e| {
                    anyhow!(
                        "cloudtrail:ListPublicKeys in {region}: {}",
                        describe_sdk_error(&e, "cloudtrail:ListPublicKeys")
                    )
                })?;
                for k in out.public_key_list() {
                    let (Some(value), Some(fp), Some(from), Some(to)) = (
                        k.value(),
                        k.fingerprint(),
                        k.validity_start_time(),
                        k.validity_end_time(),
                    ) else {
                        continue;
                    };
                    let key = RsaPublicKey::from_pkcs1_der(value.as_ref()).map_err(|e| {
                        anyhow!("cloudtrail:ListPublicKeys in {region}: key {fp} is not a DER RSA public key: {e}")
                    })?;
                    ring.keys.push(PublicKey {
                        fingerprint: fp.to_ascii_lowercase(),
                        key,
                        valid_from: epoch(from.secs()),
                        valid_to: epoch(to.secs()),
                        region: Some(region.clone()),
                    });
                }
                match out.next_token() {
                    Some(t) if !t.is_empty() && token.as_deref() != Some(t) => {
                        token = Some(t.to_owned());
                    }
                    _ => break,
                }
            }
        }
        Ok(ring)
    }

    /// Checks `signature` (raw bytes) over `signing` with the key named `fingerprint`, which
    /// must be valid at `at` (and, for keys from the API, be a key of `region`).
    pub fn check(
        &self,
        fingerprint: &str,
        region: &str,
        at: DateTime<Utc>,
        signing: &[u8],
        signature: &[u8],
    ) -> SignatureCheck {
        let fp = fingerprint.to_ascii_lowercase();
        let candidates: Vec<&PublicKey> = self
            .keys
            .iter()
            .filter(|k| k.fingerprint == fp)
            .filter(|k| k.region.as_deref().is_none_or(|r| r == region))
            .collect();
        if candidates.is_empty() {
            return SignatureCheck::Failed(format!(
                "names public key {fp}, which is not a CloudTrail key of {region}"
            ));
        }
        let Some(key) = candidates
            .iter()
            .find(|k| k.valid_from <= at && at <= k.valid_to)
        else {
            let k = candidates[0];
            return SignatureCheck::Failed(format!(
                "signed with key {fp} at {}, outside its validity ({} to {})",
                at.format("%Y-%m-%dT%H:%M:%SZ"),
                k.valid_from.format("%Y-%m-%dT%H:%M:%SZ"),
                k.valid_to.format("%Y-%m-%dT%H:%M:%SZ")
            ));
        };
        let Ok(sig) = Signature::try_from(signature) else {
            return SignatureCheck::Failed("the signature is not an RSA signature".to_owned());
        };
        match VerifyingKey::<Sha256>::new(key.key.clone()).verify(signing, &sig) {
            Ok(()) => SignatureCheck::Valid,
            Err(_) => SignatureCheck::Failed(format!(
                "the signature does not verify with public key {fp}"
            )),
        }
    }
}

fn epoch(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A time in the CLI's JSON: an RFC 3339 string or epoch seconds.
fn time_value(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        Value::Number(n) => n.as_f64().map(|f| epoch(f as i64)),
        _ => None,
    }
}

fn key_from_json(k: &Value, region: Option<String>) -> Result<PublicKey, String> {
    let value = k
        .get("Value")
        .and_then(Value::as_str)
        .ok_or("no Value (base64 DER public key)")?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|e| format!("Value is not base64: {e}"))?;
    let key = RsaPublicKey::from_pkcs1_der(&der)
        .map_err(|e| format!("Value is not a DER PKCS#1 RSA public key: {e}"))?;
    let fingerprint = k
        .get("Fingerprint")
        .and_then(Value::as_str)
        .ok_or("no Fingerprint")?
        .to_ascii_lowercase();
    let valid_from = k
        .get("ValidityStartTime")
        .and_then(time_value)
        .ok_or("no ValidityStartTime")?;
    let valid_to = k
        .get("ValidityEndTime")
        .and_then(time_value)
        .ok_or("no ValidityEndTime")?;
    Ok(PublicKey {
        fingerprint,
        key,
        valid_from,
        valid_to,
        region,
    })
}
