//! `trailwhy athena ddl`: the CloudTrail table for a trail bucket, printed or created.

use std::io::Write;

use anyhow::{anyhow, bail, Result};
use chrono::{Datelike, NaiveDate, Utc};

use super::Exit;
use crate::cli::DdlArgs;
use trailwhy::aws::{AwsContext, AwsOptions};
use trailwhy::source::athena::ddl::{create_table, Accounts, DdlOptions, Scope};
use trailwhy::source::athena::{Runner, DEFAULT_CATALOG};
use trailwhy::source::s3::{self, AccountFolders, S3Url};

/// The commercial regions a trail may deliver from (the default `--region` list).
pub const COMMERCIAL_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// `--account` values once each, in the order given.
fn given_accounts(a: &DdlArgs) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for acct in &a.account {
        if !out.contains(acct) {
            out.push(acct.clone());
        }
    }
    out
}

/// The folders found by `--accounts-from-bucket` and `--account`, sorted, once each.
fn found_and_given(found: &AccountFolders, a: &DdlArgs) -> Vec<String> {
    let mut all: Vec<String> = found.accounts.iter().chain(&a.account).cloned().collect();
    all.sort();
    all.dedup();
    all
}

/// Whose logs the table holds, from the flags alone.
fn scope_of_flags(a: &DdlArgs) -> Result<Scope> {
    let accounts = given_accounts(a);
    Ok(match &a.organization {
        Some(org) => Scope::Organization {
            id: org.clone(),
            accounts: if accounts.is_empty() {
                Accounts::Injected
            } else {
                Accounts::Listed(accounts)
            },
        },
        None => match accounts.as_slice() {
            [one] => Scope::Account(one.clone()),
            [] => bail!("name the trail's account with --account (several: every account whose trail writes into the bucket), its organization with --organization (an organization trail), or find the accounts with --accounts-from-bucket"),
            _ => Scope::Accounts(accounts),
        },
    })
}

/// `[prefix/]AWSLogs/[org/]`: the key prefix whose folders are the accounts.
fn accounts_root(url: &S3Url, organization: Option<&str>) -> String {
    let mut root = format!("{}AWSLogs/", url.prefix);
    if let Some(org) = organization {
        root.push_str(org);
        root.push('/');
    }
    root
}

/// Whose logs the table holds, from the flags and the account folders `list` finds under a
/// key prefix (`--accounts-from-bucket`). Without `--organization`, account folders give a
/// multi-account table (organization folders beside them are left out, and said so);
/// one organization folder alone gives that organization's table.
fn scope_from_bucket(
    a: &DdlArgs,
    url: &S3Url,
    list: impl Fn(&str) -> Result<AccountFolders>,
) -> Result<Scope> {
    let where_ = |root: &str| format!("s3://{}/{root}", url.bucket);
    if let Some(org) = &a.organization {
        let root = accounts_root(url, Some(org));
        let accounts = found_and_given(&list(&root)?, a);
        if accounts.is_empty() {
            bail!(
                "--accounts-from-bucket: no account folder under {}",
                where_(&root)
            );
        }
        return Ok(Scope::Organization {
            id: org.clone(),
            accounts: Accounts::Listed(accounts),
        });
    }
    let root = accounts_root(url, None);
    let found = list(&root)?;
    let accounts = found_and_given(&found, a);
    match (accounts.is_empty(), found.organizations.as_slice()) {
        (false, orgs) => {
            for org in orgs {
                eprintln!(
                    "trailwhy: {}{org}/: an organization trail's folder, left out of this table (make another with --organization {org} --accounts-from-bucket)",
                    where_(&root)
                );
            }
            Ok(Scope::Accounts(accounts))
        }
        (true, [org]) => {
            let inner = accounts_root(url, Some(org));
            let accounts = found_and_given(&list(&inner)?, a);
            if accounts.is_empty() {
                bail!("--accounts-from-bucket: no account folder under {}", where_(&inner));
            }
            eprintln!(
                "trailwhy: {}: an organization trail's folders: the table is organization {org}'s",
                where_(&root)
            );
            Ok(Scope::Organization {
                id: org.clone(),
                accounts: Accounts::Listed(accounts),
            })
        }
        (true, []) => bail!(
            "--accounts-from-bucket: no account folder under {} (is the S3 URL the folder that holds AWSLogs/?)",
            where_(&root)
        ),
        (true, orgs) => bail!(
            "--accounts-from-bucket: {} holds several organization folders ({}): choose one with --organization",
            where_(&root),
            orgs.join(", ")
        ),
    }
}

