//! `trailwhy athena ddl`: the `CREATE EXTERNAL TABLE` for a trail bucket, with partition
//! projection.
//!
//! The table is AWS's documented CloudTrail table (the JSON SerDe over CloudTrail's input
//! format, which splits each file's `Records` array into rows) plus `identityprovider` in
//! `useridentity`: failed web-identity records carry it and AWS's table lacks it. Its
//! partition keys are `account` (organization trails: enumerated or injected; a bucket
//! that several accounts' trails write into without an organization: enumerated), `region`
//! (enumerated, or injected when no region is named) and `timestamp` (`yyyy/MM/dd` days from
//! the start date to `NOW`), laid out by `storage.location.template`, so
//! [`super::table::Shape::from_def`] reads them back.
//!
//! [`declared`] is the table as the Glue Data Catalog will hold it; [`create_table`] writes
//! the same table as DDL text. Neither talks to AWS.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use chrono::NaiveDate;

use super::table::TableDef;

/// Whose logs the trail bucket holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One account's trail: `AWSLogs/ACCOUNT/CloudTrail/…`.
    Account(String),
    /// Several accounts' trails delivering to one bucket without an organization trail
    /// (`AWSLogs/ACCOUNT1/CloudTrail/…`, `AWSLogs/ACCOUNT2/CloudTrail/…`): an `account` key
    /// projected as `enum` with these values.
    Accounts(Vec<String>),
    /// An organization trail: `AWSLogs/o-…/ACCOUNT/CloudTrail/…`.
    Organization { id: String, accounts: Accounts },
}

/// The accounts of an organization table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// `projection.account.type=enum` with these values.
    Listed(Vec<String>),
    /// `projection.account.type=injected`: every query names its accounts (`--account`).
    Injected,
}

/// The options of `trailwhy athena ddl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdlOptions {
    pub database: String,
    pub table: String,
    pub bucket: String,
    /// The trail's S3 key prefix, if any (before `AWSLogs/`).
    pub prefix: Option<String>,
    pub scope: Scope,
    /// The trail's regions; empty means an injected region key (`--region` in every query).
    pub regions: Vec<String>,
    /// The first day of the `timestamp` projection.
    pub start: NaiveDate,
}

/// The data columns: AWS's documented CloudTrail table, with `identityprovider` added to
/// `useridentity`.
const COLUMNS: &[(&str, &str)] = &[
    ("eventversion", "string"),
    (
        "useridentity",
        "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,identityprovider:string,onbehalfof:struct<userid:string,identitystorearn:string>,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,ec2roledelivery:string,webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>",
    ),
    ("eventtime", "string"),
    ("eventsource", "string"),
    ("eventname", "string"),
    ("awsregion", "string"),
    ("sourceipaddress", "string"),
    ("useragent", "string"),
    ("errorcode", "string"),
    ("errormessage", "string"),
    ("requestparameters", "string"),
    ("responseelements", "string"),
    ("additionaleventdata", "string"),
    ("requestid", "string"),
    ("eventid", "string"),
    ("readonly", "string"),
    (
        "resources",
        "array<struct<arn:string,accountid:string,type:string>>",
    ),
    ("eventtype", "string"),
    ("apiversion", "string"),
    ("recipientaccountid", "string"),
    ("serviceeventdetails", "string"),
    ("sharedeventid", "string"),
    ("vpcendpointid", "string"),
    ("vpcendpointaccountid", "string"),
    ("eventcategory", "string"),
    (
        "addendum",
        "struct<reason:string,updatedfields:string,originalrequestid:string,originaleventid:string>",
    ),
    ("sessioncredentialfromconsole", "string"),
    ("edgedevicedetails", "string"),
    (
        "tlsdetails",
        "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>",
    ),
];

const SERDE: &str = "org.apache.hive.hcatalog.data.JsonSerDe";
const INPUT_FORMAT: &str = "com.amazon.emr.cloudtrail.CloudTrailInputFormat";
const OUTPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";

fn check(what: &str, value: &str, ok: impl Fn(char) -> bool) -> Result<()> {
    if value.is_empty() || !value.chars().all(ok) {
        bail!("{what} '{value}' is not valid");
    }
    Ok(())
}

