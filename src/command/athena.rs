//! `trailwhy athena ddl`: the CloudTrail table for a trail bucket, printed or created.

use std::io::Write;

use anyhow::{anyhow, bail, Result};
use chrono::{Datelike, NaiveDate, Utc};

use super::Exit;
use crate::cli::DdlArgs;
use crate::source::athena::ddl::{create_table, Accounts, DdlOptions, Scope};
use crate::source::athena::{Runner, DEFAULT_CATALOG};
use crate::source::aws::{AwsContext, AwsOptions};
use crate::source::s3::S3Url;

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

/// The DDL options the flags describe.
pub fn options(a: &DdlArgs) -> Result<DdlOptions> {
    let url = S3Url::parse(&a.location)?;
    let scope = match &a.organization {
        Some(org) => Scope::Organization {
            id: org.clone(),
            accounts: if a.account.is_empty() {
                Accounts::Injected
            } else {
                Accounts::Listed(a.account.clone())
            },
        },
        None => match a.account.as_slice() {
            [one] => Scope::Account(one.clone()),
            [] => bail!("name the trail's account with --account, or its organization with --organization (an organization trail)"),
            _ => bail!("--account: one account for a single-account trail; for several, name the organization with --organization"),
        },
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
    let opts = options(a)?;
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
    let ctx = AwsContext::new(AwsOptions {
        profile: a.profile.clone(),
        region: None,
        endpoint_url: a.endpoint_url.clone(),
    })?;
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
