//! What a CloudTrail table in the Glue Data Catalog looks like to trailwhy: its columns,
//! partition keys and partition projection, read into a [`Shape`] that says which partition
//! key holds the account, the region and the date, whatever the table's author named them.
//!
//! The meaning of a key comes first from `storage.location.template` (the segments after
//! `AWSLogs/`: an optional organization id, the account, `CloudTrail`, the region, then
//! `yyyy/MM/dd` spelled by one key or three), then from the key's name (`account`,
//! `accountid`, `account_partition`, `region`, `region_partition`, `year`/`month`/`day`,
//! `timestamp`/`date`/`dt`/`date_partition`, …). Literal account or region segments of the
//! template (or of the table's `LOCATION`) are kept as the table's fixed account or region.
//!
//! This module reads a definition; it does not talk to Glue (the caller turns
//! `glue:GetTable` into a [`TableDef`]) and does not write SQL (`sql.rs`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};

/// A table definition as the Glue Data Catalog returns it (`glue:GetTable`), free of SDK
/// types so it can be built in tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableDef {
    pub catalog: String,
    pub database: String,
    pub name: String,
    /// `StorageDescriptor.Location`.
    pub location: Option<String>,
    /// Data columns (not partition keys): name and Hive type text as Glue stores it
    /// (`string`, `struct<type:string,principalid:string,…>`, `array<struct<…>>`).
    pub columns: Vec<(String, String)>,
    /// Partition keys in order: name and type.
    pub partition_keys: Vec<(String, String)>,
    /// Table parameters (`projection.enabled`, `projection.<key>.type`, …,
    /// `storage.location.template`).
    pub parameters: BTreeMap<String, String>,
}

/// What trailwhy knows of a CloudTrail table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub database: String,
    pub table: String,
    /// The partition keys in the table's order, each with its meaning.
    pub keys: Vec<PartitionKey>,
    /// The one account whose logs the table holds, when the location names it literally
    /// (AWS's single-account table): `--account` is then only a column predicate.
    pub fixed_account: Option<String>,
    /// The one region, likewise.
    pub fixed_region: Option<String>,
    /// The data columns' names, lower-cased.
    pub columns: BTreeSet<String>,
    /// Whether `useridentity` has an `identityprovider` field (AWS's table lacks it; the
    /// table of `trailwhy athena ddl` has it).
    pub has_identity_provider: bool,
}

/// One partition key and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKey {
    pub name: String,
    pub meaning: Meaning,
    pub projection: Projection,
    /// The key's type is an integer (`int`, `bigint`, …): values are written as numbers.
    pub numeric: bool,
}

/// What a partition key holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    Account,
    Region,
    /// `yyyy`.
    Year,
    /// `MM` (two digits unless `padded` is false: an integer projection without `digits`).
    Month {
        padded: bool,
    },
    /// `dd`, likewise.
    Day {
        padded: bool,
    },
    /// The whole date in one value, spelled as `DateFormat` says.
    Date(DateFormat),
    /// A key trailwhy has no use for: no predicate is written for it.
    Other,
}

/// How partition projection computes a key's values (`projection.<key>.type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// No projection: the partitions are registered in the catalog.
    None,
    /// `injected`: Athena needs an equality or `IN` predicate on the key in every query.
    Injected,
    Enum(Vec<String>),
    Integer {
        start: i64,
        end: i64,
    },
    /// `date`: the range's two ends as written (`2023/01/01`, `NOW`, `NOW-3YEARS`).
    Date {
        start: String,
        end: String,
    },
}

/// A date spelled with `yyyy`, `MM`, `dd` and literal separators (Java's
/// `DateTimeFormatter` letters, as partition projection takes them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    pub pattern: String,
    parts: Vec<DatePart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DatePart {
    Year,
    Month,
    Day,
    Literal(String),
}

