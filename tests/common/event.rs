//! CloudTrail records for the tests: one builder ([`Event`]) holding every field a real record
//! carries, with defaults a test overrides only where its assertion depends on the value; the
//! identities that make calls ([`Who`]); the shapes most tests use (a web-identity assumption,
//! failed or with credentials: [`WebId`]; a call of a role session; a change made by an IAM
//! user); and the `lookup-events` wrapper. It builds values only: writing them is [`super::Tree`]'s.

use serde_json::{json, Value};

use super::{ACCT, GH};

/// The user agent of calls made from a GitHub Actions job (it carries a run id).
pub const JOB_AGENT: &str = "aws-sdk-js/3.758.0 ua/2.1 md/run_id#18242668760";
/// The user agent of `aws-actions/configure-aws-credentials`' assumption.
pub const ACTION_AGENT: &str =
    "aws-sdk-nodejs/2.1112.0 linux/v16.20.2 configure-aws-credentials-for-github-actions promise";
/// The session token of every successful [`WebId`]: no output may print it.
pub const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjTOPSECRETTOKEN";

/// The account of an ARN (`arn:aws:iam::ACCOUNT:…`), or [`ACCT`] when it names none.
fn account_of(arn: &str) -> &str {
    match arn.split(':').nth(4) {
        Some(a) if !a.is_empty() => a,
        _ => ACCT,
    }
}

/// The last `/` segment of an ARN: a role's or a user's name.
fn name_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Who made a call: the record's `userIdentity`.
#[derive(Clone, Copy, Debug)]
pub enum Who<'a> {
    /// Session `name` of `role` (an ARN), signing with the access key `key`, whose credentials
    /// came from GitHub's OIDC provider (`principalId` `AROAEXAMPLE:name`).
    Session {
        role: &'a str,
        name: &'a str,
        key: &'a str,
    },
    /// A token's subject `sub` for audience `aud`, federated through `provider`.
    WebIdentity {
        provider: &'a str,
        aud: &'a str,
        sub: &'a str,
    },
    /// An IAM user, by ARN, signing with a long-term key.
    User(&'a str),
    /// An AWS service acting on its own (`invokedBy`), e.g. `codebuild.amazonaws.com`.
    Service(&'a str),
}

impl<'a> Who<'a> {
    /// Session `GitHubActions` of `role`, signing with `key`.
    pub fn session(role: &'a str, key: &'a str) -> Who<'a> {
        Who::Session {
            role,
            name: "GitHubActions",
            key,
        }
    }

    /// The account the identity belongs to.
    fn account(&self) -> &'a str {
        match *self {
            Who::Session { role, .. } => account_of(role),
            Who::User(arn) => account_of(arn),
            Who::WebIdentity { .. } | Who::Service(_) => ACCT,
        }
    }

    fn identity(&self) -> Value {
        match *self {
            Who::Session { role, name, key } => {
                let (account, role_name) = (account_of(role), name_of(role));
                json!({
                    "type": "AssumedRole",
                    "principalId": format!("AROAEXAMPLE:{name}"),
                    "arn": format!("arn:aws:sts::{account}:assumed-role/{role_name}/{name}"),
                    "accountId": account,
                    "accessKeyId": key,
                    "sessionContext": {
                        "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": role,
                                          "accountId": account, "userName": role_name},
                        "webIdFederationData": {"federatedProvider": GH, "attributes": {}},
                        "attributes": {"creationDate": "2026-10-01T10:00:00Z", "mfaAuthenticated": "false"}
                    }
                })
            }
            Who::WebIdentity { provider, aud, sub } => json!({
                "type": "WebIdentityUser",
                "principalId": format!("{provider}:{aud}:{sub}"),
                "userName": sub,
                "identityProvider": provider
            }),
            Who::User(arn) => json!({
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLE",
                "arn": arn,
                "accountId": account_of(arn),
                "accessKeyId": "AKIAEXAMPLE",
                "userName": name_of(arn)
            }),
            Who::Service(service) => json!({"type": "AWSService", "invokedBy": service}),
        }
    }
}

/// One CloudTrail record being built. [`Event::call`] fills every field a real record carries:
/// `eventVersion` 1.08, region us-east-1, `recipientAccountId` the caller's account,
/// `requestID` `req-ID`, `requestParameters` and `responseElements` null, not read-only, a
/// management `AwsApiCall`, [`JOB_AGENT`]. The methods change one field each; [`Event::set`]
/// any other.
#[derive(Clone, Debug)]
pub struct Event(Value);

impl Event {
    /// `name` of `source` called by `who` at `time`, with event id `id`.
    pub fn call(who: Who, id: &str, time: &str, source: &str, name: &str) -> Event {
        Event(json!({
            "eventVersion": "1.08",
            "userIdentity": who.identity(),
            "eventTime": time,
            "eventSource": source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "20.42.16.112",
            "userAgent": JOB_AGENT,
            "requestParameters": null,
            "responseElements": null,
            "requestID": format!("req-{id}"),
            "eventID": id,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": who.account(),
            "eventCategory": "Management"
        }))
    }

