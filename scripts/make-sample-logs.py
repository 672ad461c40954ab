#!/usr/bin/env python3
"""Generate trailwhy's bundled sample data (the `sample-logs/` tree).

Usage: python3 scripts/make-sample-logs.py [OUT_DIR]      (default: <repo>/sample-logs)

Writes a small, fully synthetic CloudTrail bucket copy (three accounts, three regions,
2026-10-01..03), an IAM/ECR inventory, `expected.json` (the failure stories the tool must
find, with exact event ids and counts) and `README.md`. Everything is derived from one
seeded `random.Random(42)`: running it twice gives byte-identical output (gzip mtime=0,
insertion-ordered keys). Python 3 standard library only.

All account ids, names, keys, tokens and ids are invented here; no record is copied.
"""

import gzip
import hashlib
import json
import os
import shutil
import string
import sys
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
import random

RNG = random.Random(42)

MAIN = "111122223333"      # "acme" engineering, plain trail layout
PROD = "444455556666"      # prod, organization-trail layout
SANDBOX = "777788889999"   # no inventory supplied (no_policy_data story)
ORG_ID = "o-a1b2c3d4e5"
TRAIL_BUCKET = {MAIN: "acme-cloudtrail-111122223333", PROD: "acme-org-cloudtrail",
                SANDBOX: "sandbox-cloudtrail-777788889999"}
TRAIL_NAME = {MAIN: "acme-management-trail", PROD: "acme-org-trail", SANDBOX: "sandbox-trail"}
GH_HOST = "token.actions.githubusercontent.com"
AUD_KEY = GH_HOST + ":aud"
SUB_KEY = GH_HOST + ":sub"
STS_AUD = "sts.amazonaws.com"
SESSION = "GitHubActions"
SNAPSHOT_TIME = "2026-10-03T18:30:00Z"   # when the authorization-details files were taken
TOKEN_PREFIX = "IQoJb3JpZ2luX2Vj"        # every sessionToken starts with this


def provider_arn(acct):
    return f"arn:aws:iam::{acct}:oidc-provider/{GH_HOST}"


def role_arn(acct, name):
    return f"arn:aws:iam::{acct}:role/{name}"


def repo_arn(region, registry, name):
    return f"arn:aws:ecr:{region}:{registry}:repository/{name}"


# --------------------------------------------------------------------------- ids and times

UPPER_DIGITS = string.ascii_uppercase + "234567"
ALNUM = string.ascii_letters + string.digits
B64 = string.ascii_letters + string.digits + "+/"


def rand_str(n, alphabet):
    return "".join(RNG.choice(alphabet) for _ in range(n))


def new_uuid():
    return str(uuid.UUID(int=RNG.getrandbits(128), version=4))


def access_key(prefix="ASIA"):
    return prefix + rand_str(16, UPPER_DIGITS)


def session_token():
    # Long, distinctive, base64-like. Tests grep that no output ever contains TOKEN_PREFIX.
    body = rand_str(RNG.randint(560, 640), B64)
    return TOKEN_PREFIX + "EJ//////////wEaCXVzLWVhc3QtMSJH" + body + "="


def sha256_hex():
    return "%064x" % RNG.getrandbits(256)


