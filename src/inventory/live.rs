//! `--iam-live`: the inventory read through the AWS API, once per run and concurrently —
//! GetAccountAuthorizationDetails (every page), the OIDC providers, GetRole where the maximum
//! session duration matters, and ECR repository policies of the repositories seen in
//! failures. Other accounts are read by assuming `--iam-role ACCOUNT=ROLE_ARN`.
//!
//! The API's answers are turned into the same JSON documents the CLI prints, so they load
//! through exactly the same code as `--iam` files (and are snapshots of *now*, like them).

use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use aws_config::SdkConfig;
use aws_sdk_iam::types::EntityType;
use serde_json::{json, Value};

use crate::aws::AwsContext;
use crate::read::InventoryDoc;

/// What to read besides the account-wide details.
#[derive(Debug, Clone, Default)]
pub struct LiveRequest {
    /// `ACCOUNT=ROLE_ARN` pairs.
    pub roles: Vec<(String, String)>,
    /// Role names whose MaxSessionDuration is needed, by account.
    pub max_session_roles: Vec<(String, String)>,
    /// ECR repositories seen in failures: (region, registry account, name).
    pub repositories: Vec<(String, String, String)>,
}

pub fn parse_iam_role(s: &str) -> Result<(String, String)> {
    let (acct, arn) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--iam-role: '{s}' is not ACCOUNT=ROLE_ARN"))?;
    if acct.len() != 12 || !acct.chars().all(|c| c.is_ascii_digit()) {
        bail!("--iam-role: '{acct}' is not a 12-digit account id");
    }
    if !arn.starts_with("arn:") || !arn.contains(":role/") {
        bail!("--iam-role: '{arn}' is not a role ARN");
    }
    Ok((acct.to_owned(), arn.to_owned()))
}