impl DateFormat {
    /// Parses a format of `yyyy`, `MM`, `dd` and separators; anything else (hours, two-digit
    /// years, quoted text) is refused.
    pub fn parse(pattern: &str) -> Option<DateFormat> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        let mut seen = [false; 3];
        while !rest.is_empty() {
            let (part, len) = if rest.starts_with("yyyy") || rest.starts_with("uuuu") {
                (DatePart::Year, 4)
            } else if rest.starts_with("MM") {
                (DatePart::Month, 2)
            } else if rest.starts_with("dd") {
                (DatePart::Day, 2)
            } else {
                let c = rest.chars().next()?;
                if c.is_ascii_alphanumeric() || c == '\'' {
                    return None;
                }
                (DatePart::Literal(c.to_string()), c.len_utf8())
            };
            let slot = match part {
                DatePart::Year => Some(0),
                DatePart::Month => Some(1),
                DatePart::Day => Some(2),
                DatePart::Literal(_) => None,
            };
            if let Some(i) = slot {
                if seen[i] {
                    return None;
                }
                seen[i] = true;
            }
            parts.push(part);
            rest = &rest[len..];
        }
        seen.iter().all(|s| *s).then(|| DateFormat {
            pattern: pattern.to_owned(),
            parts,
        })
    }

    /// `yyyy/MM/dd`, the spelling of CloudTrail's key layout.
    pub fn slashes() -> DateFormat {
        DateFormat {
            pattern: "yyyy/MM/dd".to_owned(),
            parts: vec![
                DatePart::Year,
                DatePart::Literal("/".into()),
                DatePart::Month,
                DatePart::Literal("/".into()),
                DatePart::Day,
            ],
        }
    }

    pub fn format(&self, d: NaiveDate) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                DatePart::Year => out.push_str(&format!("{:04}", d.year())),
                DatePart::Month => out.push_str(&format!("{:02}", d.month())),
                DatePart::Day => out.push_str(&format!("{:02}", d.day())),
                DatePart::Literal(s) => out.push_str(s),
            }
        }
        out
    }

    pub fn parse_date(&self, text: &str) -> Option<NaiveDate> {
        let (mut y, mut m, mut d) = (None, None, None);
        let mut rest = text;
        for p in &self.parts {
            match p {
                DatePart::Literal(s) => rest = rest.strip_prefix(s.as_str())?,
                DatePart::Year | DatePart::Month | DatePart::Day => {
                    let n = if matches!(p, DatePart::Year) { 4 } else { 2 };
                    let digits = rest.get(..n)?;
                    if !digits.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let v: u32 = digits.parse().ok()?;
                    match p {
                        DatePart::Year => y = Some(v),
                        DatePart::Month => m = Some(v),
                        _ => d = Some(v),
                    }
                    rest = &rest[n..];
                }
            }
        }
        if !rest.is_empty() {
            return None;
        }
        NaiveDate::from_ymd_opt(i32::try_from(y?).ok()?, m?, d?)
    }

    /// Whether the spelling sorts as the dates do (year, month, day in that order), so a
    /// range of days is a string range.
    pub fn sorts_by_date(&self) -> bool {
        let order: Vec<u8> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                DatePart::Year => Some(0),
                DatePart::Month => Some(1),
                DatePart::Day => Some(2),
                DatePart::Literal(_) => None,
            })
            .collect();
        order == [0, 1, 2]
    }
}

/// `useridentity` as every variant of AWS's CloudTrail table declares it.
const USERIDENTITY: &str = "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>>>";