def T(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def fmt(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_cli(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def fmt_expiration(t):
    # The shape STS responseElements use: "Oct 1, 2026, 12:09:48 PM"
    hour = t.hour % 12 or 12
    return f"{t.strftime('%b')} {t.day}, {t.year}, {hour}:{t.strftime('%M:%S')} {'AM' if t.hour < 12 else 'PM'}"


def rand_ip_runner():
    first = RNG.choice([4, 13, 20, 40, 52, 172])
    if first == 172:
        return f"172.{RNG.randint(176, 215)}.{RNG.randint(0, 255)}.{RNG.randint(1, 254)}"
    return f"{first}.{RNG.randint(1, 254)}.{RNG.randint(0, 255)}.{RNG.randint(1, 254)}"


def rand_ip_office():
    return RNG.choice(["203.0.113.", "198.51.100."]) + str(RNG.randint(10, 250))


def rand_ip_vpc():
    return f"10.{RNG.randint(0, 3)}.{RNG.randint(0, 255)}.{RNG.randint(4, 250)}"


RUN_ID = [18240000000]


def next_run_id():
    RUN_ID[0] += RNG.randint(20000, 900000)
    return RUN_ID[0]


UA_ACTION_V1 = "aws-sdk-nodejs/2.1112.0 linux/v16.20.2 configure-aws-credentials-for-github-actions promise"


def ua_action(run_id, api="sts"):
    return (f"aws-sdk-js/3.758.0 ua/2.1 os/linux#6.8.0-1021-azure lang/js md/nodejs#20.19.0 "
            f"api/{api}#3.758.0 m/E,e configure-aws-credentials-for-github-actions md/run_id#{run_id}")


UA_ECR_LOGIN = ("aws-sdk-js/3.758.0 ua/2.1 os/linux#6.8.0-1021-azure lang/js md/nodejs#20.19.0 "
                "api/ecr#3.758.0 m/E amazon-ecr-login-for-github-actions")
UA_DOCKER = ("docker/27.5.1 go/go1.22.11 git-commit/4c9b3b0 kernel/6.8.0-1021-azure os/linux "
             "arch/amd64 UpstreamClient(Docker-Client/27.5.1 \\(linux\\))")
UA_DOCKER_EC2 = ("docker/25.0.8 go/go1.22.12 git-commit/71907ca kernel/6.1.134-152.225.amzn2023.x86_64 "
                 "os/linux arch/amd64 UpstreamClient(Go-http-client/1.1)")
UA_CLI = ("aws-cli/2.27.41 md/awscrt#0.26.1 ua/2.1 os/macos#24.5.0 md/arch#arm64 lang/python#3.13.4 "
          "md/pyimpl#CPython m/E,b cfg/retry-mode#standard md/installer#source md/prompt#off md/command#{cmd}")
UA_BOTO = "Boto3/1.38.36 md/Botocore#1.38.36 ua/2.1 os/linux#5.10.237-230.949.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.11 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.38.36"
UA_LAMBDA = "aws-sdk-nodejs/3.758.0 linux/v20.19.0 exec-env/AWS_Lambda_nodejs20.x"
UA_CONSOLE = "AWS Internal"


# --------------------------------------------------------------------------- events

ENTRIES = []          # all records: dicts {acct, region, time, record, kind}
SEPARATE = []         # (eventID, eventID) pairs that must land in different log files


def emit(acct, region, t, rec, kind="noise"):
    ENTRIES.append({"acct": acct, "region": region, "time": t, "record": rec, "kind": kind})
    return rec


def tls(host, v13=True):
    if v13:
        return {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host}
    return {"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256", "clientProvidedHostHeader": host}


def record(version, identity, t, source, name, region, ip, ua, req, resp, *, acct, read_only,
           error=None, additional=None, resources=None, request_id=None, category="Management",
           host=None, extra_tail=None):
    r = {"eventVersion": version, "userIdentity": identity, "eventTime": fmt(t),
         "eventSource": source, "eventName": name, "awsRegion": region,
         "sourceIPAddress": ip, "userAgent": ua}
    if error:
        r["errorCode"], r["errorMessage"] = error
    r["requestParameters"] = req
    r["responseElements"] = resp
    if additional is not None:
        r["additionalEventData"] = additional
    r["requestID"] = request_id or new_uuid()
    r["eventID"] = new_uuid()
    r["readOnly"] = read_only
    if resources is not None:
        r["resources"] = resources
    r["eventType"] = "AwsApiCall"
    r["managementEvent"] = category == "Management"
    r["recipientAccountId"] = acct
    r["eventCategory"] = category
    if host:
        r["tlsDetails"] = tls(host)
    if extra_tail:
        r.update(extra_tail)
    return r


# --------------------------------------------------------------------------- identities

class Role:
    def __init__(self, acct, name, created, trust, inline=None, attached=None, tags=None,
                 path="/", description=None):
        self.acct, self.name, self.created = acct, name, T(created)
        self.trust, self.inline, self.attached = trust, inline or {}, attached or []
        self.tags, self.path, self.description = tags or [], path, description
        self.role_id = "AROA" + rand_str(17, UPPER_DIGITS)
        self.arn = role_arn(acct, name)
        self.last_used = None   # (time, region), filled in from the generated events


class User:
    def __init__(self, acct, name, created, groups, inline=None, attached=None):
        self.acct, self.name, self.created, self.groups = acct, name, T(created), groups
        self.inline, self.attached = inline or {}, attached or []
        self.user_id = "AIDA" + rand_str(17, UPPER_DIGITS)
        self.arn = f"arn:aws:iam::{acct}:user/{name}"
        self.key = access_key("AKIA")


def user_identity_iam(u, console_at=None):
    ident = {"type": "IAMUser", "principalId": u.user_id, "arn": u.arn, "accountId": u.acct,
             "accessKeyId": u.key, "userName": u.name}
    if console_at is not None:
        ident["accessKeyId"] = access_key()
        ident["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                                   "attributes": {"creationDate": fmt(console_at), "mfaAuthenticated": "true"}}
    return ident


class Session:
    """A role session: a GitHub web-identity session or an ordinary service-role session."""

    def __init__(self, role, created, name, sub=None, aud=None, ip=None, run_id=None):
        self.role, self.created, self.name = role, created, name
        self.sub, self.aud, self.ip, self.run_id = sub, aud, ip, run_id
        self.key = access_key()
        self.arn = f"arn:aws:sts::{role.acct}:assumed-role/{role.name}/{name}"
        self.assume_event_id = None
        self.assume_region = None

    def identity(self):
        ctx = {"sessionIssuer": {"type": "Role", "principalId": self.role.role_id, "arn": self.role.arn,
                                 "accountId": self.role.acct, "userName": self.role.name}}
        if self.sub is not None:
            ctx["webIdFederationData"] = {"federatedProvider": provider_arn(self.role.acct), "attributes": {}}
        ctx["attributes"] = {"creationDate": fmt(self.created), "mfaAuthenticated": "false"}
        return {"type": "AssumedRole", "principalId": f"{self.role.role_id}:{self.name}", "arn": self.arn,
                "accountId": self.role.acct, "accessKeyId": self.key, "sessionContext": ctx}


# --------------------------------------------------------------------------- policies

def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def gh_allow(acct, condition):
    return {"Effect": "Allow", "Principal": {"Federated": provider_arn(acct)},
            "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}


def gh_trust(acct, condition):
    return doc(gh_allow(acct, condition))


def service_trust(service):
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


ECR_PUSH = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload", "ecr:PutImage"]


def ecr_push_policy(resources, auth_resource="*"):
    return doc({"Sid": "GetAuthorizationToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                "Resource": auth_resource},
               {"Sid": "PushImages", "Effect": "Allow", "Action": ECR_PUSH,
                "Resource": resources if len(resources) > 1 else resources[0]})


RELEASE_GOOD = "repo:acme/web:ref:refs/tags/v*"
RELEASE_BROKEN = "repo:acme/web:ref:refs/tag/v*"


def release_trust(pattern):
    return gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD}, "StringLike": {SUB_KEY: pattern}})


ECR_PULL_V1 = doc({"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage",
                                                 "ecr:GetDownloadUrlForLayer"], "Resource": "*"})
ECR_PULL_V2 = doc({"Sid": "PullOnly", "Effect": "Allow",
                   "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                              "ecr:BatchCheckLayerAvailability"], "Resource": "*"})
DEVELOPER_READ = doc(
    {"Sid": "ReadAppBuckets", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
     "Resource": ["arn:aws:s3:::acme-app-data-111122223333", "arn:aws:s3:::acme-app-data-111122223333/*",
                  "arn:aws:s3:::acme-media-111122223333", "arn:aws:s3:::acme-media-111122223333/*"]},
    {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:Describe*", "logs:Get*", "logs:FilterLogEvents"],
     "Resource": "*"})

SEED_TRUST = gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD,
                                              SUB_KEY: "repo:Test-User/techblue-dev:ref:refs/heads/main"}})
SEED_INLINE = doc({"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                  {"Effect": "Allow",
                   "Action": ["ecr:CompleteLayerUpload", "ecr:UploadLayerPart", "ecr:InitiateLayerUpload",
                              "ecr:BatchCheckLayerAvailability", "ecr:PutImage"],
                   "Resource": repo_arn("ap-northeast-1", MAIN, "techblue-dev")})

TAGS_GHA = [{"Key": "owner", "Value": "platform"}, {"Key": "managed-by", "Value": "terraform"}]

ROLES_MAIN = [
    Role(MAIN, "Githubacitions-to-ECR-role", "2026-09-30T08:14:22Z", SEED_TRUST,
         inline={"Githubacitions-to-ECR-policy": SEED_INLINE},
         description="GitHub Actions push to ECR (techblue-dev)"),
    Role(MAIN, "gha-deploy", "2026-03-11T09:02:51Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD, SUB_KEY: "repo:acme/web:ref:refs/heads/main"}}),
         inline={"ecr-push-web": ecr_push_policy([repo_arn("us-east-1", MAIN, "web"),
                                                  repo_arn("eu-west-1", MAIN, "web")]),
                 "chain-to-prod": doc({"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
                                       "Resource": role_arn(PROD, "prod-deployer")})},
         tags=TAGS_GHA),
    Role(MAIN, "gha-ci-readonly", "2026-04-02T14:40:09Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD},
                         "StringLike": {SUB_KEY: "repo:acme/api:ref:refs/heads/*"}}),
         attached=["ecr-pull"], tags=TAGS_GHA),
    Role(MAIN, "gha-billing", "2026-05-19T10:11:37Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD}, "StringLike": {SUB_KEY: "repo:Acme/billing:*"}}),
         inline={"billing-exports": doc({"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                                         "Resource": "arn:aws:s3:::acme-billing-exports-111122223333/*"})},
         tags=TAGS_GHA),
    Role(MAIN, "gha-newsvc", "2026-09-29T16:03:12Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD, SUB_KEY: "repo:acme/newsvc:ref:refs/heads/main"}}),
         inline={"ecr-push-newsvc": ecr_push_policy([repo_arn("us-east-1", MAIN, "newsvc")])},
         tags=TAGS_GHA),
    Role(MAIN, "gha-infra", "2026-02-07T11:26:45Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD, SUB_KEY: "repo:acme/infra:*"}}),
         inline={"terraform-state": doc(
             {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
              "Resource": ["arn:aws:s3:::acme-terraform-state-111122223333",
                           "arn:aws:s3:::acme-terraform-state-111122223333/*"]},
             {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
              "Resource": "arn:aws:dynamodb:eu-west-1:111122223333:table/terraform-locks"})},
         tags=TAGS_GHA),
    Role(MAIN, "gha-docs", "2026-06-23T08:55:30Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD}, "StringLike": {SUB_KEY: "repo:acme/docs:*"}}),
         inline={"docs-site": doc({"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject", "s3:ListBucket"],
                                   "Resource": ["arn:aws:s3:::acme-docs-site-111122223333",
                                                "arn:aws:s3:::acme-docs-site-111122223333/*"]})},
         tags=TAGS_GHA),
    Role(MAIN, "gha-mobile", "2026-08-14T13:17:04Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD, SUB_KEY: "repo:acme/mobile:ref:refs/heads/main"}}),
         inline={"mobile-artifacts": doc({"Effect": "Allow", "Action": ["s3:PutObject"],
                                          "Resource": "arn:aws:s3:::acme-mobile-artifacts-111122223333/*"})},
         tags=TAGS_GHA),
    Role(MAIN, "gha-release", "2026-01-20T15:48:19Z", release_trust(RELEASE_GOOD),
         inline={"ecr-push-web": ecr_push_policy([repo_arn("us-east-1", MAIN, "web")])}, tags=TAGS_GHA),
    Role(MAIN, "gha-legacy", "2025-11-04T09:30:00Z",
         doc(gh_allow(MAIN, {"StringEquals": {AUD_KEY: STS_AUD}, "StringLike": {SUB_KEY: "repo:acme/*"}}),
             {"Sid": "NoPullRequestsOnLegacy", "Effect": "Deny", "Principal": {"Federated": provider_arn(MAIN)},
              "Action": "sts:AssumeRoleWithWebIdentity",
              "Condition": {"StringLike": {SUB_KEY: "repo:acme/legacy-*:pull_request"}}}),
         inline={"ecr-push-legacy": ecr_push_policy([repo_arn("us-east-1", MAIN, "legacy-app")])}),
    Role(MAIN, "gha-scoped", "2026-09-15T12:00:41Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD, SUB_KEY: "repo:acme/web:ref:refs/heads/staging"}}),
         inline={"ecr-web-staging": ecr_push_policy([repo_arn("us-east-1", MAIN, "web")],
                                                    auth_resource=repo_arn("us-east-1", MAIN, "web"))},
         tags=TAGS_GHA),
    Role(MAIN, "gha-pull-only", "2026-07-08T07:21:56Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD}, "StringLike": {SUB_KEY: "repo:acme/api:*"}}),
         attached=["ecr-pull"], tags=TAGS_GHA),
    Role(MAIN, "gha-web-push", "2026-09-02T10:45:13Z",
         gh_trust(MAIN, {"StringEquals": {AUD_KEY: STS_AUD, SUB_KEY: "repo:acme/web:ref:refs/heads/main"}}),
         inline={"ecr-push-shared-base": ecr_push_policy([repo_arn("us-east-1", PROD, "shared/base")])},
         tags=TAGS_GHA),
    Role(MAIN, "app-server", "2025-08-30T18:02:44Z", service_trust("ec2.amazonaws.com"),
         inline={"app-data": doc(
             {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
              "Resource": ["arn:aws:s3:::acme-app-data-111122223333/*", "arn:aws:s3:::acme-app-data-eu-111122223333/*",
                           "arn:aws:s3:::acme-app-data-apne1-111122223333/*"]},
             {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
             {"Effect": "Allow", "Action": ["lambda:InvokeFunction", "ec2:DescribeInstances"], "Resource": "*"})},
         path="/service-role/"),
    Role(MAIN, "image-resizer-lambda", "2025-10-12T12:12:12Z", service_trust("lambda.amazonaws.com"),
         inline={"media": doc({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                               "Resource": "arn:aws:s3:::acme-media-111122223333/*"},
                              {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                               "Resource": "arn:aws:logs:*:111122223333:log-group:/aws/lambda/image-resizer:*"})},
         path="/service-role/"),
]
ROLES_PROD = [
    Role(PROD, "gha-prod-deploy", "2026-09-25T09:44:02Z",
         gh_trust(PROD, {"StringEquals": {AUD_KEY: STS_AUD, SUB_KEY: "repo:acme/web:environment:production"}}),
         inline={"ecs-deploy": doc({"Effect": "Allow", "Action": ["ecs:UpdateService", "ecs:DescribeServices",
                                                                  "ecs:RegisterTaskDefinition"], "Resource": "*"})}),
    Role(PROD, "prod-deployer", "2026-04-30T16:20:00Z",
         doc({"Sid": "FromEngineeringCI", "Effect": "Allow", "Principal": {"AWS": role_arn(MAIN, "gha-deploy")},
              "Action": "sts:AssumeRole"}),
         inline={"ecs-deploy": doc({"Effect": "Allow", "Action": ["ecs:UpdateService", "ecs:DescribeServices"],
                                    "Resource": "*"})}),
    Role(PROD, "prod-app", "2025-06-01T10:00:00Z", service_trust("ec2.amazonaws.com"),
         inline={"app": doc({"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt", "ecr:BatchGetImage",
                                                           "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken",
                                                           "ec2:DescribeInstances"], "Resource": "*"})},
         path="/service-role/"),
]
ROLES_SANDBOX = [Role(SANDBOX, "gha-sandbox", "2026-09-01T00:00:00Z", gh_trust(SANDBOX, {}))]  # never exported
ROLE = {(r.acct, r.name): r for r in ROLES_MAIN + ROLES_PROD + ROLES_SANDBOX}

USERS_MAIN = [
    User(MAIN, "alice", "2025-02-03T09:15:00Z", ["admins"]),
    User(MAIN, "bob", "2025-02-03T09:16:12Z", ["admins"]),
    User(MAIN, "carol", "2025-09-22T13:40:51Z", ["developers"]),
    User(MAIN, "dave", "2026-01-12T08:05:33Z", ["developers"]),
]
USER = {u.name: u for u in USERS_MAIN}
USER_SANDBOX = User(SANDBOX, "sandbox-admin", "2026-08-01T00:00:00Z", [])
USER_PROD = User(PROD, "break-glass", "2025-06-01T10:00:00Z", [])

KMS_KEY = {}


def kms_key(acct, region):
    if (acct, region) not in KMS_KEY:
        KMS_KEY[(acct, region)] = f"arn:aws:kms:{region}:{acct}:key/{new_uuid()}"
    return KMS_KEY[(acct, region)]


# --------------------------------------------------------------------------- STS events

def web_identity_principal(acct, aud, sub):
    prov = provider_arn(acct)
    return {"type": "WebIdentityUser", "principalId": f"{prov}:{aud}:{sub}", "userName": sub,
            "identityProvider": prov}


def assume_success(role, region, t, sub, ua_run_id=None, aud=STS_AUD, ip=None, old_ua=False):
    """A successful AssumeRoleWithWebIdentity; returns the session it issued."""
    run_id = ua_run_id or next_run_id()
    ip = ip or rand_ip_runner()
    s = Session(role, t, SESSION, sub=sub, aud=aud, ip=ip, run_id=run_id)
    prov = provider_arn(role.acct)
    resp = {"credentials": {"accessKeyId": s.key, "sessionToken": session_token(),
                            "expiration": fmt_expiration(t + timedelta(hours=1))},
            "subjectFromWebIdentityToken": sub,
            "assumedRoleUser": {"assumedRoleId": f"{role.role_id}:{SESSION}", "arn": s.arn},
            "provider": prov, "audience": aud}
    rec = record("1.08", web_identity_principal(role.acct, aud, sub), t, "sts.amazonaws.com",
                 "AssumeRoleWithWebIdentity", region, ip, UA_ACTION_V1 if old_ua else ua_action(run_id),
                 {"roleArn": role.arn, "roleSessionName": SESSION, "durationSeconds": 3600}, resp,
                 acct=role.acct, read_only=True,
                 additional={"identityProviderConnectionVerificationMethod": "IAMTrustStore",
                             "RequestDetails": {"awsServingRegion": region, "endpointType": "regional"}},
                 resources=[{"accountId": role.acct, "type": "AWS::IAM::Role", "ARN": role.arn}],
                 host=f"sts.{region}.amazonaws.com")
    emit(role.acct, region, t, rec, kind="assume")
    s.assume_event_id, s.assume_region = rec["eventID"], region
    if role.last_used is None or role.last_used[0] < t:
        role.last_used = (t, region)
    # The action then calls GetCallerIdentity with the new credentials.
    t2 = t + timedelta(seconds=1)
    emit(role.acct, region, t2, record("1.08", s.identity(), t2, "sts.amazonaws.com", "GetCallerIdentity", region,
                                       ip, ua_action(run_id) if not old_ua else UA_ACTION_V1, None, None,
                                       acct=role.acct, read_only=True, host=f"sts.{region}.amazonaws.com"))
    return s


def assume_failure(acct, region, t, target_arn, sub, error, *, aud=STS_AUD, duration=3600, ip, ua):
    target_acct = target_arn.split(":")[4]
    rec = record("1.08", web_identity_principal(acct, aud, sub), t, "sts.amazonaws.com",
                 "AssumeRoleWithWebIdentity", region, ip, ua,
                 {"roleArn": target_arn, "roleSessionName": SESSION, "durationSeconds": duration}, None,
                 acct=acct, read_only=True, error=error,
                 resources=[{"accountId": target_acct, "type": "AWS::IAM::Role", "ARN": target_arn}],
                 host=f"sts.{region}.amazonaws.com")
    return emit(acct, region, t, rec, kind="story")


# --------------------------------------------------------------------------- ECR events

def ecr_api(s, region, t, name, req, resp, *, read_only, registry=None, error=None, resources=True,
            docker=True, kind="noise", version="1.09", ua=None):
    registry = registry or s.role.acct
    host = (f"{registry}.dkr.ecr.{region}.amazonaws.com" if docker else f"api.ecr.{region}.amazonaws.com")
    res = None
    if resources and req and "repositoryName" in req:
        res = [{"accountId": registry, "ARN": repo_arn(region, registry, req["repositoryName"])}]
    rec = record(version, s.identity(), t, "ecr.amazonaws.com", name, region, s.ip,
                 ua or (UA_DOCKER if docker else UA_ECR_LOGIN), req, resp, acct=s.role.acct, read_only=read_only,
                 error=error, resources=res, host=host)
    return emit(s.role.acct, region, t, rec, kind=kind)


def ecr_login(s, region, t, registries=None):
    registry = (registries or [s.role.acct])[0]
    resp = {"authorizationData": [{"authorizationToken": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                   "expiresAt": fmt_expiration(t + timedelta(hours=12)),
                                   "proxyEndpoint": f"https://{registry}.dkr.ecr.{region}.amazonaws.com"}]}
    return ecr_api(s, region, t, "GetAuthorizationToken", {"registryIds": registries} if registries else None,
                   resp, read_only=True, docker=False)


def digest():
    return "sha256:" + sha256_hex()


def ecr_push(s, region, t, repo, tag, new_layers=2, registry=None):
    """A successful docker push. Returns the time after the last call."""
    registry = registry or s.role.acct
    base = {"repositoryName": repo, "registryId": registry}
    layers = [digest() for _ in range(new_layers + 1)]
    t += timedelta(seconds=RNG.randint(1, 4))
    ecr_api(s, region, t, "BatchCheckLayerAvailability", dict(base, layerDigests=layers), None, read_only=True)
    for d in layers[:new_layers]:
        t += timedelta(seconds=RNG.randint(1, 3))
        up = new_uuid()
        ecr_api(s, region, t, "InitiateLayerUpload", dict(base), dict(base, uploadId=up, partSize=10485760),
                read_only=False)
        size = RNG.randint(20000, 9000000)
        t += timedelta(seconds=RNG.randint(2, 12))
        ecr_api(s, region, t, "UploadLayerPart", dict(base, uploadId=up, partFirstByte=0, partLastByte=size - 1),
                dict(base, uploadId=up, lastByteReceived=size - 1), read_only=False)
        t += timedelta(seconds=RNG.randint(1, 2))
        ecr_api(s, region, t, "CompleteLayerUpload", dict(base, uploadId=up, layerDigests=[d]),
                dict(base, uploadId=up, layerDigest=d), read_only=False)
    t += timedelta(seconds=RNG.randint(1, 3))
    media = "application/vnd.oci.image.manifest.v1+json"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": media,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1472,
                                      "digest": digest()},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "size": RNG.randint(900, 9000000), "digest": d} for d in layers]},
                          separators=(",", ":"))
    ecr_api(s, region, t, "PutImage", dict(base, imageTag=tag, imageManifest=manifest, imageManifestMediaType=media),
            {"image": {"registryId": registry, "repositoryName": repo, "imageManifest": manifest,
                       "imageManifestMediaType": media, "imageId": {"imageDigest": digest(), "imageTag": tag}}},
            read_only=False)
    return t


def ecr_pull(s, region, t, repo, tag, registry=None):
    registry = registry or s.role.acct
    base = {"repositoryName": repo, "registryId": registry}
    t += timedelta(seconds=RNG.randint(1, 4))
    ecr_api(s, region, t, "BatchGetImage",
            dict(base, imageIds=[{"imageTag": tag}],
                 acceptedMediaTypes=["application/vnd.oci.image.manifest.v1+json",
                                     "application/vnd.docker.distribution.manifest.v2+json"]),
            None, read_only=True)
    for _ in range(RNG.randint(1, 3)):
        t += timedelta(seconds=RNG.randint(0, 2))
        ecr_api(s, region, t, "GetDownloadUrlForLayer", dict(base, layerDigest=digest()), None, read_only=True)
    return t


def sha():
    return "%040x" % RNG.getrandbits(160)


# --------------------------------------------------------------------------- stories

STORIES = []


class Story:
    def __init__(self, sid, title, cause, account, region, role, sub, event_name, error_code, *,
                 action, resource, aud=STS_AUD, extra=None):
        self.sid, self.title, self.cause, self.account, self.region = sid, title, cause, account, region
        self.role, self.sub, self.event_name, self.error_code = role, sub, event_name, error_code
        self.action, self.resource, self.aud, self.extra = action, resource, aud, extra or {}
        self.records = []
        STORIES.append(self)

    def add(self, rec):
        assert rec["errorCode"] == self.error_code and rec["eventName"] == self.event_name
        self.records.append(rec)

    def expected(self):
        recs = sorted(self.records, key=lambda r: (r["eventTime"], r["eventID"]))
        e = {"story": self.sid, "title": self.title, "cause": self.cause, "account": self.account,
             "region": self.region, "role_arn": self.role, "sub": self.sub, "aud": self.aud,
             "event_name": self.event_name, "error_code": self.error_code, "action": self.action,
             "resource": self.resource, "count": len(recs), "first_seen": recs[0]["eventTime"],
             "last_seen": recs[-1]["eventTime"], "event_ids": [r["eventID"] for r in recs]}
        e.update(self.extra)
        return e


def at_offsets(start, offsets):
    t0 = T(start)
    return [t0 + timedelta(seconds=o) for o in offsets]


def wi_story(sid, title, cause, acct, region, role_name, sub, times, error, *, aud=STS_AUD, duration=3600,
             old_ua=False, extra=None, role_arn_override=None):
    target = role_arn_override or role_arn(acct, role_name)
    st = Story(sid, title, cause, acct, region, target, sub, "AssumeRoleWithWebIdentity", error[0],
               action="sts:AssumeRoleWithWebIdentity", resource=target, aud=aud, extra=extra)
    ip, run_id = rand_ip_runner(), next_run_id()
    for t in times:
        st.add(assume_failure(acct, region, t, target, sub, error, aud=aud, duration=duration, ip=ip,
                              ua=UA_ACTION_V1 if old_ua else ua_action(run_id)))
    return st


def denial(principal_arn, action, resource, reason):
    on = f" on resource: {resource}" if resource else ""
    return f"User: {principal_arn} is not authorized to perform: {action}{on} {reason}"


def no_allow(kind, action):
    return f"because no {kind} policy allows the {action} action"


def ecr_story(sid, title, cause, s, region, name, times, code, reason, req, *, registry=None, resources=True,
              docker=True):
    registry = registry or s.role.acct
    action = "ecr:" + name
    resource = "*" if name == "GetAuthorizationToken" else repo_arn(region, registry, req["repositoryName"])
    st = Story(sid, title, cause, s.role.acct, region, s.role.arn, s.sub, name, code, action=action,
               resource=resource, extra={"session_arn": s.arn, "access_key_id": s.key,
                                         "assumed_in_region": s.assume_region})
    for t in times:
        rec = ecr_api(s, region, t, name, req, None, read_only=name in ("GetAuthorizationToken",
                                                                         "BatchCheckLayerAvailability"),
                      registry=registry, error=(code, denial(s.arn, action, resource, reason)),
                      resources=resources, docker=docker, kind="story")
        st.add(rec)
        SEPARATE.append((s.assume_event_id, rec["eventID"]))
    return st


def iam_change(user, t, name, params, console=False):
    ua = UA_CONSOLE if console else UA_CLI.format(cmd="iam." + "update-assume-role-policy")
    rec = record("1.08", user_identity_iam(user, console_at=t - timedelta(minutes=23) if console else None), t,
                 "iam.amazonaws.com", name, "us-east-1", rand_ip_office(), ua, params, None, acct=user.acct,
                 read_only=False, host="iam.amazonaws.com",
                 extra_tail={"sessionCredentialFromConsole": "true"} if console else None)
    return emit(user.acct, "us-east-1", t, rec, kind="iam")


NOT_AUTH_WI = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
UNKNOWN_WI = ("AccessDenied", "An unknown error occurred")


def build_stories():
    # 1. The seed: the workflow asks for a misspelled role (IAM has "Githubacitions-...").
    wi_story("01-seed-role-typo", "Seed: workflow role name does not match the IAM role (typo)",
             "role_not_found", MAIN, "ap-northeast-1", None, "repo:Test-User/techblue-dev:ref:refs/heads/main",
             at_offsets("2026-10-01T11:33:52Z", [0, 6, 17]), UNKNOWN_WI, old_ua=True,
             role_arn_override=role_arn(MAIN, "Githubactions-to-ECR-role"),
             extra={"nearest_role": "Githubacitions-to-ECR-role"})
    # ... fixed at 12:09: assume the real role, push techblue-dev, then (story 14) techblue-api.
    seed_role = ROLE[(MAIN, "Githubacitions-to-ECR-role")]
    s = assume_success(seed_role, "ap-northeast-1", T("2026-10-01T12:09:48Z"),
                       "repo:Test-User/techblue-dev:ref:refs/heads/main", old_ua=True)
    ecr_login(s, "ap-northeast-1", T("2026-10-01T12:09:55Z"))
    ecr_push(s, "ap-northeast-1", T("2026-10-01T12:11:30Z"), "techblue-dev", sha())
    ecr_story("14-seed-push-repository-not-covered",
              "Seed follow-up: the fixed role pushes a second image to a repository its policy does not cover",
              "identity_policy_wrong_resource", s, "ap-northeast-1", "InitiateLayerUpload",
              at_offsets("2026-10-01T12:20:14Z", [0, 5, 15]), "AccessDenied",
              no_allow("identity-based", "ecr:InitiateLayerUpload"),
              {"repositoryName": "techblue-api", "registryId": MAIN})

    # 2. Environment vs branch: 12 retries.
    wi_story("02-environment-vs-branch", "Job uses environment: production; trust policy expects the main branch",
             "sub_kind_mismatch", MAIN, "us-east-1", "gha-deploy", "repo:acme/web:environment:production",
             at_offsets("2026-10-01T10:32:01Z", [0, 2, 5, 9, 14, 20, 27, 35, 46, 60, 78, 99]), NOT_AUTH_WI)
    # 3. pull_request.
    wi_story("03-pull-request", "pull_request workflow; trust policy expects branches",
             "sub_kind_mismatch", MAIN, "eu-west-1", "gha-ci-readonly", "repo:acme/api:pull_request",
             at_offsets("2026-10-02T09:00:31Z", [0, 4, 9, 17]), NOT_AUTH_WI)
    # 4. Owner case.
    wi_story("04-owner-case", "Trust policy spells the owner 'Acme'; GitHub sends 'acme'",
             "sub_case_mismatch", MAIN, "us-east-1", "gha-billing", "repo:acme/billing:ref:refs/heads/main",
             at_offsets("2026-10-02T14:00:44Z", [0, 5]), NOT_AUTH_WI)
    # 5. Immutable subject form.
    wi_story("05-immutable-subject", "New repository sends the immutable OWNER@ID/REPO@ID subject",
             "sub_immutable_id_mismatch", MAIN, "us-east-1", "gha-newsvc",
             "repo:acme@4412345/newsvc@987654321:ref:refs/heads/main",
             at_offsets("2026-10-03T08:15:07Z", [0, 3, 9]), NOT_AUTH_WI)
    # 6. Wildcard under StringEquals.
    wi_story("06-wildcard-stringequals", "'repo:acme/infra:*' under StringEquals is a literal star",
             "wildcard_needs_stringlike", MAIN, "eu-west-1", "gha-infra", "repo:acme/infra:ref:refs/heads/main",
             at_offsets("2026-10-03T13:20:09Z", [0, 3, 7, 12, 19]), NOT_AUTH_WI)
    # 7. Audience mismatch (the provider knows the audience, the trust policy does not accept it).
    wi_story("07-aud-mismatch", "Token audience https://github.com/acme; trust policy requires sts.amazonaws.com",
             "aud_mismatch", MAIN, "us-east-1", "gha-docs", "repo:acme/docs:ref:refs/heads/main",
             at_offsets("2026-10-02T16:40:22Z", [0, 4]), NOT_AUTH_WI, aud="https://github.com/acme")
    # 8. Audience not registered with the provider.
    wi_story("08-audience-not-registered", "Token audience api://mobile-ci is not a client ID of the provider",
             "audience_not_registered", MAIN, "ap-northeast-1", "gha-mobile", "repo:acme/mobile:ref:refs/heads/main",
             at_offsets("2026-10-03T10:05:44Z", [0]), ("InvalidIdentityToken", "Incorrect token audience"),
             aud="api://mobile-ci")
    # 9. No OIDC provider in the prod account.
    wi_story("09-provider-missing", "Account 444455556666 has no GitHub OIDC provider",
             "provider_not_found", PROD, "us-east-1", "gha-prod-deploy", "repo:acme/web:environment:production",
             at_offsets("2026-10-02T11:00:05Z", [0, 3, 8]),
             ("InvalidIdentityToken",
              "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com"))
    # 10. Trust policy broken by alice at 10:30, reverted by bob at 11:05.
    release = ROLE[(MAIN, "gha-release")]
    ch1 = iam_change(USER["alice"], T("2026-10-02T10:30:00Z"), "UpdateAssumeRolePolicy",
                     {"roleName": "gha-release",
                      "policyDocument": json.dumps(release_trust(RELEASE_BROKEN), indent=4)})
    change = {"policy_change": {"by": USER["alice"].arn, "at": "2026-10-02T10:30:00Z", "event_id": ch1["eventID"],
                                "pattern": RELEASE_BROKEN}}
    st_a = wi_story("10a-trust-policy-changed", "alice's 10:30 trust-policy edit dropped the 's' of refs/tags (v2.4.0)",
                    "sub_pattern_mismatch", MAIN, "us-east-1", "gha-release", "repo:acme/web:ref:refs/tags/v2.4.0",
                    at_offsets("2026-10-02T10:32:05Z", [0, 4, 11]), NOT_AUTH_WI, extra=change)
    for t in at_offsets("2026-10-02T10:47:31Z", [0, 4, 11]):   # re-run of the same tag
        st_a.add(assume_failure(MAIN, "us-east-1", t, release.arn, st_a.sub, NOT_AUTH_WI, ip=rand_ip_runner(),
                                ua=ua_action(RUN_ID[0])))
    wi_story("10b-trust-policy-changed", "alice's 10:30 trust-policy edit dropped the 's' of refs/tags (v2.4.1)",
             "sub_pattern_mismatch", MAIN, "us-east-1", "gha-release", "repo:acme/web:ref:refs/tags/v2.4.1",
             at_offsets("2026-10-02T11:03:31Z", [0, 7, 19]), NOT_AUTH_WI, extra=change)
    iam_change(USER["bob"], T("2026-10-02T11:05:00Z"), "UpdateAssumeRolePolicy",
               {"roleName": "gha-release", "policyDocument": json.dumps(release_trust(RELEASE_GOOD))}, console=True)
    s = assume_success(release, "us-east-1", T("2026-10-02T11:12:20Z"), "repo:acme/web:ref:refs/tags/v2.4.1")
    ecr_login(s, "us-east-1", T("2026-10-02T11:12:29Z"))
    ecr_push(s, "us-east-1", T("2026-10-02T11:15:02Z"), "web", "v2.4.1")
    # 11. Account without inventory.
    wi_story("11-no-policy-data", "Account 777788889999 is not in the inventory",
             "no_policy_data", SANDBOX, "us-east-1", "gha-sandbox", "repo:acme/sandbox:ref:refs/heads/main",
             at_offsets("2026-10-03T15:00:40Z", [0, 4]), NOT_AUTH_WI)
    # 12. Explicit deny in the trust policy.
    wi_story("12-explicit-deny", "Deny statement for pull requests of legacy-* repositories",
             "explicit_deny", MAIN, "us-east-1", "gha-legacy", "repo:acme/legacy-app:pull_request",
             at_offsets("2026-10-01T15:00:12Z", [0, 7]), NOT_AUTH_WI)
    # 13. Duration above the role maximum.
    wi_story("13-duration", "durationSeconds 43200 above the role's MaxSessionDuration",
             "duration_exceeds_max", MAIN, "us-east-1", "gha-deploy", "repo:acme/web:ref:refs/heads/main",
             at_offsets("2026-10-03T09:00:18Z", [0]),
             ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
             duration=43200, extra={"duration_seconds": 43200})

    # 15. GetAuthorizationToken allowed only on a repository ARN.
    s = assume_success(ROLE[(MAIN, "gha-scoped")], "us-east-1", T("2026-10-02T12:59:41Z"),
                       "repo:acme/web:ref:refs/heads/staging")
    ecr_story("15-get-authorization-token-scoped", "ecr:GetAuthorizationToken allowed only on repository/web",
              "get_authorization_token_scoped", s, "us-east-1", "GetAuthorizationToken",
              at_offsets("2026-10-02T13:00:03Z", [0, 6]), "AccessDeniedException",
              no_allow("identity-based", "ecr:GetAuthorizationToken"), None, resources=False, docker=False)
    # 16. Pull-only role pushes (assumed through us-east-1 STS, push to eu-west-1).
    s = assume_success(ROLE[(MAIN, "gha-pull-only")], "us-east-1", T("2026-10-02T15:27:10Z"),
                       "repo:acme/api:ref:refs/heads/main")
    ecr_login(s, "eu-west-1", T("2026-10-02T15:27:18Z"))
    ecr_api(s, "eu-west-1", T("2026-10-02T15:30:02Z"), "BatchCheckLayerAvailability",
            {"repositoryName": "api", "registryId": MAIN, "layerDigests": [digest(), digest()]}, None, read_only=True)
    ecr_story("16-pull-only-role-pushes", "Role has only the ecr-pull managed policy (v2) and tries to push",
              "identity_policy_no_allow", s, "eu-west-1", "InitiateLayerUpload",
              at_offsets("2026-10-02T15:30:03Z", [0, 5]), "AccessDeniedException",
              no_allow("identity-based", "ecr:InitiateLayerUpload"), {"repositoryName": "api", "registryId": MAIN})
    # 19. Role chaining into prod with session tags; prod-deployer's trust lacks sts:TagSession.
    deploy = ROLE[(MAIN, "gha-deploy")]
    s = assume_success(deploy, "us-east-1", T("2026-10-02T17:05:12Z"), "repo:acme/web:ref:refs/heads/main")
    ecr_login(s, "us-east-1", T("2026-10-02T17:05:20Z"))
    ecr_push(s, "us-east-1", T("2026-10-02T17:07:41Z"), "web", sha())
    target = role_arn(PROD, "prod-deployer")
    st = Story("19-chained-tag-session", "Chained AssumeRole with session tags; target trust lacks sts:TagSession",
               "chained_tag_session_not_allowed", MAIN, "us-east-1", deploy.arn, s.sub, "AssumeRole", "AccessDenied",
               action="sts:TagSession", resource=target,
               extra={"session_arn": s.arn, "access_key_id": s.key, "assumed_in_region": s.assume_region,
                      "target_role_arn": target})
    t = T("2026-10-02T17:10:31Z")
    commit = sha()
    rec = record("1.08", s.identity(), t, "sts.amazonaws.com", "AssumeRole", "us-east-1", s.ip,
                 ua_action(s.run_id),
                 {"roleArn": target, "roleSessionName": SESSION, "durationSeconds": 3600,
                  "tags": [{"key": "GitHub", "value": "Actions"}, {"key": "Repository", "value": "acme/web"},
                           {"key": "Workflow", "value": "deploy"}, {"key": "Action", "value": "__self"},
                           {"key": "Actor", "value": "octo-dev"}, {"key": "Commit", "value": commit},
                           {"key": "Branch", "value": "refs/heads/main"}],
                  "transitiveTagKeys": ["Repository", "Workflow"]},
                 None, acct=MAIN, read_only=True,
                 error=("AccessDenied", denial(s.arn, "sts:TagSession", target, "").rstrip()),
                 resources=[{"accountId": PROD, "type": "AWS::IAM::Role", "ARN": target}],
                 host="sts.us-east-1.amazonaws.com")
    st.add(emit(MAIN, "us-east-1", t, rec, kind="story"))
    SEPARATE.append((s.assume_event_id, rec["eventID"]))
    # 17. Cross-account push to a registry without a repository policy.
    s = assume_success(ROLE[(MAIN, "gha-web-push")], "us-east-1", T("2026-10-03T10:58:20Z"),
                       "repo:acme/web:ref:refs/heads/main")
    ecr_login(s, "us-east-1", T("2026-10-03T10:58:29Z"), registries=[PROD])
    ecr_story("17-cross-account-no-repository-policy",
              "Push to 444455556666's shared/base: that repository's policy does not grant the caller",
              "resource_policy_no_allow", s, "us-east-1", "InitiateLayerUpload",
              at_offsets("2026-10-03T11:00:12Z", [0, 5]), "AccessDenied",
              no_allow("resource-based", "ecr:InitiateLayerUpload"),
              {"repositoryName": "shared/base", "registryId": PROD}, registry=PROD, resources=False)
    # 18. SCP denies PutImage in eu-west-1 (session assumed through us-east-1).
    s = assume_success(deploy, "us-east-1", T("2026-10-03T11:55:03Z"), "repo:acme/web:ref:refs/heads/main")
    ecr_login(s, "eu-west-1", T("2026-10-03T11:55:12Z"))
    base = {"repositoryName": "web", "registryId": MAIN}
    ecr_api(s, "eu-west-1", T("2026-10-03T11:58:40Z"), "BatchCheckLayerAvailability",
            dict(base, layerDigests=[digest()]), None, read_only=True)
    up = new_uuid()
    ecr_api(s, "eu-west-1", T("2026-10-03T11:58:41Z"), "InitiateLayerUpload", dict(base),
            dict(base, uploadId=up, partSize=10485760), read_only=False)
    ecr_api(s, "eu-west-1", T("2026-10-03T11:59:24Z"), "UploadLayerPart",
            dict(base, uploadId=up, partFirstByte=0, partLastByte=4182203),
            dict(base, uploadId=up, lastByteReceived=4182203), read_only=False)
    d = digest()
    ecr_api(s, "eu-west-1", T("2026-10-03T11:59:30Z"), "CompleteLayerUpload", dict(base, uploadId=up, layerDigests=[d]),
            dict(base, uploadId=up, layerDigest=d), read_only=False)
    ecr_story("18-scp-deny", "PutImage in eu-west-1 denied by a service control policy",
              "org_policy", s, "eu-west-1", "PutImage", at_offsets("2026-10-03T12:00:02Z", [0]),
              "AccessDeniedException", "with an explicit deny in a service control policy",
              dict(base, imageTag="eu-" + sha()[:12],
                   imageManifest=json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                             "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                                        "size": 1472, "digest": digest()},
                                             "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                                         "size": 4182204, "digest": d}]}, separators=(",", ":")),
                   imageManifestMediaType="application/vnd.oci.image.manifest.v1+json"))


# --------------------------------------------------------------------------- ordinary traffic

def ci_jobs():
    """Successful GitHub Actions jobs (noise, but they must agree with the policies)."""
    R = lambda acct, n: ROLE[(acct, n)]  # noqa: E731
    jobs = [
        ("2026-10-01T08:12:30Z", "gha-deploy", "us-east-1", "us-east-1", "repo:acme/web:ref:refs/heads/main", "push", "web"),
        ("2026-10-01T09:41:10Z", "gha-ci-readonly", "eu-west-1", "eu-west-1", "repo:acme/api:ref:refs/heads/feature/login", "pull", "api"),
        ("2026-10-01T13:30:05Z", "gha-legacy", "us-east-1", "us-east-1", "repo:acme/legacy-app:ref:refs/heads/main", "push", "legacy-app"),
        ("2026-10-01T16:20:40Z", "gha-release", "us-east-1", "us-east-1", "repo:acme/web:ref:refs/tags/v2.3.0", "push", "web"),
        ("2026-10-01T19:05:00Z", "gha-deploy", "eu-west-1", "eu-west-1", "repo:acme/web:ref:refs/heads/main", "push", "web"),
        ("2026-10-01T23:55:30Z", "gha-ci-readonly", "eu-west-1", "eu-west-1", "repo:acme/api:ref:refs/heads/main", "pull", "api"),
        ("2026-10-02T08:30:15Z", "gha-ci-readonly", "eu-west-1", "eu-west-1", "repo:acme/api:ref:refs/heads/main", "pull", "api"),
        ("2026-10-02T10:05:00Z", "gha-legacy", "us-east-1", "us-east-1", "repo:acme/legacy-app:ref:refs/heads/main", "push", "legacy-app"),
        ("2026-10-02T20:40:00Z", "Githubacitions-to-ECR-role", "ap-northeast-1", "ap-northeast-1", "repo:Test-User/techblue-dev:ref:refs/heads/main", "push", "techblue-dev"),
        ("2026-10-03T07:45:33Z", "gha-deploy", "us-east-1", "us-east-1", "repo:acme/web:ref:refs/heads/main", "push", "web"),
        ("2026-10-03T14:10:10Z", "gha-ci-readonly", "eu-west-1", "eu-west-1", "repo:acme/api:ref:refs/heads/feature/search", "pull", "api"),
        ("2026-10-03T16:30:00Z", "gha-docs", "us-east-1", "us-east-1", "repo:acme/docs:ref:refs/heads/main", "docs", None),
        ("2026-10-03T17:48:09Z", "gha-release", "us-east-1", "us-east-1", "repo:acme/web:ref:refs/tags/v2.4.2", "push", "web"),
    ]
    for start, role, sts_region, region, sub, kind, repo in jobs:
        t = T(start)
        s = assume_success(R(MAIN, role), sts_region, t, sub, old_ua=role.startswith("Githubacitions"))
        t += timedelta(seconds=RNG.randint(6, 12))
        if kind in ("push", "pull"):
            ecr_login(s, region, t)
            t += timedelta(seconds=RNG.randint(60, 200))
            if kind == "push":
                tag = sub.rsplit("/", 1)[1] if "refs/tags/" in sub else sha()
                ecr_push(s, region, t, repo, tag)
            else:
                ecr_pull(s, region, t, repo, "main")
        else:   # docs: upload the site
            for page in ("index.html", "guide/oidc.html", "assets/site.css"):
                t += timedelta(seconds=RNG.randint(1, 4))
                s3_event(s.identity(), MAIN, region, t, "PutObject", "acme-docs-site-111122223333", page, s.ip,
                         "aws-cli/2.27.41 md/awscrt#0.26.1 ua/2.1 os/linux#6.8.0-1021-azure md/arch#x86_64 "
                         "lang/python#3.13.4 md/pyimpl#CPython m/E cfg/retry-mode#standard md/installer#exe "
                         "md/distrib#ubuntu.24 md/prompt#off md/command#s3.sync")


def s3_event(identity, acct, region, t, name, bucket, key, ip, ua, error=None):
    host = f"{bucket}.s3.{region}.amazonaws.com"
    out = 0 if name != "GetObject" else RNG.randint(300, 250000)
    add = {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
           "bytesTransferredIn": RNG.randint(300, 90000) if name == "PutObject" else 0,
           "AuthenticationMethod": "AuthHeader", "x-amz-id-2": rand_str(76, B64), "bytesTransferredOut": out}
    if name == "ListObjects":
        req = {"list-type": "2", "bucketName": bucket, "encoding-type": "url", "prefix": key, "Host": host}
        resources = [{"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    else:
        req = {"bucketName": bucket, "Host": host, "key": key}
        resources = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                     {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    resp = None
    if name == "PutObject" and not error:
        resp = {"x-amz-server-side-encryption": "AES256"}
    rec = record("1.09", identity, t, "s3.amazonaws.com", name, region, ip, ua, req, resp, acct=acct,
                 read_only=name != "PutObject", error=error, additional=add, resources=resources,
                 request_id=rand_str(16, "0123456789ABCDEF"), category="Data", host=host)
    return emit(acct, region, t, rec)


SERVICE_SESSIONS = {}


def service_session(acct, role_name, region):
    key = (acct, role_name, region)
    if key not in SERVICE_SESSIONS:
        role = ROLE[(acct, role_name)]
        name = ("i-0" + rand_str(16, "0123456789abcdef")) if "lambda" not in role_name else "image-resizer"
        SERVICE_SESSIONS[key] = Session(role, T("2026-09-30T23:10:00Z") + timedelta(minutes=RNG.randint(0, 40)), name,
                       ip=rand_ip_vpc() if "lambda" not in role_name else f"3.{RNG.randint(80, 95)}.{RNG.randint(0, 255)}.{RNG.randint(1, 254)}")
    return SERVICE_SESSIONS[key]


def touch_last_used(role, t, region):
    if role.last_used is None or role.last_used[0] < t:
        role.last_used = (t, region)


def noise_event(acct, region, t):
    """One ordinary, successful event of a random kind."""
    if acct == MAIN:
        bucket = {"us-east-1": "acme-app-data-111122223333", "eu-west-1": "acme-app-data-eu-111122223333",
                  "ap-northeast-1": "acme-app-data-apne1-111122223333"}[region]
        kind = RNG.choice(["s3get", "s3get", "s3put", "kms", "ec2", "lambda", "logs", "caller", "s3get"])
        app = service_session(MAIN, "app-server", region)
        touch_last_used(app.role, t, region)
    elif acct == PROD:
        bucket = f"acme-prod-assets-{region}-444455556666"
        kind = RNG.choice(["s3get", "s3get", "kms", "ec2", "ecrpull", "caller"])
        app = service_session(PROD, "prod-app", region)
        touch_last_used(app.role, t, region)
    else:
        bucket = "sandbox-scratch-777788889999"
        kind = RNG.choice(["s3get", "caller", "ec2"])
        app = None
    if kind in ("s3get", "s3put"):
        key = RNG.choice(["reports/2026/10/daily.parquet", "uploads/avatars/u-%05d.png" % RNG.randint(1, 99999),
                          "config/app.json", "exports/batch-%04d.csv.gz" % RNG.randint(1, 9999)])
        if app is None:
            ident, ip, ua = user_identity_iam(USER_SANDBOX), rand_ip_office(), UA_CLI.format(cmd="s3.cp")
        else:
            ident, ip, ua = app.identity(), app.ip, UA_BOTO
        s3_event(ident, acct, region, t, "GetObject" if kind == "s3get" else "PutObject", bucket, key, ip, ua)
    elif kind == "kms":
        key_arn = kms_key(acct, region)
        rec = record("1.08", app.identity(), t, "kms.amazonaws.com", "Decrypt", region, app.ip, UA_BOTO,
                     {"encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}/config/app.json"},
                      "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}, None, acct=acct, read_only=True,
                     resources=[{"accountId": acct, "type": "AWS::KMS::Key", "ARN": key_arn}],
                     host=f"kms.{region}.amazonaws.com")
        emit(acct, region, t, rec)
    elif kind == "ec2":
        if app is None:
            ident, ip, ua = user_identity_iam(USER_SANDBOX), rand_ip_office(), UA_CLI.format(cmd="ec2.describe-instances")
        else:
            ident, ip, ua = app.identity(), app.ip, UA_BOTO
        rec = record("1.09", ident, t, "ec2.amazonaws.com", "DescribeInstances", region, ip, ua,
                     {"instancesSet": {}, "filterSet": {"items": [{"name": "tag:app", "valueSet": {"items": [{"value": "web"}]}}]}},
                     None, acct=acct, read_only=True, host=f"ec2.{region}.amazonaws.com")
        emit(acct, region, t, rec)
    elif kind == "lambda":
        fn = f"arn:aws:lambda:{region}:{acct}:function:image-resizer"
        rec = record("1.09", app.identity(), t, "lambda.amazonaws.com", "Invoke", region, app.ip, UA_BOTO,
                     {"functionName": fn, "invocationType": "Event"}, None, acct=acct, read_only=False,
                     additional={"functionVersion": f"{fn}:$LATEST"},
                     resources=[{"accountId": acct, "type": "AWS::Lambda::Function", "ARN": fn}],
                     category="Data", host=f"lambda.{region}.amazonaws.com")
        emit(acct, region, t, rec)
    elif kind == "logs":
        lam = service_session(MAIN, "image-resizer-lambda", region)
        touch_last_used(lam.role, t, region)
        rec = record("1.09", lam.identity(), t, "logs.amazonaws.com", "PutLogEvents", region, lam.ip, UA_LAMBDA,
                     {"logGroupName": "/aws/lambda/image-resizer",
                      "logStreamName": "2026/%02d/%02d/[$LATEST]%s" % (t.month, t.day, rand_str(32, "0123456789abcdef"))},
                     None, acct=acct, read_only=False,
                     resources=[{"accountId": acct, "type": "AWS::Logs::LogGroup",
                                 "ARN": f"arn:aws:logs:{region}:{acct}:log-group:/aws/lambda/image-resizer"}],
                     category="Data", host=f"logs.{region}.amazonaws.com")
        emit(acct, region, t, rec)
    elif kind == "ecrpull":
        ecr_api(app, region, t, "BatchGetImage",
                {"repositoryName": "shared/base", "registryId": PROD, "imageIds": [{"imageTag": "stable"}],
                 "acceptedMediaTypes": ["application/vnd.oci.image.manifest.v1+json"]}, None, read_only=True,
                registry=PROD, ua=UA_DOCKER_EC2)
    else:   # caller
        if app is None:
            ident, ip, ua = user_identity_iam(USER_SANDBOX), rand_ip_office(), UA_CLI.format(cmd="sts.get-caller-identity")
        else:
            ident, ip, ua = app.identity(), app.ip, UA_BOTO
        rec = record("1.08", ident, t, "sts.amazonaws.com", "GetCallerIdentity", region, ip, ua, None, None,
                     acct=acct, read_only=True, host=f"sts.{region}.amazonaws.com")
        emit(acct, region, t, rec)


def build_noise():
    ci_jobs()
    # Background clusters: a handful of ordinary events around each story/CI window, plus
    # independent bursts of activity.
    anchors = sorted({(e["acct"], e["region"], e["time"].replace(second=0)) for e in ENTRIES},
                     key=lambda a: (a[0], a[1], a[2]))
    seen = set()
    for acct, region, t in anchors:
        slot = (acct, region, int(t.timestamp()) // 600)
        if slot in seen:
            continue
        seen.add(slot)
        for _ in range(RNG.randint(1, 4)):
            noise_event(acct, region, t + timedelta(seconds=RNG.randint(-120, 240)))
    plan = [(MAIN, "us-east-1", 16), (MAIN, "eu-west-1", 8), (MAIN, "ap-northeast-1", 6),
            (PROD, "us-east-1", 9), (PROD, "eu-west-1", 4), (SANDBOX, "us-east-1", 2)]
    day0 = T("2026-10-01T00:00:00Z")
    for acct, region, n in plan:
        for _ in range(n):
            start = day0 + timedelta(seconds=RNG.randint(5 * 3600, 3 * 86400 - 5 * 3600))
            for _ in range(RNG.randint(3, 9)):
                noise_event(acct, region, start + timedelta(seconds=RNG.randint(0, 420)))
    # A burst that ends just before midnight: its file is delivered on the next day's prefix.
    for _ in range(4):
        noise_event(MAIN, "us-east-1", T("2026-10-01T23:54:00Z") + timedelta(seconds=RNG.randint(0, 300)))
    # Humans denied (noise: IAM users, not CI sessions).
    carol, dave = USER["carol"], USER["dave"]
    s3_event(user_identity_iam(carol), MAIN, "us-east-1", T("2026-10-01T14:12:37Z"), "ListObjects",
             "acme-finance-reports-111122223333", "2026/", rand_ip_office(), UA_CLI.format(cmd="s3.ls"),
             error=("AccessDenied", "Access Denied"))
    t = T("2026-10-02T09:20:11Z")
    emit(MAIN, "us-east-1", t, record(
        "1.09", user_identity_iam(dave), t, "ec2.amazonaws.com", "DescribeInstances", "us-east-1",
        rand_ip_office(), UA_CLI.format(cmd="ec2.describe-instances"), {"instancesSet": {}, "filterSet": {}}, None,
        acct=MAIN, read_only=True, host="ec2.us-east-1.amazonaws.com",
        error=("Client.UnauthorizedOperation",
               "You are not authorized to perform this operation. User: arn:aws:iam::111122223333:user/dave is not "
               "authorized to perform: ec2:DescribeInstances because no identity-based policy allows the "
               "ec2:DescribeInstances action")))
    t = T("2026-10-03T09:41:52Z")
    emit(MAIN, "us-east-1", t, record(
        "1.09", user_identity_iam(dave), t, "ecr.amazonaws.com", "DescribeRepositories", "us-east-1",
        rand_ip_office(), UA_CLI.format(cmd="ecr.describe-repositories"), {"maxResults": 100}, None,
        acct=MAIN, read_only=True, host="api.ecr.us-east-1.amazonaws.com",
        error=("AccessDeniedException",
               "User: arn:aws:iam::111122223333:user/dave is not authorized to perform: ecr:DescribeRepositories "
               "on resource: arn:aws:ecr:us-east-1:111122223333:repository/* because no identity-based policy "
               "allows the ecr:DescribeRepositories action")))
    # A human reading IAM (management event, success).
    t = T("2026-10-02T10:29:12Z")
    emit(MAIN, "us-east-1", t, record(
        "1.08", user_identity_iam(USER["alice"]), t, "iam.amazonaws.com", "GetRole", "us-east-1", rand_ip_office(),
        UA_CLI.format(cmd="iam.get-role"), {"roleName": "gha-release"}, None, acct=MAIN, read_only=True,
        host="iam.amazonaws.com"), kind="iam")


# --------------------------------------------------------------------------- files

def trail_prefix(acct, kind="CloudTrail"):
    if acct == PROD:
        return f"AWSLogs/{ORG_ID}/{acct}/{kind}"
    return f"AWSLogs/{acct}/{kind}"


def group_files():
    partners = {}
    for a, b in SEPARATE:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    by_key = {}
    for e in ENTRIES:
        by_key.setdefault((e["acct"], e["region"]), []).append(e)
    files = []
    for key in sorted(by_key):
        evs = sorted(by_key[key], key=lambda e: (e["time"], e["record"]["eventID"]))
        buckets = {}
        for e in evs:
            buckets.setdefault(int(e["time"].timestamp()) // 300, []).append(e)
        cur = None
        for b in sorted(buckets):
            bevs = buckets[b]
            ids = {e["record"]["eventID"] for e in bevs}
            for i in ids:
                assert not (partners.get(i, set()) & ids), "assumption and use share a 5-minute bucket"
            conflict = cur is not None and any(partners.get(i, set()) & cur["ids"] for i in ids)
            if cur is not None and b - cur["start"] < cur["span"] and not conflict:
                cur["entries"].extend(bevs)
                cur["ids"] |= ids
            else:
                cur = {"acct": key[0], "region": key[1], "start": b, "span": RNG.choice([1, 2, 2, 3]),
                       "entries": list(bevs), "ids": set(ids)}
                files.append(cur)
    # Late delivery: move one ordinary record of an early file into the next file of the same
    # account/region (a file named at T can hold records from well before T).
    candidates = []
    for i in range(len(files) - 1):
        f, g = files[i], files[i + 1]
        if (f["acct"], f["region"]) != (g["acct"], g["region"]) or f["acct"] != MAIN:
            continue
        if len(f["entries"]) > 2 and any(e["kind"] == "noise" for e in f["entries"]) \
                and (g["start"] - f["start"]) * 300 < 3600:
            candidates.append(i)
    for i in (candidates[3], candidates[len(candidates) // 2]):
        f, g = files[i], files[i + 1]
        e = next(e for e in f["entries"] if e["kind"] == "noise")
        f["entries"].remove(e)
        g["entries"].append(e)
    for f in files:
        latest = max(e["time"] for e in f["entries"])
        delivered = latest + timedelta(seconds=RNG.randint(150, 600))
        f["delivered"] = delivered.replace(second=0)
        stamp = f["delivered"].strftime("%Y%m%dT%H%MZ")
        d = f["delivered"]
        f["path"] = (f"{trail_prefix(f['acct'])}/{f['region']}/{d:%Y}/{d:%m}/{d:%d}/"
                     f"{f['acct']}_CloudTrail_{f['region']}_{stamp}_{rand_str(16, ALNUM)}.json.gz")
        RNG.shuffle(f["entries"])
        for e in f["entries"]:
            e["path"] = f["path"]
    return files


def dumps_line(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def write(out, rel, data):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    return len(data)


def gz(text):
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def write_logs(out, files):
    total = 0
    for f in files:
        body = dumps_line({"Records": [e["record"] for e in f["entries"]]})
        f["sha256"] = hashlib.sha256(body.encode("utf-8")).hexdigest()
        total += write(out, f["path"], gz(body))
    return total


def write_digests(out, files):
    """CloudTrail digest files for the main account: one per region and hour, from the hour of
    the region's first delivery to that of its last, chained as CloudTrail chains them, each
    listing the log files delivered in its hour with their SHA-256 (of the uncompressed file).
    Unsigned: the signature lives in S3 object metadata, which local copies do not keep, so
    `--verify` checks hashes and the chain here and says "not signature-verified"."""
    bucket = TRAIL_BUCKET[MAIN]
    fingerprint = "%032x" % RNG.getrandbits(128)
    # the generator's random stream stays as it was when fewer digests were written, so every
    # other file keeps its bytes
    RNG.getrandbits(2048)
    RNG.getrandbits(2048)
    mine = [f for f in files if f["acct"] == MAIN]
    total, count = 0, 0
    for region in sorted({f["region"] for f in mine}):
        here = [f for f in mine if f["region"] == region]
        first = min(f["delivered"] for f in here).replace(minute=0, second=0, microsecond=0)
        last = max(f["delivered"] for f in here)
        prev = None
        t0 = first
        while t0 <= last:
            t1 = t0 + timedelta(hours=1)
            logs = sorted((f for f in here if t0 <= f["delivered"] < t1), key=lambda f: f["path"])
            name = f"{MAIN}_CloudTrail-Digest_{region}_{TRAIL_NAME[MAIN]}_{region}_{t1:%Y%m%dT%H%M%SZ}.json.gz"
            rel = f"{trail_prefix(MAIN, 'CloudTrail-Digest')}/{region}/{t1:%Y}/{t1:%m}/{t1:%d}/{name}"
            times = [e["time"] for f in logs for e in f["entries"]]
            body = {"awsAccountId": MAIN, "digestStartTime": fmt(t0), "digestEndTime": fmt(t1),
                    "digestS3Bucket": bucket, "digestS3Object": rel,
                    "digestPublicKeyFingerprint": fingerprint, "digestSignatureAlgorithm": "SHA256withRSA",
                    "newestEventTime": fmt(max(times)) if times else None,
                    "oldestEventTime": fmt(min(times)) if times else None,
                    "previousDigestS3Bucket": bucket if prev else None,
                    "previousDigestS3Object": prev[0] if prev else None,
                    "previousDigestHashValue": prev[1] if prev else None,
                    "previousDigestHashAlgorithm": "SHA-256" if prev else None,
                    "previousDigestSignature": prev[2] if prev else None,
                    "logFiles": [{"s3Bucket": bucket, "s3Object": f["path"], "hashValue": f["sha256"],
                                  "hashAlgorithm": "SHA-256",
                                  "newestEventTime": fmt(max(e["time"] for e in f["entries"])),
                                  "oldestEventTime": fmt(min(e["time"] for e in f["entries"]))} for f in logs]}
            text = dumps_line(body)
            # a stand-in for the signature CloudTrail would have put in the object's metadata
            signature = (hashlib.sha256(rel.encode("utf-8")).hexdigest() * 8)[:512]
            prev = (rel, hashlib.sha256(text.encode("utf-8")).hexdigest(), signature)
            total += write(out, rel, gz(text))
            count += 1
            t0 = t1
    return count, total


def write_insight(out):
    """One CloudTrail Insights file: its records look like log records but are not API calls."""
    shared = new_uuid()
    attrs = [{"attribute": "userIdentityArn",
              "insight": [{"value": provider_arn(MAIN), "average": 12.0}],
              "baseline": [{"value": provider_arn(MAIN), "average": 0.0014}]},
             {"attribute": "userAgent", "insight": [{"value": "configure-aws-credentials-for-github-actions",
                                                      "average": 12.0}],
              "baseline": [{"value": "configure-aws-credentials-for-github-actions", "average": 0.0014}]},
             {"attribute": "errorCode", "insight": [{"value": "AccessDenied", "average": 12.0}],
              "baseline": [{"value": "AccessDenied", "average": 0.0014}]}]
    recs = []
    for state, t in (("Start", "2026-10-01T10:32:00Z"), ("End", "2026-10-01T10:34:00Z")):
        ctx = {"statistics": {"baseline": {"average": 0.0014}, "insight": {"average": 6.0},
                              "baselineDuration": 10080}, "attributions": attrs}
        if state == "End":
            ctx["statistics"]["insightDuration"] = 2
        recs.append({"eventVersion": "1.08", "eventTime": t, "awsRegion": "us-east-1", "eventID": new_uuid(),
                     "eventType": "AwsCloudTrailInsight", "recipientAccountId": MAIN, "sharedEventID": shared,
                     "insightDetails": {"state": state, "eventSource": "sts.amazonaws.com",
                                        "eventName": "AssumeRoleWithWebIdentity",
                                        "insightType": "ApiErrorRateInsight", "errorCode": "AccessDenied",
                                        "insightContext": ctx},
                     "eventCategory": "Insight"})
    rel = (f"{trail_prefix(MAIN, 'CloudTrail-Insight')}/us-east-1/2026/10/01/"
           f"{MAIN}_CloudTrail-Insight_us-east-1_20261001T1049Z_{rand_str(16, ALNUM)}.json.gz")
    return write(out, rel, gz(dumps_line({"Records": recs})))


# --------------------------------------------------------------------------- inventory

def encode_policy(d):
    return urllib.parse.quote(json.dumps(d, separators=(",", ":")), safe="")


MANAGED = {
    "ecr-pull": {"versions": [("v1", ECR_PULL_V1, "2026-04-02T14:38:00Z"), ("v2", ECR_PULL_V2, "2026-07-08T07:20:11Z")],
                 "created": "2026-04-02T14:38:00Z", "description": "Pull images from any repository"},
    "developer-read": {"versions": [("v1", DEVELOPER_READ, "2025-09-22T13:30:00Z")], "created": "2025-09-22T13:30:00Z",
                       "description": "Read application buckets and logs"},
}
MANAGED_IDS = {name: "ANPA" + rand_str(17, UPPER_DIGITS) for name in MANAGED}


def authorization_details(acct, roles, users, groups, encoded):
    date = fmt_cli if not encoded else fmt
    pol = (lambda d: encode_policy(d)) if encoded else (lambda d: d)
    snapshot = T(SNAPSHOT_TIME)
    attach_count = {}
    for r in roles:
        for p in r.attached:
            attach_count[p] = attach_count.get(p, 0) + 1
    for g in groups:
        for p in g.get("attached", []):
            attach_count[p] = attach_count.get(p, 0) + 1

    def attached(names):
        return [{"PolicyName": n, "PolicyArn": f"arn:aws:iam::{acct}:policy/{n}"} for n in names]

    user_list = [{"Path": "/", "UserName": u.name, "UserId": u.user_id, "Arn": u.arn, "CreateDate": date(u.created),
                  "UserPolicyList": [], "GroupList": u.groups, "AttachedManagedPolicies": [], "Tags": []}
                 for u in users]
    group_list = [{"Path": "/", "GroupName": g["name"], "GroupId": g["id"],
                   "Arn": f"arn:aws:iam::{acct}:group/{g['name']}", "CreateDate": date(T(g["created"])),
                   "GroupPolicyList": [{"PolicyName": k, "PolicyDocument": pol(v)} for k, v in g.get("inline", {}).items()],
                   "AttachedManagedPolicies": attached(g.get("attached", []))} for g in groups]
    role_list = []
    for r in roles:
        entry = {"Path": r.path, "RoleName": r.name, "RoleId": r.role_id, "Arn": r.arn, "CreateDate": date(r.created),
                 "AssumeRolePolicyDocument": pol(r.trust), "InstanceProfileList": [],
                 "RolePolicyList": [{"PolicyName": k, "PolicyDocument": pol(v)} for k, v in r.inline.items()],
                 "AttachedManagedPolicies": attached(r.attached), "Tags": r.tags}
        if r.last_used and r.last_used[0] <= snapshot:
            entry["RoleLastUsed"] = {"LastUsedDate": date(r.last_used[0]), "Region": r.last_used[1]}
        else:
            entry["RoleLastUsed"] = {}
        if r.description:
            entry["Description"] = r.description
        role_list.append(entry)
    policies = []
    for name in sorted(attach_count):
        m = MANAGED[name]
        versions = m["versions"]
        policies.append({"PolicyName": name, "PolicyId": MANAGED_IDS[name], "Arn": f"arn:aws:iam::{acct}:policy/{name}",
                         "Path": "/", "DefaultVersionId": versions[-1][0], "AttachmentCount": attach_count[name],
                         "PermissionsBoundaryUsageCount": 0, "IsAttachable": True, "Description": m["description"],
                         "CreateDate": date(T(m["created"])), "UpdateDate": date(T(versions[-1][2])),
                         "PolicyVersionList": [{"Document": pol(d), "VersionId": v,
                                                "IsDefaultVersion": v == versions[-1][0],
                                                "CreateDate": date(T(c))} for v, d, c in reversed(versions)]})
    return {"UserDetailList": user_list, "GroupDetailList": group_list, "RoleDetailList": role_list,
            "Policies": policies, "IsTruncated": False}


def write_inventory(out):
    groups_main = [
        {"name": "admins", "id": "AGPA" + rand_str(17, UPPER_DIGITS), "created": "2025-02-03T09:10:00Z",
         "inline": {"admin-all": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}},
        {"name": "developers", "id": "AGPA" + rand_str(17, UPPER_DIGITS), "created": "2025-09-22T13:35:00Z",
         "attached": ["developer-read"]},
    ]
    pretty = lambda o: json.dumps(o, indent=4, ensure_ascii=False) + "\n"  # noqa: E731
    n = 0
    n += write(out, f"iam/{MAIN}-authorization-details.json",
               pretty(authorization_details(MAIN, ROLES_MAIN, USERS_MAIN, groups_main, encoded=False)).encode())
    n += write(out, f"iam/{PROD}-authorization-details.json",
               pretty(authorization_details(PROD, ROLES_PROD, [USER_PROD], [], encoded=True)).encode())
    n += write(out, f"iam/{MAIN}-oidc-providers.json", pretty({"OpenIDConnectProviderList": [
        {"Arn": provider_arn(MAIN), "Url": GH_HOST, "ClientIDList": [STS_AUD, "https://github.com/acme"],
         "ThumbprintList": ["1b511abead59c6ce207077c0bf0e0043b1382612"],
         "CreateDate": "2025-11-04T09:12:40.118000+00:00", "Tags": []}]}).encode())
    n += write(out, f"iam/{PROD}-oidc-providers.json", pretty({"OpenIDConnectProviderList": []}).encode())
    web_policy = doc({"Sid": "PullFromProdAccount", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PROD}:root"},
                      "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]})
    n += write(out, f"iam/{MAIN}-ecr-web-policy.json", pretty(
        {"registryId": MAIN, "repositoryName": "web", "policyText": json.dumps(web_policy, indent=2)}).encode())
    return 5, n


# --------------------------------------------------------------------------- CodeBuild runner story

# The seed's second incident (shared/seeds/codebuild-jit-runner-failure.md): a CodeBuild project
# runs GitHub Actions jobs on self-hosted runners (webhook on WORKFLOW_JOB_QUEUED). Its GitHub
# credential is the account's personal access token that alice imported for her GitHub user
# alice-acme. On 2026-10-05 her role on acme/web goes from admin to write (a GitHub change, not in
# CloudTrail): from then on every build fails in DOWNLOAD_SOURCE because creating a just-in-time
# runner needs repository admin. Everything here draws from its own RNG and is written after the
# trail above, so the other stories' bytes do not depend on it.

CB_RNG = random.Random(20261005)
CB_PROJECT = "acme-web-runner"
CB_REGION = "us-east-1"
CB_REPO = "https://github.com/acme/web"
CB_GH_USER = "alice-acme"
CB_TOKEN_PREFIX = "PATSECRETsample"     # the imported token; must never appear in any output
CB_SEED_START = datetime(2025, 9, 5, 6, 49, 2, 98320, tzinfo=timezone.utc)
CB_SEED_LOG = [  # (time in the seed, text after the time), exactly as in the seed's log
    ("06:49:02.098320", "Running on CodeBuild On-demand"),
    ("06:49:02.098330", "Waiting for agent ping"),
    ("06:49:02.199392", "Waiting for DOWNLOAD_SOURCE"),
    ("06:49:02.706838", "Phase is DOWNLOAD_SOURCE"),
    ("06:49:02.707850", "CODEBUILD_SRC_DIR=/codebuild/output/src48989638/src"),
    ("06:49:02.707969", "YAML location is /codebuild/readonly/buildspec.yml"),
    ("06:49:02.710408", "Processing environment variables"),
    ("06:49:02.846944", "No runtime version selected in buildspec."),
    ("06:49:10.480905", "Error while fetching runner token: error code 400: GitHub runner JIT configuration "
                        "unavailable: ResourceNotFoundException: Unexpected error from GitHub while creating "
                        "runner JIT configuration, please try again later"),
    ("06:49:10.480928", "Phase complete: DOWNLOAD_SOURCE State: FAILED"),
    ("06:49:10.480942", "Phase context status code: CLIENT_ERROR Message: Error while fetching runner token: "
                        "error code 400: GitHub runner JIT configuration unavailable: ResourceNotFoundException: "
                        "Unexpected error from GitHub while creating runner JIT configuration, please try again later"),
]
CB_JIT_MESSAGE = CB_SEED_LOG[-1][1].split(" Message: ", 1)[1]


def cb_uuid():
    return str(uuid.UUID(int=CB_RNG.getrandbits(128), version=4))


def cb_record(user, t, name, req, resp, read_only=False):
    return {"eventVersion": "1.08", "userIdentity": user_identity_iam(user), "eventTime": fmt(t),
            "eventSource": "codebuild.amazonaws.com", "eventName": name, "awsRegion": CB_REGION,
            "sourceIPAddress": "203.0.113.24",
            "userAgent": UA_CLI.format(cmd="codebuild." + "".join("-" + c.lower() if c.isupper() else c
                                                                  for c in name).lstrip("-")),
            "requestParameters": req, "responseElements": resp, "requestID": cb_uuid(), "eventID": cb_uuid(),
            "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
            "recipientAccountId": MAIN, "eventCategory": "Management",
            "tlsDetails": tls(f"codebuild.{CB_REGION}.amazonaws.com")}


def eb_time(t):
    # EventBridge's build times: "Oct 5, 2026 1:02:11 PM" (UTC)
    hour = t.hour % 12 or 12
    return f"{t.strftime('%b')} {t.day}, {t.year} {hour}:{t.strftime('%M:%S')} {'AM' if t.hour < 12 else 'PM'}"


def cli_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}000+00:00"


class CbBuild:
    def __init__(self, number, start, failed):
        self.number, self.failed = number, failed
        self.uuid = cb_uuid()
        self.id = f"{CB_PROJECT}:{self.uuid}"
        self.arn = f"arn:aws:codebuild:{CB_REGION}:{MAIN}:build/{self.id}"
        # the API's start time has milliseconds; EventBridge's is cut to the second
        self.start = start + timedelta(milliseconds=CB_RNG.randint(1, 999))
        t = self.start
        self.phases = []
        plan = [("SUBMITTED", 0), ("QUEUED", 1), ("PROVISIONING", CB_RNG.randint(30, 45)),
                ("DOWNLOAD_SOURCE", 8)]
        if not failed:
            plan += [("INSTALL", 1), ("PRE_BUILD", 1), ("BUILD", CB_RNG.randint(90, 420)), ("POST_BUILD", 1),
                     ("UPLOAD_ARTIFACTS", 0)]
        plan += [("FINALIZING", 2)]
        for kind, secs in plan:
            end = t + timedelta(seconds=secs, milliseconds=CB_RNG.randint(0, 999) if secs else 0)
            status = "FAILED" if failed and kind == "DOWNLOAD_SOURCE" else "SUCCEEDED"
            self.phases.append((kind, status, t, end))
            if kind == "PROVISIONING":
                self.container_start = end
            t = end
        self.end = t

    def eventbridge(self):
        phases = []
        for kind, status, t0, t1 in self.phases:
            ctx = [f"CLIENT_ERROR: {CB_JIT_MESSAGE}"] if status == "FAILED" else []
            phases.append({"phase-context": ctx, "start-time": eb_time(t0), "end-time": eb_time(t1),
                           "duration-in-seconds": int((t1 - t0).total_seconds()), "phase-type": kind,
                           "phase-status": status})
        phases.append({"start-time": eb_time(self.end), "phase-type": "COMPLETED"})
        status = "FAILED" if self.failed else "SUCCEEDED"
        return {"version": "0", "id": cb_uuid(), "detail-type": "CodeBuild Build State Change",
                "source": "aws.codebuild", "account": MAIN, "time": fmt(self.end + timedelta(seconds=2)),
                "region": CB_REGION, "resources": [self.arn],
                "detail": {"build-status": status, "project-name": CB_PROJECT, "build-id": self.arn,
                           "additional-information": {
                               "cache": {"type": "NO_CACHE"}, "timeout-in-minutes": 60, "build-complete": True,
                               "initiator": "GitHub-Hookshot/3e4c0a1", "build-start-time": eb_time(self.start),
                               "source": {"report-build-status": False, "location": CB_REPO, "git-clone-depth": 1,
                                          "type": "GITHUB"},
                               "logs": {"group-name": f"/aws/codebuild/{CB_PROJECT}", "stream-name": self.uuid,
                                        "deep-link": f"https://console.aws.amazon.com/cloudwatch/home?region={CB_REGION}"
                                                     f"#logEvent:group=/aws/codebuild/{CB_PROJECT};stream={self.uuid}"},
                               "build-number": float(self.number), "phases": phases},
                           "current-phase": "COMPLETED", "current-phase-context": "[: ]", "version": "1"}}

    def api(self):
        phases = []
        for kind, status, t0, t1 in self.phases:
            p = {"phaseType": kind, "phaseStatus": status, "startTime": cli_time(t0), "endTime": cli_time(t1),
                 "durationInSeconds": int((t1 - t0).total_seconds())}
            if status == "FAILED":
                p["contexts"] = [{"statusCode": "CLIENT_ERROR", "message": CB_JIT_MESSAGE}]
            phases.append(p)
        phases.append({"phaseType": "COMPLETED", "startTime": cli_time(self.end)})
        return {"id": self.id, "arn": self.arn, "buildNumber": self.number, "startTime": cli_time(self.start),
                "endTime": cli_time(self.end), "currentPhase": "COMPLETED",
                "buildStatus": "FAILED" if self.failed else "SUCCEEDED", "projectName": CB_PROJECT,
                "phases": phases,
                "source": {"type": "GITHUB", "location": CB_REPO, "gitCloneDepth": 1,
                           "gitSubmodulesConfig": {"fetchSubmodules": False}, "reportBuildStatus": False,
                           "insecureSsl": False},
                "secondarySources": [], "secondarySourceVersions": [], "artifacts": {"location": ""},
                "cache": {"type": "NO_CACHE"},
                "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                                "computeType": "BUILD_GENERAL1_SMALL", "environmentVariables": [],
                                "privilegedMode": False, "imagePullCredentialsType": "CODEBUILD"},
                "serviceRole": f"arn:aws:iam::{MAIN}:role/service-role/codebuild-{CB_PROJECT}-service-role",
                "logs": {"groupName": f"/aws/codebuild/{CB_PROJECT}", "streamName": self.uuid,
                         "deepLink": f"https://console.aws.amazon.com/cloudwatch/home?region={CB_REGION}"
                                     f"#logEvent:group=/aws/codebuild/{CB_PROJECT};stream={self.uuid}",
                         "cloudWatchLogsArn": f"arn:aws:logs:{CB_REGION}:{MAIN}:log-group:/aws/codebuild/"
                                              f"{CB_PROJECT}:log-stream:{self.uuid}"},
                "timeoutInMinutes": 60, "queuedTimeoutInMinutes": 480, "buildComplete": True,
                "initiator": "GitHub-Hookshot/3e4c0a1", "encryptionKey": f"arn:aws:kms:{CB_REGION}:{MAIN}:alias/aws/s3"}

    def log(self):
        lines = []
        for stamp, text in CB_SEED_LOG:
            seed_t = datetime.strptime("2025-09-05 " + stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)
            t = self.container_start + (seed_t - CB_SEED_START)
            lines.append(f"[Container] {t.strftime('%Y/%m/%d %H:%M:%S.%f')} {text}\n")
        return "".join(lines)


def build_codebuild_story(out):
    """Writes the story's trail file and build inputs; returns (expected entry, files, records, bytes)."""
    alice = USER["alice"]
    t = T("2026-09-14T09:12:40Z")
    token = CB_TOKEN_PREFIX + "".join(CB_RNG.choice(ALNUM) for _ in range(24))
    imported = cb_record(alice, t, "ImportSourceCredentials",
                         {"serverType": "GITHUB", "authType": "PERSONAL_ACCESS_TOKEN", "username": CB_GH_USER,
                          "token": token, "shouldOverwrite": True},
                         {"arn": f"arn:aws:codebuild:{CB_REGION}:{MAIN}:token/github"})
    project_arn = f"arn:aws:codebuild:{CB_REGION}:{MAIN}:project/{CB_PROJECT}"
    role = f"arn:aws:iam::{MAIN}:role/service-role/codebuild-{CB_PROJECT}-service-role"
    source = {"type": "GITHUB", "location": CB_REPO, "gitCloneDepth": 1, "reportBuildStatus": False,
              "insecureSsl": False}
    environment = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                   "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": False}
    created = cb_record(alice, t + timedelta(seconds=142), "CreateProject",
                        {"name": CB_PROJECT, "description": "GitHub Actions runners for acme/web",
                         "source": source, "artifacts": {"type": "NO_ARTIFACTS"}, "environment": environment,
                         "serviceRole": role, "timeoutInMinutes": 60},
                        {"project": {"name": CB_PROJECT, "arn": project_arn, "source": source,
                                     "artifacts": {"type": "NO_ARTIFACTS"}, "environment": environment,
                                     "serviceRole": role, "timeoutInMinutes": 60,
                                     "created": "Sep 14, 2026, 9:15:02 AM", "lastModified": "Sep 14, 2026, 9:15:02 AM"}})
    groups = [[{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]]
    hook = cb_record(alice, t + timedelta(seconds=230), "CreateWebhook",
                     {"projectName": CB_PROJECT, "filterGroups": groups, "buildType": "BUILD"},
                     {"webhook": {"url": CB_REPO.replace("https://github.com/", "https://api.github.com/repos/")
                                  + "/hooks/523801174",
                                  "payloadUrl": f"https://codebuild.{CB_REGION}.amazonaws.com/webhooks?t=eyJlbmNyeXB0ZWREYXRhIjoi"
                                                f"&v=1", "filterGroups": groups, "buildType": "BUILD",
                                  "lastModifiedSecret": "Sep 14, 2026, 9:16:30 AM"}})
    records = [imported, created, hook]
    delivered = T("2026-09-14T09:21:00Z")
    trail = (f"{trail_prefix(MAIN)}/{CB_REGION}/2026/09/14/"
             f"{MAIN}_CloudTrail_{CB_REGION}_{delivered:%Y%m%dT%H%MZ}_{''.join(CB_RNG.choice(ALNUM) for _ in range(16))}.json.gz")
    size = write(out, trail, gz(dumps_line({"Records": records})))

    # 8 green runner builds in the morning, then every build fails from 13:02 on.
    starts = [T("2026-10-05T09:03:27Z") + timedelta(minutes=m) for m in (0, 26, 51, 78, 104, 139, 171, 208)]
    fail_starts = [T(x) for x in ("2026-10-05T13:02:11Z", "2026-10-05T13:09:48Z", "2026-10-05T13:31:05Z",
                                  "2026-10-05T14:12:37Z", "2026-10-05T15:20:19Z", "2026-10-05T15:47:52Z")]
    builds = [CbBuild(212 + i, s, False) for i, s in enumerate(starts)]
    builds += [CbBuild(220 + i, s, True) for i, s in enumerate(fail_starts)]
    failed = [b for b in builds if b.failed]
    events = "".join(dumps_line(b.eventbridge()) + "\n" for b in builds)
    size += write(out, f"codebuild/eventbridge/{CB_PROJECT}-build-state-2026-10-05.jsonl", events.encode())
    batch = {"builds": [b.api() for b in reversed(failed[-4:])], "buildsNotFound": []}
    size += write(out, f"codebuild/batch-get-builds-{CB_PROJECT}.json",
                  (json.dumps(batch, indent=4) + "\n").encode())
    last = failed[-1]
    size += write(out, f"codebuild/logs/{CB_PROJECT}/{last.uuid}.log", last.log().encode())

    expected = {"story": "20-codebuild-runner-jit",
                "title": "CodeBuild runner builds fail in DOWNLOAD_SOURCE: the account's GitHub token acts as "
                         "a user who is no longer a repository admin",
                "cause": "codebuild_runner_credential_lacks_admin", "account": MAIN, "region": CB_REGION,
                "role_arn": None, "sub": None, "aud": None, "event_name": "CodeBuildBuild",
                "error_code": "CLIENT_ERROR", "action": "DOWNLOAD_SOURCE", "resource": project_arn,
                "count": len(failed), "first_seen": fmt(failed[0].start), "last_seen": fmt(failed[-1].start),
                "event_ids": [b.id for b in failed], "project": CB_PROJECT,
                "credential": {"type": "PERSONAL_ACCESS_TOKEN", "username": CB_GH_USER,
                               "configured_by": alice.arn, "configured_at": imported["eventTime"],
                               "event_id": imported["eventID"]},
                "token_prefix": CB_TOKEN_PREFIX}
    return expected, 1, len(records), size


# --------------------------------------------------------------------------- README / expected

def write_expected_and_readme(out, expected, summary):
    n = write(out, "expected.json", (json.dumps(expected, indent=2) + "\n").encode())
    rows = []
    for e in expected:
        num = e["story"].split("-", 1)[0]
        if e["event_name"] == "CodeBuildBuild":
            win = e["first_seen"].replace("T", " ") + " – " + e["last_seen"][11:]
            rows.append(f"| {num} | {e['account']} | {e['region']} | {win} | — | — | "
                        f"`CodeBuildBuild` `{e['error_code']}` (`{e['action']}` of project `{e['project']}`) | "
                        f"{e['count']} | `{e['cause']}` |")
            continue
        win = e["first_seen"].replace("T", " ") + (" – " + e["last_seen"][11:] if e["last_seen"] != e["first_seen"] else "")
        role = e["role_arn"].rsplit("/", 1)[1]
        extra = f" (`{e['action']}` on `{e['resource']}`)" if e["event_name"] != "AssumeRoleWithWebIdentity" else ""
        rows.append(f"| {num} | {e['account']} | {e['region']} | {win} | `{role}` | `{e['sub']}` | "
                    f"`{e['event_name']}` `{e['error_code']}`{extra} | {e['count']} | `{e['cause']}` |")
    text = README.format(table="\n".join(rows), token_prefix=TOKEN_PREFIX, cb_token_prefix=CB_TOKEN_PREFIX,
                         **summary)
    n += write(out, "README.md", text.encode())
    return n


README = """# Sample CloudTrail data

Synthetic, deterministic sample data for `trailwhy`: a copy of a CloudTrail log bucket for three
accounts, an IAM/ECR inventory, and the failures the tool is expected to explain. Every value
(account ids, names, keys, tokens, event ids) is invented. Do not edit by hand: regenerate with

    python3 scripts/make-sample-logs.py            # rewrites sample-logs/ (AWSLogs/, iam/, expected.json, README.md)
    python3 scripts/make-sample-logs.py OUT_DIR    # somewhere else

The generator uses only the Python standard library and `random.Random(42)`; output is
byte-identical between runs.

## Layout

```
AWSLogs/111122223333/CloudTrail/<region>/YYYY/MM/DD/111122223333_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<random>.json.gz
AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/...     organization-trail layout for the prod account
AWSLogs/777788889999/CloudTrail/...                  account without inventory
AWSLogs/111122223333/CloudTrail-Digest/...           digest files (different schema; skip)
AWSLogs/111122223333/CloudTrail-Insight/...          one Insights file (skip)
AWSLogs/111122223333/CloudTrail/ConfigWritabilityCheckFile   empty object (skip)
iam/111122223333-authorization-details.json   aws iam get-account-authorization-details (CLI form: policies as JSON objects)
iam/444455556666-authorization-details.json   same API, raw form: policies as URL-encoded JSON strings
iam/111122223333-oidc-providers.json          GitHub provider, client IDs sts.amazonaws.com and https://github.com/acme
iam/444455556666-oidc-providers.json          empty: no OIDC provider in prod
iam/111122223333-ecr-web-policy.json          aws ecr get-repository-policy for `web` (unrelated to any story)
codebuild/eventbridge/*.jsonl                 EventBridge "CodeBuild Build State Change" events, one per line
codebuild/batch-get-builds-*.json             aws codebuild batch-get-builds output (CLI form)
codebuild/logs/<project>/<build uuid>.log     one build log (the `[Container]` lines of the seed)
expected.json                                 the stories below, with exact event ids
```

Numbers: {log_files} log files, {records} records ({failures} failed events or builds in stories),
{digests} digest files, 1 insight file, {build_files} CodeBuild build inputs, {total_bytes} bytes in all.
Regions us-east-1, eu-west-1, ap-northeast-1; days 2026-10-01 to 2026-10-03 (the inventory snapshot
is from {snapshot}), plus the CodeBuild story: its setup on 2026-09-14 and its builds on 2026-10-05.

Each log file is one line `{{"Records":[…]}}`, gzip-compressed, records in no particular order.
The file name's timestamp is the delivery time, 2–10 minutes after the newest record in it; a file
covers a 5–15 minute window. Two ordinary records are delivered late, in the following file. One
file on 2026-10-01 23:5x is delivered under the 2026/10/02 prefix. An ECR or chained call never
shares a file with the web-identity assumption that issued its access key; stories 16 and 18
were assumed through us-east-1 STS and fail in eu-west-1.

Around the stories there is ordinary traffic: successful GitHub Actions assumptions and the
sessions' ECR pushes and pulls (joined by `accessKeyId`), S3 data events, KMS, EC2, Lambda,
CloudWatch Logs, `GetCallerIdentity`, IAM reads, and three denials of human IAM users (`carol`
`s3:ListBucket`, `dave` `ec2:DescribeInstances` and `ecr:DescribeRepositories`) that are not CI
traffic and must not be reported as CI findings.

Every successful assumption carries `responseElements.credentials.sessionToken`; each token
starts with `{token_prefix}`. That string must never appear in any output of the tool.

## Stories (`expected.json`)

A story is one expected finding: the failed events sharing cause, role, sub, action and resource.
Story 10 is split in two findings because the two tags give two subjects; both are judged
against the trust policy alice set at 2026-10-02T10:30:00Z (`refs/tag/v*`), which bob reverted at
11:05:00Z; the inventory holds the reverted policy.

| # | account | region | time window (UTC) | role | sub | call and error | events | expected cause |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{table}

Notes: story 1 requests `Githubactions-to-ECR-role`, IAM has `Githubacitions-to-ECR-role` (the
nearest role). In stories 14–19 the `sub` comes from the session's web-identity assumption; the
ECR stories' `expected.json` entries add `session_arn`, `access_key_id` and `assumed_in_region`.

Story 20 is the seed's CodeBuild incident (`shared/seeds/codebuild-jit-runner-failure.md`). On
2026-09-14 alice imports the account's GitHub credential in us-east-1 (`ImportSourceCredentials`: a
personal access token of GitHub user `alice-acme`), creates project `acme-web-runner` without a
source `auth` override and its webhook on `WORKFLOW_JOB_QUEUED`. On 2026-10-05, 8 runner builds
succeed until 12:31; then alice-acme's role on acme/web goes from admin to write (on GitHub, not in
CloudTrail) and the next 6 builds fail in `DOWNLOAD_SOURCE` with `GitHub runner JIT configuration
unavailable: ResourceNotFoundException`. The failures are in all three build inputs: EventBridge
events for all 14 builds, batch-get-builds for the last 4 failures, the log of the last one; each
failed build counts once. The story's `expected.json` entry adds `project` and `credential`. The
imported token starts with `{cb_token_prefix}`; it must never appear in any output either.
"""


# --------------------------------------------------------------------------- main

def main(argv):
    default = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sample-logs")
    out = argv[1] if len(argv) > 1 else default
    os.makedirs(out, exist_ok=True)
    for name in ("AWSLogs", "iam", "codebuild"):
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    for name in ("expected.json", "README.md"):
        if os.path.exists(os.path.join(out, name)):
            os.remove(os.path.join(out, name))

    build_stories()
    build_noise()
    files = group_files()
    size = write_logs(out, files)
    size += write(out, f"{trail_prefix(MAIN)}/ConfigWritabilityCheckFile", b"")
    ndig, dsize = write_digests(out, files)
    size += dsize + write_insight(out)
    ninv, isize = write_inventory(out)
    size += isize
    cb_expected, cb_logs, cb_records, cb_size = build_codebuild_story(out)
    size += cb_size

    # Consistency checks the tests rely on.
    path_of = {e["record"]["eventID"]: e["path"] for e in ENTRIES}
    for a, b in SEPARATE:
        assert path_of[a] != path_of[b], (a, b)
    for f in files:
        assert all(e["time"] < f["delivered"] for e in f["entries"])
    expected = [s.expected() for s in STORIES] + [cb_expected]
    expected.sort(key=lambda e: e["story"])
    failures = sum(e["count"] for e in expected)
    # The README states the total size including itself; compute it in two passes.
    summary = {"log_files": len(files) + cb_logs, "records": len(ENTRIES) + cb_records, "failures": failures,
               "digests": ndig, "build_files": 3, "snapshot": SNAPSHOT_TIME, "total_bytes": 0}
    base = size
    for _ in range(3):
        tmp = write_expected_and_readme(out, expected, summary)
        summary["total_bytes"] = base + tmp
    written = write_expected_and_readme(out, expected, summary)
    total = base + written
    nfiles = len(files) + cb_logs + 1 + ndig + 1 + ninv + 3 + 2
    print(f"make-sample-logs: {nfiles} files ({len(files) + cb_logs} log files), {len(ENTRIES) + cb_records} records "
          f"({failures} in {len(expected)} stories), {total} bytes -> {out}")


if __name__ == "__main__":
    main(sys.argv)