/// The DDL options the flags describe; `list` lists a key prefix's account folders when
/// `--accounts-from-bucket` asks for it.
pub fn options(a: &DdlArgs, list: impl Fn(&str) -> Result<AccountFolders>) -> Result<DdlOptions> {
    let url = S3Url::parse(&a.location)?;
    let scope = match a.accounts_from_bucket {
        true => scope_from_bucket(a, &url, list)?,
        false => scope_of_flags(a)?,
    };
    let start = match &a.start {
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| anyhow!("--start: '{text}' is not a date (YYYY-MM-DD)"))?,
        None => NaiveDate::from_ymd_opt(Utc::now().year() - 2, 1, 1)
            .ok_or_else(|| anyhow!("no default start date"))?,
    };
    Ok(DdlOptions {
        database: a.database.clone(),
        table: a.table.clone(),
        bucket: url.bucket,
        prefix: (!url.prefix.is_empty()).then_some(url.prefix),
        scope,
        regions: if a.region.is_empty() {
            COMMERCIAL_REGIONS.iter().map(|r| (*r).to_owned()).collect()
        } else {
            a.region.clone()
        },
        start,
    })
}

pub fn ddl(a: &DdlArgs) -> Result<Exit> {
    let aws = || {
        AwsContext::new(AwsOptions {
            profile: a.profile.clone(),
            region: None,
            endpoint_url: a.endpoint_url.clone(),
        })
    };
    // the AWS context only when something is listed or created
    let ctx = match a.accounts_from_bucket {
        true => Some(aws()?),
        false => None,
    };
    let bucket = S3Url::parse(&a.location)?.bucket;
    let opts = options(a, |root| match &ctx {
        Some(c) => s3::account_folders(c, &bucket, root),
        None => bail!("no AWS context to list the bucket with"),
    })?;
    let table = create_table(&opts)?;
    if !a.create {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{table};")?;
        out.flush()?;
        return Ok(Exit::Ok);
    }
    if let Some(o) = &a.output {
        if !o.starts_with("s3://") {
            bail!("--output must be an s3:// location, not '{o}'");
        }
    }
    let ctx = match ctx {
        Some(c) => c,
        None => aws()?,
    };
    let runner = Runner {
        client: aws_sdk_athena::Client::new(&ctx.config),
        catalog: DEFAULT_CATALOG.to_owned(),
        database: opts.database.clone(),
        workgroup: a.workgroup.clone(),
        output: a.output.as_ref().map(|o| {
            if o.ends_with('/') {
                o.clone()
            } else {
                format!("{o}/")
            }
        }),
        max_scan: None,
    };
    let database = format!("CREATE DATABASE IF NOT EXISTS `{}`", opts.database);
    for (what, sql) in [("database", database.as_str()), ("table", table.as_str())] {
        let id = ctx.block_on(async {
            let id = runner.start(sql).await?;
            match runner.wait(&id).await? {
                (Some(_), _) => Ok(id),
                (None, _) => bail!("interrupted: query {id} was stopped"),
            }
        })?;
        eprintln!("trailwhy: {what} created or present (query {id})");
    }
    println!("{}.{}", opts.database, opts.table);
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(flags: &[&str]) -> DdlArgs {
        let mut all = vec!["trailwhy", "athena", "ddl", "s3://trail/audit"];
        all.extend(flags);
        match crate::cli::Cli::parse_from(all).command {
            crate::cli::Command::Athena(crate::cli::AthenaCommand::Ddl(a)) => a,
            _ => unreachable!("an athena ddl command line"),
        }
    }

    fn folders(accounts: &[&str], organizations: &[&str]) -> AccountFolders {
        AccountFolders {
            accounts: accounts.iter().map(|a| (*a).to_owned()).collect(),
            organizations: organizations.iter().map(|o| (*o).to_owned()).collect(),
            other: Vec::new(),
        }
    }

    /// `scope` with a bucket whose listings are `bucket` (key prefix → folders); also
    /// returns the prefixes listed.
    fn scope(flags: &[&str], bucket: &[(&str, AccountFolders)]) -> (Result<Scope>, Vec<String>) {
        let listed = std::cell::RefCell::new(Vec::new());
        let opts = options(&args(flags), |root| {
            listed.borrow_mut().push(root.to_owned());
            Ok(bucket
                .iter()
                .find(|(p, _)| *p == root)
                .map(|(_, f)| f.clone())
                .unwrap_or_default())
        });
        (opts.map(|o| o.scope), listed.into_inner())
    }

    const A: &str = "111122223333";
    const B: &str = "444455556666";

    #[test]
    fn several_accounts_without_an_organization_are_enumerated() {
        let (s, listed) = scope(&["--account", &format!("{B},{A}"), "--account", B], &[]);
        assert_eq!(s.unwrap(), Scope::Accounts(vec![B.into(), A.into()]));
        assert!(
            listed.is_empty(),
            "nothing is listed without --accounts-from-bucket"
        );
        let (s, _) = scope(&["--account", A], &[]);
        assert_eq!(s.unwrap(), Scope::Account(A.into()));
        let (s, _) = scope(&[], &[]);
        assert!(s
            .unwrap_err()
            .to_string()
            .contains("--accounts-from-bucket"));
    }

    #[test]
    fn accounts_from_the_bucket() {
        // account folders, an organization folder beside them (left out), and --account
        let bucket = [("audit/AWSLogs/", folders(&[B, A], &["o-abcdefghij"]))];
        let (s, listed) = scope(&["--accounts-from-bucket"], &bucket);
        assert_eq!(s.unwrap(), Scope::Accounts(vec![A.into(), B.into()]));
        assert_eq!(listed, ["audit/AWSLogs/"]);
        let (s, _) = scope(
            &["--accounts-from-bucket", "--account", "999988887777"],
            &bucket,
        );
        assert_eq!(
            s.unwrap(),
            Scope::Accounts(vec![A.into(), B.into(), "999988887777".into()])
        );
        // only one organization folder: its accounts, as the organization's table
        let bucket = [
            ("audit/AWSLogs/", folders(&[], &["o-abcdefghij"])),
            ("audit/AWSLogs/o-abcdefghij/", folders(&[A], &[])),
        ];
        let (s, listed) = scope(&["--accounts-from-bucket"], &bucket);
        assert_eq!(
            s.unwrap(),
            Scope::Organization {
                id: "o-abcdefghij".into(),
                accounts: Accounts::Listed(vec![A.into()])
            }
        );
        assert_eq!(listed, ["audit/AWSLogs/", "audit/AWSLogs/o-abcdefghij/"]);
        // --organization: its folder is listed directly
        let (s, listed) = scope(
            &["--accounts-from-bucket", "--organization", "o-abcdefghij"],
            &bucket,
        );
        assert!(matches!(s.unwrap(), Scope::Organization { .. }));
        assert_eq!(listed, ["audit/AWSLogs/o-abcdefghij/"]);
        // several organizations, or nothing: say what to do
        let several = [(
            "audit/AWSLogs/",
            folders(&[], &["o-abcdefghij", "o-klmnopqrst"]),
        )];
        let (s, _) = scope(&["--accounts-from-bucket"], &several);
        assert!(s
            .unwrap_err()
            .to_string()
            .contains("choose one with --organization"),);
        let (s, _) = scope(&["--accounts-from-bucket"], &[]);
        assert!(s
            .unwrap_err()
            .to_string()
            .contains("no account folder under s3://trail/audit/AWSLogs/"));
    }
}