/// The data columns every variant of AWS's CloudTrail table has (the documented table, the
/// console's, the AWS Labs one): the only ones the statements may use, besides
/// `useridentity.identityprovider` where a table has it (`identity_provider`), as the table
/// of `trailwhy athena ddl` does. Hive type text, as Glue stores it.
pub fn common_columns(identity_provider: bool) -> Vec<(String, String)> {
    let ident = if identity_provider {
        USERIDENTITY.replace(
            "username:string,",
            "username:string,identityprovider:string,",
        )
    } else {
        USERIDENTITY.to_owned()
    };
    let mut cols = vec![("eventversion".to_owned(), "string".to_owned())];
    cols.push(("useridentity".to_owned(), ident));
    for c in [
        "eventtime",
        "eventsource",
        "eventname",
        "awsregion",
        "sourceipaddress",
        "useragent",
        "errorcode",
        "errormessage",
        "requestparameters",
        "responseelements",
        "additionaleventdata",
        "requestid",
        "eventid",
    ] {
        cols.push((c.to_owned(), "string".to_owned()));
    }
    cols.push((
        "resources".to_owned(),
        "array<struct<arn:string,accountid:string,type:string>>".to_owned(),
    ));
    for c in [
        "eventtype",
        "apiversion",
        "readonly",
        "recipientaccountid",
        "serviceeventdetails",
        "sharedeventid",
        "vpcendpointid",
    ] {
        cols.push((c.to_owned(), "string".to_owned()));
    }
    cols
}

/// The names a key's meaning is guessed from when the template does not say.
const ACCOUNT_NAMES: &[&str] = &[
    "account",
    "accountid",
    "account_id",
    "account_partition",
    "accountpartition",
    "aws_account",
    "aws_account_id",
    "recipientaccountid",
];
const REGION_NAMES: &[&str] = &[
    "region",
    "region_partition",
    "regionpartition",
    "aws_region",
    "awsregion",
];
const DATE_NAMES: &[&str] = &[
    "timestamp",
    "date",
    "dt",
    "date_partition",
    "datepartition",
    "event_date",
    "eventdate",
    "partition_date",
    "day_partition",
];

