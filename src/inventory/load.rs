//! Loading snapshot documents into the inventory: authorization details (all pages, policy
//! documents as objects, JSON strings or URL-encoded strings), OIDC provider listings and
//! ECR repository policies.

use chrono::{DateTime, Utc};
use iam_policy::Policy;
use serde::Serialize;
use serde_json::Value;

use super::{str_field, string_list, Inventory, ManagedPolicy, ProviderSnapshot, RoleSnapshot};
use crate::event::arn_account;
use crate::read::InventoryDoc;

/// A part of an inventory document that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadProblem {
    pub origin: String,
    pub problem: String,
}

pub(super) fn load_doc(inv: &mut Inventory, doc: &InventoryDoc) {
    let v = &doc.value;
    if let Some(roles) = v.get("RoleDetailList").and_then(Value::as_array) {
        load_authorization_details(inv, doc, roles);
    }
    if let Some(list) = v.get("OpenIDConnectProviderList").and_then(Value::as_array) {
        load_providers(inv, doc, list);
    } else if v.get("Url").is_some() && v.get("ClientIDList").is_some() {
        load_providers(inv, doc, std::slice::from_ref(v));
    }
    if v.get("policyText").is_some() && v.get("repositoryName").is_some() {
        load_repository_policy(inv, doc);
    }
    if let Some(list) = v.get("ResourceTagMappingList").and_then(Value::as_array) {
        for r in list {
            let Some(arn) = str_field(r, "ResourceARN") else {
                continue;
            };
            let Some(account) = arn_account(arn) else {
                continue;
            };
            let tags = super::tag_list(r.get("Tags")).into_iter().collect();
            inv.accounts
                .entry(account.to_owned())
                .or_default()
                .resource_tags
                .insert(arn.to_owned(), tags);
        }
    }
    if let Some(accounts) = v.get("Accounts").and_then(Value::as_array) {
        load_organization_accounts(inv, accounts);
    }
    if let Some(org) = v.get("Organization") {
        // `describe-organization`: the management account's organization
        if let (Some(id), Some(mgmt)) = (str_field(org, "Id"), str_field(org, "MasterAccountId")) {
            inv.accounts
                .entry(mgmt.to_owned())
                .or_default()
                .organization = Some(id.to_owned());
        }
    }
}

/// `aws organizations list-accounts`: each account's ARN
/// (`arn:aws:organizations::MGMT:account/o-ID/ACCOUNT`) names its organization.
fn load_organization_accounts(inv: &mut Inventory, accounts: &[Value]) {
    for a in accounts {
        let (Some(id), Some(arn)) = (str_field(a, "Id"), str_field(a, "Arn")) else {
            continue;
        };
        let org = arn
            .split_once(":account/")
            .and_then(|(_, rest)| rest.split('/').next())
            .filter(|o| o.starts_with("o-"));
        if let Some(org) = org {
            inv.accounts.entry(id.to_owned()).or_default().organization = Some(org.to_owned());
        }
    }
}

fn parse_policy(inv: &mut Inventory, doc: &InventoryDoc, what: &str, v: &Value) -> Option<Policy> {
    match Policy::from_value(v) {
        Ok(p) => Some(p),
        Err(e) => {
            inv.problems.push(LoadProblem {
                origin: doc.origin.clone(),
                problem: format!("{what}: {e}"),
            });
            None
        }
    }
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
}