fn time_string(t: &aws_sdk_iam::primitives::DateTime) -> String {
    t.fmt(aws_sdk_iam::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

fn iam_error<E: aws_sdk_iam::error::ProvideErrorMetadata + std::fmt::Debug>(
    call: &str,
    permission: &str,
    e: &E,
) -> anyhow::Error {
    let code = e.code().unwrap_or("error");
    if code.contains("AccessDenied") {
        anyhow!("{call}: access denied ({permission} is needed)")
    } else {
        anyhow!("{call}: {code}: {}", e.message().unwrap_or_default())
    }
}

/// Reads everything asked for; every account in parallel.
pub fn fetch(ctx: &Arc<AwsContext>, req: &LiveRequest) -> Result<Vec<InventoryDoc>> {
    ctx.block_on(async {
        let mut configs: Vec<(String, SdkConfig)> =
            vec![("default".to_owned(), ctx.config.clone())];
        for (acct, role) in &req.roles {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name("trailwhy-inventory")
                .configure(&ctx.config)
                .build()
                .await;
            let cfg = ctx
                .config
                .to_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build();
            configs.push((acct.clone(), cfg));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (label, cfg) in configs {
            let req = req.clone();
            let endpoint = ctx.options.endpoint_url.clone();
            tasks.spawn(async move { account_docs(&label, &cfg, &req, endpoint.as_deref()).await });
        }
        let mut docs = Vec::new();
        while let Some(r) = tasks.join_next().await {
            docs.extend(r.map_err(|e| anyhow!("inventory task failed: {e}"))??);
        }
        Ok(docs)
    })
}

async fn account_docs(
    label: &str,
    cfg: &SdkConfig,
    req: &LiveRequest,
    _endpoint: Option<&str>,
) -> Result<Vec<InventoryDoc>> {
    let iam = aws_sdk_iam::Client::new(cfg);
    let origin = |what: &str| format!("iam-live:{label}:{what}");
    let mut docs = Vec::new();
    // authorization details, every page
    let mut marker: Option<String> = None;
    let mut account: Option<String> = None;
    loop {
        let mut r = iam
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .filter(EntityType::AwsManagedPolicy);
        if let Some(m) = &marker {
            r = r.marker(m);
        }
        let out = r.send().await.map_err(|e| {
            iam_error(
                "GetAccountAuthorizationDetails",
                "iam:GetAccountAuthorizationDetails",
                &e.into_service_error(),
            )
        })?;
        let mut roles = Vec::new();
        for role in out.role_detail_list() {
            let arn = role.arn().unwrap_or_default();
            if account.is_none() {
                account = crate::event::arn_account(arn).map(str::to_owned);
            }
            let name = role.role_name().unwrap_or_default();
            let mut v = json!({
                "RoleName": name,
                "Arn": arn,
                "CreateDate": role.create_date().map(time_string),
                "AssumeRolePolicyDocument": role.assume_role_policy_document(),
                "RolePolicyList": role.role_policy_list().iter().map(|p| json!({
                    "PolicyName": p.policy_name(), "PolicyDocument": p.policy_document()})).collect::<Vec<_>>(),
                "AttachedManagedPolicies": role.attached_managed_policies().iter().map(|p| json!({
                    "PolicyName": p.policy_name(), "PolicyArn": p.policy_arn()})).collect::<Vec<_>>(),
                "Tags": role.tags().iter().map(|t| json!({"Key": t.key(), "Value": t.value()})).collect::<Vec<_>>(),
            });
            if let Some(b) = role
                .permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn())
            {
                v["PermissionsBoundary"] = json!({"PermissionsBoundaryArn": b});
            }
            if req
                .max_session_roles
                .iter()
                .any(|(a, n)| Some(a) == account.as_ref() && n == name)
            {
                if let Ok(got) = iam.get_role().role_name(name).send().await {
                    if let Some(r) = got.role() {
                        v["MaxSessionDuration"] = json!(r.max_session_duration());
                    }
                }
            }
            roles.push(v);
        }
        let policies: Vec<Value> = out
            .policies()
            .iter()
            .map(|p| {
                json!({
                    "PolicyName": p.policy_name(),
                    "Arn": p.arn(),
                    "DefaultVersionId": p.default_version_id(),
                    "PolicyVersionList": p.policy_version_list().iter().map(|v| json!({
                        "VersionId": v.version_id(), "IsDefaultVersion": v.is_default_version(), "Document": v.document(),
                        "CreateDate": v.create_date().map(time_string)})).collect::<Vec<_>>(),
                })
            })
            .collect();
        docs.push(InventoryDoc {
            origin: origin("authorization-details"),
            value: json!({"RoleDetailList": roles, "Policies": policies}),
        });
        match out.marker() {
            Some(m) if out.is_truncated() => marker = Some(m.to_owned()),
            _ => break,
        }
    }
    // OIDC providers
    let list = iam
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|e| {
            iam_error(
                "ListOpenIDConnectProviders",
                "iam:ListOpenIDConnectProviders",
                &e.into_service_error(),
            )
        })?;
    let mut providers = Vec::new();
    for p in list.open_id_connect_provider_list() {
        let Some(arn) = p.arn() else { continue };
        if account.is_none() {
            account = crate::event::arn_account(arn).map(str::to_owned);
        }
        let got = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| {
                iam_error(
                    "GetOpenIDConnectProvider",
                    "iam:GetOpenIDConnectProvider",
                    &e.into_service_error(),
                )
            })?;
        providers.push(json!({"Arn": arn, "Url": got.url(), "ClientIDList": got.client_id_list()}));
    }
    if account.is_none() {
        let sts = aws_sdk_sts::Client::new(cfg);
        account = sts
            .get_caller_identity()
            .send()
            .await
            .ok()
            .and_then(|o| o.account().map(str::to_owned));
    }
    docs.push(InventoryDoc {
        origin: origin("oidc-providers"),
        value: json!({"Account": account, "OpenIDConnectProviderList": providers}),
    });
    // ECR repository policies of the repositories seen in failures, in this account
    for (region, registry, name) in &req.repositories {
        if Some(registry) != account.as_ref() {
            continue;
        }
        let ecr_cfg = aws_sdk_ecr::config::Builder::from(cfg)
            .region(aws_config::Region::new(region.clone()))
            .build();
        let ecr = aws_sdk_ecr::Client::from_conf(ecr_cfg);
        match ecr.get_repository_policy().registry_id(registry).repository_name(name).send().await {
            Ok(out) => docs.push(InventoryDoc {
                origin: origin(&format!("ecr:{region}:{name}")),
                value: json!({"registryId": registry, "repositoryName": name, "region": region, "policyText": out.policy_text()}),
            }),
            Err(e) => {
                let se = e.into_service_error();
                if se.is_repository_policy_not_found_exception() {
                    docs.push(InventoryDoc {
                        origin: origin(&format!("ecr:{region}:{name}")),
                        value: json!({"registryId": registry, "repositoryName": name, "region": region, "policyText": null}),
                    });
                }
                // other errors (repository gone, no permission): the policy stays unknown
            }
        }
        // its tags now (aws:ResourceTag/…), in the shape of `resourcegroupstaggingapi
        // get-resources`; on any error they stay unknown
        let partition = crate::event::partition_of(region);
        let arn = format!("arn:{partition}:ecr:{region}:{registry}:repository/{name}");
        if let Ok(out) = ecr.list_tags_for_resource().resource_arn(&arn).send().await {
            let tags: Vec<_> = out
                .tags()
                .iter()
                .map(|t| json!({"Key": t.key(), "Value": t.value()}))
                .collect();
            docs.push(InventoryDoc {
                origin: origin(&format!("ecr-tags:{region}:{name}")),
                value: json!({"ResourceTagMappingList": [{"ResourceARN": arn, "Tags": tags}]}),
            });
        }
    }
    Ok(docs)
}