impl Shape {
    /// Reads a table definition: which key holds what, its projection, the columns.
    pub fn from_def(def: &TableDef) -> Result<Shape> {
        let table = format!("{}.{}", def.database, def.name);
        if def.partition_keys.is_empty() {
            bail!(
                "table {table} has no partition keys: every query would scan the whole trail; \
                 create a partitioned table with `trailwhy athena ddl`"
            );
        }
        let params: BTreeMap<String, &str> = def
            .parameters
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
            .collect();
        let projection_on = params
            .get("projection.enabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let template = params.get("storage.location.template").copied();
        let layout = template.map(Layout::read);
        let location_layout = def.location.as_deref().map(Layout::read);

        let mut keys = Vec::new();
        for (name, ty) in &def.partition_keys {
            let lname = name.to_ascii_lowercase();
            let prop = |p: &str| params.get(&format!("projection.{lname}.{p}")).copied();
            let projection = if projection_on {
                read_projection(&lname, prop)?
            } else {
                Projection::None
            };
            let numeric = matches!(
                ty.trim().to_ascii_lowercase().as_str(),
                "int" | "integer" | "bigint" | "smallint" | "tinyint"
            );
            let padded = match (&projection, prop("digits")) {
                (Projection::Integer { .. }, digits) => {
                    digits
                        .and_then(|d| d.trim().parse::<u32>().ok())
                        .unwrap_or(1)
                        >= 2
                }
                _ => !numeric,
            };
            let by_template = layout.as_ref().and_then(|l| l.meaning_of(&lname));
            let meaning = match by_template {
                Some(Slot::Account) => Meaning::Account,
                Some(Slot::Region) => Meaning::Region,
                Some(Slot::Year) => Meaning::Year,
                Some(Slot::Month) => Meaning::Month { padded },
                Some(Slot::Day) => Meaning::Day { padded },
                Some(Slot::Date) => Meaning::Date(date_format(name, &projection, prop)?),
                None => {
                    if ACCOUNT_NAMES.contains(&lname.as_str()) {
                        Meaning::Account
                    } else if REGION_NAMES.contains(&lname.as_str()) {
                        Meaning::Region
                    } else if lname == "year" || lname == "yyyy" {
                        Meaning::Year
                    } else if lname == "month" || lname == "mm" {
                        Meaning::Month { padded }
                    } else if lname == "day" || lname == "dd" {
                        Meaning::Day { padded }
                    } else if DATE_NAMES.contains(&lname.as_str())
                        || matches!(projection, Projection::Date { .. })
                    {
                        Meaning::Date(date_format(name, &projection, prop)?)
                    } else {
                        Meaning::Other
                    }
                }
            };
            if matches!(meaning, Meaning::Date(_))
                && matches!(projection, Projection::Integer { .. })
            {
                bail!("partition key {name} of {table} holds the date but is projected as integers: trailwhy cannot spell its values");
            }
            keys.push(PartitionKey {
                name: name.clone(),
                meaning,
                projection,
                numeric,
            });
        }
        let has_date = keys.iter().any(|k| matches!(k.meaning, Meaning::Date(_)))
            || keys.iter().any(|k| k.meaning == Meaning::Year);
        if !has_date {
            let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
            bail!(
                "no partition key of {table} holds the date (keys: {}): every query would scan the whole trail; \
                 create a table with `trailwhy athena ddl`",
                names.join(", ")
            );
        }
        let literal = |f: fn(&Layout) -> Option<String>| {
            layout
                .as_ref()
                .and_then(f)
                .or_else(|| location_layout.as_ref().and_then(f))
        };
        let fixed_account = if keys.iter().any(|k| k.meaning == Meaning::Account) {
            None
        } else {
            literal(|l| l.literal_account.clone())
        };
        let fixed_region = if keys.iter().any(|k| k.meaning == Meaning::Region) {
            None
        } else {
            literal(|l| l.literal_region.clone())
        };

        let mut columns = BTreeSet::new();
        let mut has_identity_provider = false;
        for (name, ty) in &def.columns {
            let lname = name.to_ascii_lowercase();
            if lname == "useridentity" {
                has_identity_provider =
                    HiveType::parse(ty).is_some_and(|t| t.field("identityprovider").is_some());
            }
            columns.insert(lname);
        }
        Ok(Shape {
            database: def.database.clone(),
            table: def.name.clone(),
            keys,
            fixed_account,
            fixed_region,
            columns,
            has_identity_provider,
        })
    }
}

fn read_projection<'a>(key: &str, prop: impl Fn(&str) -> Option<&'a str>) -> Result<Projection> {
    let Some(kind) = prop("type") else {
        return Ok(Projection::None);
    };
    Ok(match kind.trim().to_ascii_lowercase().as_str() {
        "injected" => Projection::Injected,
        "enum" => Projection::Enum(
            prop("values")
                .unwrap_or_default()
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect(),
        ),
        "integer" => {
            let range = prop("range").unwrap_or_default();
            let (a, b) = range.split_once(',').unwrap_or((range, range));
            match (a.trim().parse(), b.trim().parse()) {
                (Ok(start), Ok(end)) => Projection::Integer { start, end },
                _ => bail!("projection.{key}.range '{range}' is not two integers"),
            }
        }
        "date" => {
            let range = prop("range").unwrap_or_default();
            let Some((a, b)) = range.split_once(',') else {
                bail!("projection.{key}.range '{range}' is not two dates");
            };
            if let Some(unit) = prop("interval.unit") {
                if !unit.trim().eq_ignore_ascii_case("days") {
                    bail!("projection.{key}.interval.unit is {unit}: trailwhy reads daily date partitions only");
                }
            }
            Projection::Date {
                start: a.trim().to_owned(),
                end: b.trim().to_owned(),
            }
        }
        other => bail!("projection.{key}.type '{other}' is not one Athena knows"),
    })
}

fn date_format<'a>(
    name: &str,
    projection: &Projection,
    prop: impl Fn(&str) -> Option<&'a str>,
) -> Result<DateFormat> {
    match (projection, prop("format")) {
        (_, Some(f)) => DateFormat::parse(f.trim())
            .ok_or_else(|| anyhow!("partition key {name} holds the date in format '{f}', which trailwhy cannot spell (it knows yyyy, MM, dd and separators)")),
        (Projection::Date { .. }, None) => bail!("partition key {name} is a date projection without projection.{name}.format"),
        _ => Ok(DateFormat::slashes()),
    }
}