fn load_authorization_details(inv: &mut Inventory, doc: &InventoryDoc, roles: &[Value]) {
    let mut accounts_seen: Vec<String> = Vec::new();
    for r in roles {
        let (Some(name), Some(arn)) = (str_field(r, "RoleName"), str_field(r, "Arn")) else {
            inv.problems.push(LoadProblem {
                origin: doc.origin.clone(),
                problem: "role entry without RoleName or Arn".into(),
            });
            continue;
        };
        let Some(account) = arn_account(arn).map(str::to_owned) else {
            inv.problems.push(LoadProblem {
                origin: doc.origin.clone(),
                problem: format!("role {name}: bad ARN {arn}"),
            });
            continue;
        };
        let trust = match r.get("AssumeRolePolicyDocument") {
            Some(v) if !v.is_null() => {
                parse_policy(inv, doc, &format!("trust policy of role {name}"), v)
            }
            _ => None,
        };
        let mut inline = std::collections::BTreeMap::new();
        for p in r
            .get("RolePolicyList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(pname), Some(pdoc)) = (str_field(p, "PolicyName"), p.get("PolicyDocument"))
            {
                if let Some(pol) = parse_policy(
                    inv,
                    doc,
                    &format!("inline policy {pname} of role {name}"),
                    pdoc,
                ) {
                    inline.insert(pname.to_owned(), pol);
                }
            }
        }
        let attached = r
            .get("AttachedManagedPolicies")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| str_field(p, "PolicyArn").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let boundary = r
            .get("PermissionsBoundary")
            .and_then(|b| str_field(b, "PermissionsBoundaryArn"))
            .map(str::to_owned);
        let max_session_duration = r.get("MaxSessionDuration").and_then(Value::as_u64);
        let tags = r.get("Tags").and_then(Value::as_array).map(|list| {
            list.iter()
                .filter_map(|t| {
                    Some((
                        str_field(t, "Key")?.to_owned(),
                        str_field(t, "Value")?.to_owned(),
                    ))
                })
                .collect()
        });
        let snap = RoleSnapshot {
            origin: doc.origin.clone(),
            name: name.to_owned(),
            arn: arn.to_owned(),
            created: parse_time(r.get("CreateDate")),
            trust,
            inline,
            attached,
            boundary,
            max_session_duration,
            tags,
        };
        if !accounts_seen.contains(&account) {
            accounts_seen.push(account.clone());
        }
        inv.accounts
            .entry(account)
            .or_default()
            .roles
            .get_or_insert_with(Default::default)
            .insert(name.to_owned(), snap);
    }
    // Managed policies belong to the account in their ARN; AWS-managed ones (`aws` account)
    // are shared by every account and stored under "aws".
    for p in doc
        .value
        .get("Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(arn) = str_field(p, "Arn") else {
            continue;
        };
        let owner = arn_account(arn).unwrap_or("aws").to_owned();
        let mut mp = ManagedPolicy {
            origin: doc.origin.clone(),
            arn: arn.to_owned(),
            ..Default::default()
        };
        mp.default_version = str_field(p, "DefaultVersionId").map(str::to_owned);
        for v in p
            .get("PolicyVersionList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let vid = str_field(v, "VersionId").unwrap_or("v1").to_owned();
            if let Some(created) = parse_time(v.get("CreateDate")) {
                mp.created.insert(vid.clone(), created);
            }
            if v.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true) {
                mp.default_version = Some(vid.clone());
            }
            if let Some(d) = v.get("Document") {
                if let Some(pol) = parse_policy(inv, doc, &format!("managed policy {arn} {vid}"), d)
                {
                    mp.versions.insert(vid, pol);
                }
            }
        }
        inv.accounts
            .entry(owner)
            .or_default()
            .managed_policies
            .insert(arn.to_owned(), mp);
    }
}

fn load_providers(inv: &mut Inventory, doc: &InventoryDoc, list: &[Value]) {
    let mut any_account: Option<String> = None;
    for p in list {
        let Some(arn) = str_field(p, "Arn") else {
            inv.problems.push(LoadProblem {
                origin: doc.origin.clone(),
                problem: "OIDC provider entry without Arn (add the Arn from list-open-id-connect-providers)".into(),
            });
            continue;
        };
        let Some(account) = arn_account(arn).map(str::to_owned) else {
            continue;
        };
        any_account = Some(account.clone());
        let client_ids = p.get("ClientIDList").and_then(string_list);
        inv.accounts
            .entry(account)
            .or_default()
            .providers
            .get_or_insert_with(Default::default)
            .insert(
                arn.to_owned(),
                ProviderSnapshot {
                    arn: arn.to_owned(),
                    client_ids,
                },
            );
    }
    // An empty listing still says "this account has no providers" when the file names the
    // account: `<account>-...` or an `Account` field.
    if list.is_empty() && any_account.is_none() {
        let account = str_field(&doc.value, "Account")
            .map(str::to_owned)
            .or_else(|| account_from_origin(&doc.origin));
        match account {
            Some(a) => {
                inv.accounts.entry(a).or_default().providers.get_or_insert_with(Default::default);
            }
            None => inv.problems.push(LoadProblem {
                origin: doc.origin.clone(),
                problem: "empty OIDC provider listing: cannot tell which account it describes (name the file <account>-oidc-providers.json or add \"Account\")".into(),
            }),
        }
    }
}

/// A 12-digit account id at the start of the file name.
fn account_from_origin(origin: &str) -> Option<String> {
    let name = std::path::Path::new(origin).file_name()?.to_str()?;
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 12).then_some(digits)
}

fn load_repository_policy(inv: &mut Inventory, doc: &InventoryDoc) {
    let v = &doc.value;
    let (Some(registry), Some(repo)) = (str_field(v, "registryId"), str_field(v, "repositoryName"))
    else {
        inv.problems.push(LoadProblem {
            origin: doc.origin.clone(),
            problem: "repository policy without registryId".into(),
        });
        return;
    };
    let region = str_field(v, "region").unwrap_or("*").to_owned();
    // `"policyText": null` records that the repository has no policy (RepositoryPolicyNotFound).
    let policy = match v.get("policyText") {
        None | Some(Value::Null) => None,
        Some(text) => match parse_policy(inv, doc, &format!("repository policy of {repo}"), text) {
            Some(p) => Some(p),
            None => return,
        },
    };
    inv.accounts
        .entry(registry.to_owned())
        .or_default()
        .repository_policies
        .insert((region, repo.to_owned()), policy);
}