fn is_account(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

fn validate(o: &DdlOptions) -> Result<()> {
    let name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    check("database name", &o.database, name)?;
    check("table name", &o.table, name)?;
    check("bucket name", &o.bucket, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'
    })?;
    if let Some(p) = &o.prefix {
        check("prefix", p.trim_matches('/'), |c| {
            c.is_ascii_alphanumeric() || "!-_.*()/".contains(c)
        })?;
    }
    let accounts: &[String] = match &o.scope {
        Scope::Account(a) => std::slice::from_ref(a),
        Scope::Accounts(l) if l.is_empty() => bail!("name the accounts that write into the bucket"),
        Scope::Accounts(l) => l,
        Scope::Organization { id, accounts } => {
            let ok = id.strip_prefix("o-").is_some_and(|rest| {
                (10..=32).contains(&rest.len())
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
            if !ok {
                bail!("'{id}' is not an organization id (o- and 10 to 32 lower-case letters or digits)");
            }
            match accounts {
                Accounts::Listed(l) if l.is_empty() => {
                    bail!("name the organization's accounts, or make the account key injected")
                }
                Accounts::Listed(l) => l,
                Accounts::Injected => &[],
            }
        }
    };
    if let Some(bad) = accounts.iter().find(|a| !is_account(a)) {
        bail!("'{bad}' is not an account id (12 digits)");
    }
    for r in &o.regions {
        check("region", r, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        })?;
    }
    Ok(())
}

/// `s3://bucket/[prefix/]AWSLogs/[o-…/]`.
fn logs_root(o: &DdlOptions) -> String {
    let mut root = format!("s3://{}/", o.bucket);
    if let Some(p) = o.prefix.as_deref().map(|p| p.trim_matches('/')) {
        if !p.is_empty() {
            root.push_str(p);
            root.push('/');
        }
    }
    root.push_str("AWSLogs/");
    if let Scope::Organization { id, .. } = &o.scope {
        root.push_str(id);
        root.push('/');
    }
    root
}

/// The table as the Glue Data Catalog will hold it once the DDL has run.
pub fn declared(o: &DdlOptions) -> Result<TableDef> {
    validate(o)?;
    let root = logs_root(o);
    let mut keys = Vec::new();
    let mut params = BTreeMap::new();
    let mut p = |k: &str, v: String| params.insert(k.to_owned(), v);
    p("projection.enabled", "true".into());
    let template = match &o.scope {
        Scope::Account(a) => format!("{root}{a}/CloudTrail/${{region}}/${{timestamp}}"),
        Scope::Accounts(l) => {
            keys.push("account");
            p("projection.account.type", "enum".into());
            p("projection.account.values", l.join(","));
            format!("{root}${{account}}/CloudTrail/${{region}}/${{timestamp}}")
        }
        Scope::Organization { accounts, .. } => {
            keys.push("account");
            match accounts {
                Accounts::Listed(l) => {
                    p("projection.account.type", "enum".into());
                    p("projection.account.values", l.join(","));
                }
                Accounts::Injected => {
                    p("projection.account.type", "injected".into());
                }
            }
            format!("{root}${{account}}/CloudTrail/${{region}}/${{timestamp}}")
        }
    };
    keys.push("region");
    if o.regions.is_empty() {
        p("projection.region.type", "injected".into());
    } else {
        p("projection.region.type", "enum".into());
        p("projection.region.values", o.regions.join(","));
    }
    keys.push("timestamp");
    p("projection.timestamp.type", "date".into());
    p("projection.timestamp.format", "yyyy/MM/dd".into());
    p(
        "projection.timestamp.range",
        format!("{},NOW", o.start.format("%Y/%m/%d")),
    );
    p("projection.timestamp.interval", "1".into());
    p("projection.timestamp.interval.unit", "DAYS".into());
    p("storage.location.template", template);
    p("classification", "cloudtrail".into());
    Ok(TableDef {
        catalog: "AwsDataCatalog".to_owned(),
        database: o.database.clone(),
        name: o.table.clone(),
        location: Some(root),
        columns: COLUMNS
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
        partition_keys: keys
            .into_iter()
            .map(|k| (k.to_owned(), "string".to_owned()))
            .collect(),
        parameters: params,
    })
}

/// `struct<a:string,b:struct<…>>` as DDL: upper-case keywords, one field per line at the
/// top level.
fn ddl_type(t: &str) -> String {
    t.replace(',', ", ")
        .replace("map<string, string>", "MAP<STRING, STRING>")
        .replace("struct<", "STRUCT<")
        .replace("array<", "ARRAY<")
        .replace(":string", ": STRING")
        .replace(":STRUCT<", ": STRUCT<")
        .replace(":ARRAY<", ": ARRAY<")
        .replace(":MAP<", ": MAP<")
}

/// The `CREATE EXTERNAL TABLE` statement of [`declared`]'s table.
pub fn create_table(o: &DdlOptions) -> Result<String> {
    let def = declared(o)?;
    let mut out = format!(
        "CREATE EXTERNAL TABLE `{}`.`{}` (\n",
        def.database, def.name
    );
    let cols: Vec<String> = def
        .columns
        .iter()
        .map(|(n, t)| {
            let ty = if t == "string" {
                "STRING".to_owned()
            } else {
                ddl_type(t)
            };
            format!("  `{n}` {ty}")
        })
        .collect();
    out.push_str(&cols.join(",\n"));
    out.push_str("\n)\n");
    out.push_str("COMMENT 'CloudTrail logs (trailwhy athena ddl): the AWS CloudTrail table plus useridentity.identityprovider'\n");
    let keys: Vec<String> = def
        .partition_keys
        .iter()
        .map(|(n, t)| format!("`{n}` {}", t.to_ascii_uppercase()))
        .collect();
    out.push_str(&format!("PARTITIONED BY ({})\n", keys.join(", ")));
    out.push_str(&format!("ROW FORMAT SERDE '{SERDE}'\n"));
    out.push_str(&format!(
        "STORED AS INPUTFORMAT '{INPUT_FORMAT}'\nOUTPUTFORMAT '{OUTPUT_FORMAT}'\n"
    ));
    out.push_str(&format!(
        "LOCATION '{}'\n",
        def.location.as_deref().unwrap_or_default()
    ));
    let props: Vec<String> = def
        .parameters
        .iter()
        .map(|(k, v)| format!("  '{k}'='{}'", v.replace('\'', "''")))
        .collect();
    out.push_str(&format!("TBLPROPERTIES (\n{}\n)", props.join(",\n")));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::table::{DateFormat, Meaning, Projection, Shape};
    use super::*;

    fn org(accounts: Accounts, regions: &[&str]) -> DdlOptions {
        DdlOptions {
            database: "trail".into(),
            table: "cloudtrail_logs".into(),
            bucket: "org-trail".into(),
            prefix: Some("audit/".into()),
            scope: Scope::Organization {
                id: "o-abcdefghij".into(),
                accounts,
            },
            regions: regions.iter().map(|r| r.to_string()).collect(),
            start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        }
    }

    /// Reads back what the DDL text declares: partition keys, location, properties, columns.
    fn parse_ddl(text: &str) -> TableDef {
        let between = |a: &str, b: &str| -> String {
            let i = text.find(a).unwrap() + a.len();
            let j = text[i..].find(b).unwrap() + i;
            text[i..j].to_owned()
        };
        let head = between("CREATE EXTERNAL TABLE `", "` (");
        let (database, name) = head.split_once("`.`").unwrap();
        let columns = between("` (\n", "\n)\nCOMMENT")
            .lines()
            .map(|l| {
                let l = l.trim().trim_end_matches(',');
                let (n, t) = l.split_once(' ').unwrap();
                let t = t.replace(", ", ",").replace(": ", ":").to_ascii_lowercase();
                (n.trim_matches('`').to_owned(), t)
            })
            .collect();
        let partition_keys = between("PARTITIONED BY (", ")\n")
            .split(", ")
            .map(|k| {
                let (n, t) = k.split_once(' ').unwrap();
                (n.trim_matches('`').to_owned(), t.to_ascii_lowercase())
            })
            .collect();
        let location = Some(between("LOCATION '", "'\n"));
        let parameters = between("TBLPROPERTIES (\n", "\n)")
            .lines()
            .map(|l| {
                let l = l.trim().trim_end_matches(',');
                let (k, v) = l.split_once("'='").unwrap();
                (
                    k.trim_start_matches('\'').to_owned(),
                    v.trim_end_matches('\'').replace("''", "'"),
                )
            })
            .collect();
        TableDef {
            catalog: "AwsDataCatalog".into(),
            database: database.into(),
            name: name.into(),
            location,
            columns,
            partition_keys,
            parameters,
        }
    }

    #[test]
    fn organization_table_round_trips_through_the_shape() {
        let o = org(
            Accounts::Listed(vec!["111122223333".into(), "444455556666".into()]),
            &["us-east-1", "eu-west-1"],
        );
        let def = declared(&o).unwrap();
        let text = create_table(&o).unwrap();
        assert_eq!(parse_ddl(&text), def, "{text}");
        assert_eq!(
            def.parameters["storage.location.template"],
            "s3://org-trail/audit/AWSLogs/o-abcdefghij/${account}/CloudTrail/${region}/${timestamp}"
        );
        assert_eq!(
            def.location.as_deref(),
            Some("s3://org-trail/audit/AWSLogs/o-abcdefghij/")
        );
        let shape = Shape::from_def(&def).unwrap();
        let meanings: Vec<(&str, &Meaning)> = shape
            .keys
            .iter()
            .map(|k| (k.name.as_str(), &k.meaning))
            .collect();
        assert_eq!(
            meanings,
            vec![
                ("account", &Meaning::Account),
                ("region", &Meaning::Region),
                ("timestamp", &Meaning::Date(DateFormat::slashes())),
            ]
        );
        assert_eq!(
            shape.keys[0].projection,
            Projection::Enum(vec!["111122223333".into(), "444455556666".into()])
        );
        assert_eq!(
            shape.keys[2].projection,
            Projection::Date {
                start: "2024/01/01".into(),
                end: "NOW".into()
            }
        );
        assert!(shape.has_identity_provider);
        assert!(text.contains("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'"));
        assert!(text.contains("identityprovider: STRING"), "{text}");
    }

    #[test]
    fn injected_accounts_and_regions() {
        let def = declared(&org(Accounts::Injected, &[])).unwrap();
        assert_eq!(def.parameters["projection.account.type"], "injected");
        assert_eq!(def.parameters["projection.region.type"], "injected");
        let shape = Shape::from_def(&def).unwrap();
        assert_eq!(shape.keys[0].projection, Projection::Injected);
        assert_eq!(shape.keys[1].projection, Projection::Injected);
    }

    #[test]
    fn single_account_table_fixes_the_account_in_the_template() {
        let o = DdlOptions {
            prefix: None,
            scope: Scope::Account("111122223333".into()),
            ..org(Accounts::Injected, &["us-east-1"])
        };
        let def = declared(&o).unwrap();
        assert_eq!(
            def.parameters["storage.location.template"],
            "s3://org-trail/AWSLogs/111122223333/CloudTrail/${region}/${timestamp}"
        );
        assert_eq!(parse_ddl(&create_table(&o).unwrap()), def);
        let shape = Shape::from_def(&def).unwrap();
        assert_eq!(shape.fixed_account.as_deref(), Some("111122223333"));
        let names: Vec<&str> = shape.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["region", "timestamp"]);
    }

    #[test]
    fn accounts_without_an_organization_are_an_enum_key_of_the_template() {
        let o = DdlOptions {
            scope: Scope::Accounts(vec!["111122223333".into(), "444455556666".into()]),
            ..org(Accounts::Injected, &["us-east-1"])
        };
        let def = declared(&o).unwrap();
        let text = create_table(&o).unwrap();
        assert_eq!(parse_ddl(&text), def, "{text}");
        assert_eq!(
            def.parameters["storage.location.template"],
            "s3://org-trail/audit/AWSLogs/${account}/CloudTrail/${region}/${timestamp}"
        );
        assert_eq!(
            def.location.as_deref(),
            Some("s3://org-trail/audit/AWSLogs/")
        );
        assert_eq!(def.parameters["projection.account.type"], "enum");
        assert_eq!(
            def.parameters["projection.account.values"],
            "111122223333,444455556666"
        );
        assert!(
            text.contains("PARTITIONED BY (`account` STRING, `region` STRING, `timestamp` STRING)"),
            "{text}"
        );
        assert!(
            text.contains("  'projection.account.values'='111122223333,444455556666',\n"),
            "{text}"
        );
        // read back: the account key, enumerated, and no fixed account
        let shape = Shape::from_def(&def).unwrap();
        assert_eq!(shape.keys[0].name, "account");
        assert_eq!(shape.keys[0].meaning, Meaning::Account);
        assert_eq!(
            shape.keys[0].projection,
            Projection::Enum(vec!["111122223333".into(), "444455556666".into()])
        );
        assert_eq!(shape.fixed_account, None);
        // no account, or a bad one, is refused
        let none = DdlOptions {
            scope: Scope::Accounts(Vec::new()),
            ..o.clone()
        };
        assert!(declared(&none)
            .unwrap_err()
            .to_string()
            .contains("accounts"));
        let bad = DdlOptions {
            scope: Scope::Accounts(vec!["111122223333".into(), "1111'".into()]),
            ..o
        };
        assert!(declared(&bad)
            .unwrap_err()
            .to_string()
            .contains("account id"));
    }

    #[test]
    fn hostile_options_are_refused() {
        let mut o = org(
            Accounts::Listed(vec!["111122223333".into()]),
            &["us-east-1"],
        );
        o.bucket = "b' OR 1=1".into();
        assert!(create_table(&o).unwrap_err().to_string().contains("bucket"));
        let mut o = org(Accounts::Listed(vec!["1111'".into()]), &["us-east-1"]);
        assert!(declared(&o).unwrap_err().to_string().contains("account id"));
        o.scope = Scope::Organization {
            id: "o-x".into(),
            accounts: Accounts::Injected,
        };
        assert!(declared(&o)
            .unwrap_err()
            .to_string()
            .contains("organization id"));
        let mut o = org(Accounts::Injected, &["us-east-1`"]);
        assert!(declared(&o).is_err());
        o.regions.clear();
        o.table = "t; DROP".into();
        assert!(declared(&o).unwrap_err().to_string().contains("table name"));
    }
}