/// The role of one segment of a CloudTrail key layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Account,
    Region,
    Year,
    Month,
    Day,
    /// One key for `yyyy/MM/dd` (its value holds slashes) or a dated segment.
    Date,
}

/// `…/AWSLogs/[o-…/]ACCOUNT/CloudTrail/REGION/yyyy/MM/dd`, read from a template or location.
#[derive(Debug, Default)]
struct Layout {
    keys: Vec<(String, Slot)>,
    literal_account: Option<String>,
    literal_region: Option<String>,
}

impl Layout {
    fn read(template: &str) -> Layout {
        let mut out = Layout::default();
        let Some(at) = template.find("AWSLogs/") else {
            return out;
        };
        let segs: Vec<&str> = template[at + "AWSLogs/".len()..]
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let Some(ct) = segs.iter().position(|s| *s == "CloudTrail") else {
            return out;
        };
        let note = |seg: &str, slot: Slot, out: &mut Layout| match key_of(seg) {
            Some(k) => out.keys.push((k, slot)),
            None => match slot {
                Slot::Account if seg.bytes().all(|b| b.is_ascii_digit()) => {
                    out.literal_account = Some(seg.to_owned())
                }
                Slot::Region => out.literal_region = Some(seg.to_owned()),
                _ => {}
            },
        };
        if ct >= 1 {
            note(segs[ct - 1], Slot::Account, &mut out);
        }
        if let Some(r) = segs.get(ct + 1) {
            note(r, Slot::Region, &mut out);
        }
        let date: Vec<&str> = segs.iter().skip(ct + 2).copied().collect();
        match date.len() {
            0 => {}
            1 | 2 => {
                for s in date {
                    note(s, Slot::Date, &mut out);
                }
            }
            _ => {
                for (s, slot) in date.iter().zip([Slot::Year, Slot::Month, Slot::Day]) {
                    note(s, slot, &mut out);
                }
            }
        }
        out
    }

    fn meaning_of(&self, key: &str) -> Option<Slot> {
        self.keys
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, s)| *s)
    }
}

/// `${key}` → `key`.
fn key_of(seg: &str) -> Option<String> {
    seg.strip_prefix("${")?
        .strip_suffix('}')
        .map(|k| k.to_ascii_lowercase())
}

/// A Hive type, as much as trailwhy reads of it: struct fields by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HiveType {
    Struct(Vec<(String, HiveType)>),
    Array(Box<HiveType>),
    Map(Box<HiveType>, Box<HiveType>),
    Scalar(String),
}

impl HiveType {
    /// Parses Glue's type text (`struct<a:string,b:array<struct<c:int>>>`); `None` when it
    /// is not well formed.
    pub fn parse(text: &str) -> Option<HiveType> {
        let mut p = TypeParser {
            s: text.as_bytes(),
            i: 0,
        };
        let t = p.ty()?;
        p.ws();
        (p.i == p.s.len()).then_some(t)
    }

    /// A struct's field, by name, ignoring case.
    pub fn field(&self, name: &str) -> Option<&HiveType> {
        match self {
            HiveType::Struct(fields) => fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, t)| t),
            _ => None,
        }
    }
}