    /// A change the IAM user `user` made: `name` of `source` with `request` as its parameters
    /// (an `UpdateAssumeRolePolicy`, `AttachRolePolicy`, `CreateWebhook`, …).
    pub fn change(
        user: &str,
        id: &str,
        time: &str,
        source: &str,
        name: &str,
        request: Value,
    ) -> Event {
        Event::call(Who::User(user), id, time, source, name).request(request)
    }

    pub fn region(self, region: &str) -> Event {
        self.set("awsRegion", json!(region))
    }

    /// `recipientAccountId`.
    pub fn account(self, account: &str) -> Event {
        self.set("recipientAccountId", json!(account))
    }

    /// A failed call: `errorCode` and `errorMessage`.
    pub fn error(self, code: &str, message: &str) -> Event {
        self.set("errorCode", json!(code))
            .set("errorMessage", json!(message))
    }

    /// `requestParameters`.
    pub fn request(self, parameters: Value) -> Event {
        self.set("requestParameters", parameters)
    }

    /// `responseElements`.
    pub fn response(self, elements: Value) -> Event {
        self.set("responseElements", elements)
    }

    pub fn agent(self, user_agent: &str) -> Event {
        self.set("userAgent", json!(user_agent))
    }

    /// Any top-level field.
    pub fn set(mut self, key: &str, value: Value) -> Event {
        self.0[key] = value;
        self
    }

    pub fn record(self) -> Value {
        self.0
    }
}

impl From<Event> for Value {
    fn from(e: Event) -> Value {
        e.0
    }
}

/// An `AssumeRoleWithWebIdentity` record of GitHub's provider: failed with `error`, or, without
/// one, successful with credentials whose access key is `ASIA` + the upper-cased id.
pub struct WebId<'a> {
    pub id: &'a str,
    pub time: &'a str,
    pub role: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub provider: &'a str,
    pub error: Option<(&'a str, &'a str)>,
    pub region: &'a str,
    pub duration: u64,
}

impl<'a> WebId<'a> {
    /// Denied by the trust policy (`AccessDenied`), for audience `sts.amazonaws.com`, in
    /// us-east-1, asking for an hour.
    pub fn denied(id: &'a str, time: &'a str, role: &'a str, sub: &'a str) -> WebId<'a> {
        WebId {
            id,
            time,
            role,
            sub,
            aud: "sts.amazonaws.com",
            provider: GH,
            error: Some((
                "AccessDenied",
                "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            )),
            region: "us-east-1",
            duration: 3600,
        }
    }

    /// As [`WebId::denied`], but allowed: the record carries the session's credentials.
    pub fn assumed(id: &'a str, time: &'a str, role: &'a str, sub: &'a str) -> WebId<'a> {
        WebId {
            error: None,
            ..WebId::denied(id, time, role, sub)
        }
    }

    /// The access key of the session a successful assumption creates.
    pub fn key(&self) -> String {
        format!("ASIA{}", self.id.to_uppercase())
    }

    pub fn record(&self) -> Value {
        let account = account_of(self.role);
        let who = Who::WebIdentity {
            provider: self.provider,
            aud: self.aud,
            sub: self.sub,
        };
        let e = Event::call(
            who,
            self.id,
            self.time,
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
        )
        .region(self.region)
        .account(account)
        .agent(ACTION_AGENT)
        .request(json!({"roleArn": self.role, "roleSessionName": "GitHubActions", "durationSeconds": self.duration}))
        .set("readOnly", json!(true))
        .set(
            "resources",
            json!([{"accountId": account, "type": "AWS::IAM::Role", "ARN": self.role}]),
        );
        match self.error {
            Some((code, message)) => e.error(code, message),
            None => {
                let role_name = name_of(self.role);
                e.response(json!({
                    "credentials": {"accessKeyId": self.key(), "sessionToken": SESSION_TOKEN, "expiration": "Oct 1, 2026, 11:00:00 AM"},
                    "subjectFromWebIdentityToken": self.sub,
                    "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:GitHubActions", "arn": format!("arn:aws:sts::{account}:assumed-role/{role_name}/GitHubActions")},
                    "provider": self.provider,
                    "audience": self.aud
                }))
            }
        }
        .record()
    }
}

/// One element of `aws cloudtrail lookup-events` output: the record as a `CloudTrailEvent`
/// string, under the few attributes the API lifts out of it.
pub fn lookup_event(record: &Value) -> Value {
    json!({
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "EventSource": record["eventSource"],
        "CloudTrailEvent": record.to_string()
    })
}

/// `aws cloudtrail lookup-events` output holding these records.
pub fn lookup_events(records: &[Value]) -> Value {
    json!({"Events": records.iter().map(lookup_event).collect::<Vec<_>>()})
}