struct TypeParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl TypeParser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Option<String> {
        self.ws();
        let quoted = self.s.get(self.i) == Some(&b'`');
        if quoted {
            self.i += 1;
        }
        let start = self.i;
        while let Some(&b) = self.s.get(self.i) {
            let ok = if quoted {
                b != b'`'
            } else {
                b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
            };
            if !ok {
                break;
            }
            self.i += 1;
        }
        let w = std::str::from_utf8(&self.s[start..self.i]).ok()?.to_owned();
        if quoted && !self.eat(b'`') {
            return None;
        }
        (!w.is_empty()).then_some(w)
    }

    fn ty(&mut self) -> Option<HiveType> {
        let w = self.word()?.to_ascii_lowercase();
        match w.as_str() {
            "struct" => {
                if !self.eat(b'<') {
                    return None;
                }
                let mut fields = Vec::new();
                if self.eat(b'>') {
                    return Some(HiveType::Struct(fields));
                }
                loop {
                    let name = self.word()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    fields.push((name, self.ty()?));
                    if self.eat(b',') {
                        continue;
                    }
                    return self.eat(b'>').then_some(HiveType::Struct(fields));
                }
            }
            "array" => {
                if !self.eat(b'<') {
                    return None;
                }
                let t = self.ty()?;
                self.eat(b'>').then(|| HiveType::Array(Box::new(t)))
            }
            "map" => {
                if !self.eat(b'<') {
                    return None;
                }
                let k = self.ty()?;
                if !self.eat(b',') {
                    return None;
                }
                let v = self.ty()?;
                self.eat(b'>')
                    .then(|| HiveType::Map(Box::new(k), Box::new(v)))
            }
            _ => {
                // decimal(10,2), varchar(20)
                if self.eat(b'(') {
                    while self.s.get(self.i).is_some_and(|&b| b != b')') {
                        self.i += 1;
                    }
                    if !self.eat(b')') {
                        return None;
                    }
                }
                Some(HiveType::Scalar(w))
            }
        }
    }
}

/// One end of a date projection's range: a date in the key's format, or `NOW` with an
/// optional offset (`NOW-3YEARS`, `NOW+1DAY`), evaluated against `now`.
pub fn range_end(text: &str, format: &DateFormat, now: DateTime<Utc>) -> Option<NaiveDate> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix("NOW") else {
        return format.parse_date(t);
    };
    let today = now.date_naive();
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(today);
    }
    let (sign, rest) = match rest.as_bytes()[0] {
        b'+' => (1i64, &rest[1..]),
        b'-' => (-1i64, &rest[1..]),
        _ => return None,
    };
    let split = rest.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = rest[..split].parse().ok()?;
    let unit = rest[split..].trim().trim_end_matches('S');
    let n_u32 = u32::try_from(n).ok()?;
    match unit {
        "YEAR" | "MONTH" => {
            let months = Months::new(if unit == "YEAR" {
                n_u32.checked_mul(12)?
            } else {
                n_u32
            });
            if sign > 0 {
                today.checked_add_months(months)
            } else {
                today.checked_sub_months(months)
            }
        }
        "WEEK" | "DAY" | "HOUR" | "MINUTE" | "SECOND" => {
            let d = match unit {
                "WEEK" => Duration::try_weeks(n)?,
                "DAY" => Duration::try_days(n)?,
                "HOUR" => Duration::try_hours(n)?,
                "MINUTE" => Duration::try_minutes(n)?,
                _ => Duration::try_seconds(n)?,
            };
            now.checked_add_signed(d * sign as i32)
                .map(|t| t.date_naive())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) const USERIDENTITY: &str = "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,username:string,sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>>>";

    #[test]
    fn the_common_columns_say_whether_identityprovider_is_there() {
        for with in [false, true] {
            let mut d = def(
                &["timestamp"],
                &[],
                Some("s3://b/AWSLogs/111122223333/CloudTrail/us-east-1/"),
            );
            d.columns = common_columns(with);
            let s = Shape::from_def(&d).unwrap();
            assert_eq!(s.has_identity_provider, with);
            assert_eq!(s.columns.len(), 23);
            assert!(s.columns.contains("resources") && s.columns.contains("vpcendpointid"));
        }
    }

    fn def(keys: &[&str], params: &[(&str, &str)], location: Option<&str>) -> TableDef {
        TableDef {
            catalog: "AwsDataCatalog".into(),
            database: "trail".into(),
            name: "cloudtrail_logs".into(),
            location: location.map(str::to_owned),
            columns: vec![
                ("eventversion".into(), "string".into()),
                ("useridentity".into(), USERIDENTITY.into()),
                ("eventtime".into(), "string".into()),
            ],
            partition_keys: keys
                .iter()
                .map(|k| (k.to_string(), "string".to_string()))
                .collect(),
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn meanings(s: &Shape) -> Vec<(String, Meaning)> {
        s.keys
            .iter()
            .map(|k| (k.name.clone(), k.meaning.clone()))
            .collect()
    }

    #[test]
    fn aws_single_account_projection() {
        let s = Shape::from_def(&def(
            &["timestamp"],
            &[
                ("projection.enabled", "true"),
                ("projection.timestamp.type", "date"),
                ("projection.timestamp.format", "yyyy/MM/dd"),
                ("projection.timestamp.range", "2023/01/01,NOW"),
                ("projection.timestamp.interval", "1"),
                ("projection.timestamp.interval.unit", "DAYS"),
                (
                    "storage.location.template",
                    "s3://bucket/AWSLogs/111122223333/CloudTrail/eu-west-1/${timestamp}",
                ),
            ],
            Some("s3://bucket/AWSLogs/111122223333/CloudTrail/eu-west-1"),
        ))
        .unwrap();
        assert_eq!(
            meanings(&s),
            vec![("timestamp".into(), Meaning::Date(DateFormat::slashes()))]
        );
        assert_eq!(s.fixed_account.as_deref(), Some("111122223333"));
        assert_eq!(s.fixed_region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            s.keys[0].projection,
            Projection::Date {
                start: "2023/01/01".into(),
                end: "NOW".into()
            }
        );
        assert!(!s.has_identity_provider);
    }

    #[test]
    fn org_template_decides_over_names() {
        // names that would mislead: the template says which is which
        let s = Shape::from_def(&def(
            &["a", "b", "y", "m", "d"],
            &[
                ("projection.enabled", "true"),
                ("projection.a.type", "injected"),
                ("projection.b.type", "enum"),
                ("projection.b.values", "us-east-1,eu-west-1"),
                ("projection.y.type", "integer"),
                ("projection.y.range", "2020,2030"),
                ("projection.m.type", "integer"),
                ("projection.m.range", "1,12"),
                ("projection.m.digits", "2"),
                ("projection.d.type", "integer"),
                ("projection.d.range", "1,31"),
                (
                    "storage.location.template",
                    "s3://bucket/AWSLogs/o-abc/${a}/CloudTrail/${b}/${y}/${m}/${d}",
                ),
            ],
            None,
        ))
        .unwrap();
        assert_eq!(
            meanings(&s),
            vec![
                ("a".into(), Meaning::Account),
                ("b".into(), Meaning::Region),
                ("y".into(), Meaning::Year),
                ("m".into(), Meaning::Month { padded: true }),
                ("d".into(), Meaning::Day { padded: false }),
            ]
        );
        assert_eq!(s.keys[0].projection, Projection::Injected);
        assert_eq!(
            s.keys[1].projection,
            Projection::Enum(vec!["us-east-1".into(), "eu-west-1".into()])
        );
        assert_eq!(s.fixed_account, None);
    }

    #[test]
    fn org_timestamp_and_names() {
        let s = Shape::from_def(&def(
            &["account", "region", "timestamp"],
            &[
                ("projection.enabled", "true"),
                ("projection.timestamp.type", "date"),
                ("projection.timestamp.format", "yyyy/MM/dd"),
                ("projection.timestamp.range", "NOW-3YEARS,NOW"),
                ("projection.account.type", "enum"),
                ("projection.account.values", "111122223333,444455556666"),
                ("projection.region.type", "enum"),
                ("projection.region.values", "us-east-1"),
                (
                    "storage.location.template",
                    "s3://b/p/AWSLogs/o-x/${account}/CloudTrail/${region}/${timestamp}",
                ),
            ],
            None,
        ))
        .unwrap();
        assert_eq!(
            meanings(&s),
            vec![
                ("account".into(), Meaning::Account),
                ("region".into(), Meaning::Region),
                ("timestamp".into(), Meaning::Date(DateFormat::slashes())),
            ]
        );
    }

    #[test]
    fn labs_names_without_projection() {
        let s = Shape::from_def(&def(
            &["account_partition", "region_partition", "date_partition"],
            &[],
            Some("s3://b/AWSLogs/o-x/"),
        ))
        .unwrap();
        assert_eq!(
            meanings(&s),
            vec![
                ("account_partition".into(), Meaning::Account),
                ("region_partition".into(), Meaning::Region),
                (
                    "date_partition".into(),
                    Meaning::Date(DateFormat::slashes())
                ),
            ]
        );
        assert!(s.keys.iter().all(|k| k.projection == Projection::None));
    }

    #[test]
    fn registered_partitions_with_location_account() {
        // AWS's manual-partition table: region/year/month/day under one account's prefix
        let s = Shape::from_def(&def(
            &["region", "year", "month", "day"],
            &[],
            Some("s3://b/AWSLogs/111122223333/CloudTrail/"),
        ))
        .unwrap();
        assert_eq!(s.fixed_account.as_deref(), Some("111122223333"));
        assert_eq!(s.fixed_region, None);
        assert_eq!(s.keys[3].meaning, Meaning::Day { padded: true });
    }

    #[test]
    fn date_in_other_formats() {
        let s = Shape::from_def(&def(
            &["dt"],
            &[
                ("projection.enabled", "true"),
                ("projection.dt.type", "date"),
                ("projection.dt.format", "dd-MM-yyyy"),
                ("projection.dt.range", "01-01-2024,NOW"),
            ],
            None,
        ))
        .unwrap();
        let Meaning::Date(f) = &s.keys[0].meaning else {
            panic!("{s:?}")
        };
        assert!(!f.sorts_by_date());
        assert_eq!(
            f.format(NaiveDate::from_ymd_opt(2026, 3, 4).unwrap()),
            "04-03-2026"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = Shape::from_def(&def(&[], &[], None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no partition keys") && e.contains("trailwhy athena ddl"),
            "{e}"
        );
        let e = Shape::from_def(&def(
            &["timestamp"],
            &[
                ("projection.enabled", "true"),
                ("projection.timestamp.type", "date"),
                ("projection.timestamp.format", "yyyy/MM/dd/HH"),
                ("projection.timestamp.range", "2024/01/01/00,NOW"),
            ],
            None,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("timestamp") && e.contains("yyyy/MM/dd/HH"),
            "{e}"
        );
        let e = Shape::from_def(&def(&["region", "account"], &[], None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("holds the date") && e.contains("region, account"),
            "{e}"
        );
    }

    #[test]
    fn identity_provider_field_is_found() {
        let mut d = def(&["timestamp"], &[], None);
        assert!(!Shape::from_def(&d).unwrap().has_identity_provider);
        d.columns[1].1 = USERIDENTITY.replace(
            "username:string,",
            "username:string,identityprovider:string,",
        );
        let s = Shape::from_def(&d).unwrap();
        assert!(s.has_identity_provider);
        assert!(s.columns.contains("eventtime"));
        assert!(HiveType::parse(
            "struct<a:array<struct<b:map<string,string>>>,`c d`:decimal(10,2)>"
        )
        .is_some());
        assert!(HiveType::parse("struct<a:string").is_none());
    }

    #[test]
    fn range_ends() {
        let now = Utc.with_ymd_and_hms(2026, 10, 2, 12, 0, 0).unwrap();
        let f = DateFormat::slashes();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(range_end("NOW", &f, now), d(2026, 10, 2));
        assert_eq!(range_end("NOW-3YEARS", &f, now), d(2023, 10, 2));
        assert_eq!(range_end("NOW+1DAY", &f, now), d(2026, 10, 3));
        assert_eq!(range_end("NOW-36HOURS", &f, now), d(2026, 10, 1));
        assert_eq!(range_end("2023/01/01", &f, now), d(2023, 1, 1));
        assert_eq!(range_end("2023-01-01", &f, now), None);
    }
}
