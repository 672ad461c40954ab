//! CodeBuild-hosted GitHub Actions runners: from builds and the CodeBuild change history to
//! causes, grouped into findings by project and cause.
//!
//! - `codebuild_runner_credential_lacks_admin`: a build's phase failed because GitHub refused
//!   the just-in-time runner configuration (the identity behind CodeBuild's GitHub credential
//!   is not a repository admin). The explanation names the credential in force when the build
//!   started and who set it up, from `codebuild::credential`.
//! - `codebuild_webhook_missing_job_queued`: a runner project's webhook was set without a
//!   `WORKFLOW_JOB_QUEUED` event filter.
//! - `codebuild_build_failed`: any other failed build, with its phase and context.
//!
//! A finding's `event_ids` are build ids (CloudTrail event ids for webhook findings), its
//! times the builds' start times. Nothing here reads files or prints.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{Cause, Finding, Text};
use crate::codebuild::credential::{job_queued_filter, Credential, History, ProjectRef, Scope};
use crate::codebuild::{merge_builds, Build, BuildDoc};
use crate::event::EventId;
use crate::inventory::Inventory;
use crate::select::ChangeEvent;
use crate::selection::Window;

/// The `event_name` of build findings.
pub const BUILD_EVENT_NAME: &str = "CodeBuildBuild";

/// Explains every failed build in the window and every runner webhook without
/// `WORKFLOW_JOB_QUEUED`, against the CodeBuild change events in the inventory.
pub fn explain_codebuild(
    docs: &[BuildDoc],
    inventory: &Inventory,
    window: &Window,
) -> Vec<Finding> {
    let history = History::new(inventory.accounts.values().flat_map(|a| a.changes.iter()));
    let builds = merge_builds(docs);
    let mut findings = explain_builds(&builds, &history, window);
    findings.extend(explain_webhooks(&builds, &history, window));
    findings
}

fn accepts(window: &Window, t: DateTime<Utc>, account: Option<&str>, region: Option<&str>) -> bool {
    window.contains_time(t)
        && (window.accounts.is_empty()
            || account.is_some_and(|a| window.accounts.iter().any(|x| x == a)))
        && (window.regions.is_empty()
            || region.is_some_and(|r| window.regions.iter().any(|x| x == r)))
}

/// One failed build and what was found about it.
struct Judged<'b> {
    build: &'b Build,
    start: DateTime<Utc>,
    cause: Cause,
    phase: String,
    code: String,
    message: Option<String>,
    credential: Option<Credential>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    cause: Cause,
    project: String,
    resource: String,
    phase: String,
    code: String,
    /// Other failures are told apart by their message; runner failures by the credential.
    message: String,
    credential: String,
}

fn explain_builds(builds: &[Build], history: &History<'_>, window: &Window) -> Vec<Finding> {
    let mut groups: BTreeMap<GroupKey, Vec<Judged<'_>>> = BTreeMap::new();
    for b in builds.iter().filter(|b| b.is_failure()) {
        let Some(start) = b.start else { continue };
        if !accepts(window, start, b.account.as_deref(), b.region.as_deref()) {
            continue;
        }
        let j = judge(b, start, history);
        let key = GroupKey {
            cause: j.cause,
            project: b.project.clone().unwrap_or_default(),
            resource: b.project_arn().unwrap_or_default(),
            phase: j.phase.clone(),
            code: j.code.clone(),
            message: if j.cause == Cause::CodebuildBuildFailed {
                j.message.clone().unwrap_or_default()
            } else {
                String::new()
            },
            credential: j
                .credential
                .as_ref()
                .map(|c| c.event_id.clone())
                .unwrap_or_default(),
        };
        groups.entry(key).or_default().push(j);
    }
    groups
        .into_values()
        .filter_map(|group| finding(&group, history))
        .collect()
}

fn judge<'b>(b: &'b Build, start: DateTime<Utc>, history: &History<'_>) -> Judged<'b> {
    let project = b.project.as_deref().map(|name| ProjectRef {
        account: b.account.as_deref(),
        region: b.region.as_deref(),
        name,
    });
    if let Some((phase, ctx)) = b.jit_failure() {
        return Judged {
            build: b,
            start,
            cause: Cause::CodebuildRunnerCredentialLacksAdmin,
            phase: phase.kind.clone(),
            code: ctx.status_code.clone().unwrap_or_else(|| status_of(b)),
            message: ctx.message.clone(),
            credential: project
                .and_then(|p| history.credential_at(&p, github_source_type(b), start)),
        };
    }
    let phase = b.failed_phase();
    let ctx = phase.and_then(|p| p.contexts.first());
    Judged {
        build: b,
        start,
        cause: Cause::CodebuildBuildFailed,
        phase: phase.map_or_else(|| "UNKNOWN_PHASE".to_owned(), |p| p.kind.clone()),
        code: ctx
            .and_then(|c| c.status_code.clone())
            .unwrap_or_else(|| status_of(b)),
        message: ctx.and_then(|c| c.message.clone()),
        credential: None,
    }
}

/// The build's source type when it is a GitHub one: a runner's credential is a GitHub
/// credential whatever else a build record says (moto, for one, says CODECOMMIT).
fn github_source_type(b: &Build) -> Option<&str> {
    b.source_type.as_deref().filter(|t| t.starts_with("GITHUB"))
}

fn status_of(b: &Build) -> String {
    b.status.clone().unwrap_or_else(|| "FAILED".to_owned())
}

fn finding(group: &[Judged<'_>], history: &History<'_>) -> Option<Finding> {
    let first = group.first()?;
    let b = first.build;
    let first_seen = group.iter().map(|j| j.start).min()?;
    let last_seen = group.iter().map(|j| j.start).max()?;
    let ids: Vec<String> = group.iter().map(|j| j.build.label()).collect();
    let mut regions: Vec<String> = Vec::new();
    for r in group.iter().filter_map(|j| j.build.region.clone()) {
        if !regions.contains(&r) {
            regions.push(r);
        }
    }
    let later: Vec<&ChangeEvent> = match (first.cause, b.project.as_deref()) {
        (Cause::CodebuildRunnerCredentialLacksAdmin, Some(name)) => history
            .credential_changes_after(
                &ProjectRef {
                    account: b.account.as_deref(),
                    region: b.region.as_deref(),
                    name,
                },
                last_seen,
            ),
        _ => Vec::new(),
    };
    let (explanation, fix) = match first.cause {
        Cause::CodebuildRunnerCredentialLacksAdmin => {
            runner_credential_text(group, &ids, &later, history)
        }
        _ => build_failed_text(group, &ids),
    };
    let mut details = BTreeMap::new();
    details.insert("project".to_owned(), json!(b.project));
    details.insert("builds".to_owned(), json!(ids));
    details.insert("phase".to_owned(), json!(first.phase));
    details.insert("status_code".to_owned(), json!(first.code));
    if first.cause == Cause::CodebuildRunnerCredentialLacksAdmin {
        details.insert("credential".to_owned(), json!(first.credential));
        if let Some(auth) = &b.source_auth {
            details.insert(
                "build_source_auth".to_owned(),
                json!({"type": auth.kind, "resource": auth.resource}),
            );
        }
        if !later.is_empty() {
            details.insert(
                "later_changes".to_owned(),
                Value::Array(later.iter().map(|c| change_json(c)).collect()),
            );
        }
    }
    let mut origins: Vec<&str> = Vec::new();
    for o in group.iter().flat_map(|j| &j.build.origins) {
        if !origins.contains(&o.as_str()) {
            origins.push(o);
        }
    }
    details.insert("inputs".to_owned(), json!(origins));
    Some(Finding {
        cause: first.cause,
        event_name: Text::from(BUILD_EVENT_NAME.to_owned()),
        error_code: Text::from(first.code.clone()),
        account: b.account.clone().map(Text::from),
        region: b.region.clone().map(Text::from),
        role_arn: None,
        provider: None,
        sub: None,
        aud: None,
        action: Text::from(first.phase.clone()),
        resource: (b.project_arn().or_else(|| b.project.clone())).map(Text::from),
        count: group.len() as u64,
        first_seen,
        last_seen,
        event_ids: ids
            .iter()
            .take(super::EVENT_IDS_KEPT)
            .map(|id| EventId::new(id))
            .collect(),
        explanation: explanation.into(),
        fix: fix.into(),
        fixes: Vec::new(),
        evidence: Vec::new(),
        regions: regions.into_iter().map(Text::from).collect(),
        session_name: None,
        error_message: first.message.clone().map(Text::from),
        details: details.into(),
        times: Vec::new(),
    })
}

fn change_json(c: &ChangeEvent) -> Value {
    json!({"event_name": c.event_name, "time": c.time, "actor": c.actor, "event_id": c.event_id})
}

/// `2026-09-14T09:12:40Z by arn:aws:iam::111122223333:user/alice (ImportSourceCredentials)`
fn describe_change(time: DateTime<Utc>, actor: Option<&str>, event_name: &str) -> String {
    format!(
        "{} by {} ({event_name})",
        time.format("%Y-%m-%dT%H:%M:%SZ"),
        actor.unwrap_or("an unknown principal")
    )
}

/// `Build P:ID failed HOW` / `5 builds of project P failed HOW (first P:ID1)`.
fn builds_failed(group: &[Judged<'_>], ids: &[String], how: &str) -> String {
    let project = group[0]
        .build
        .project
        .as_deref()
        .unwrap_or("(unknown project)");
    match ids {
        [one] => format!("Build {one} failed {how}"),
        [first, ..] => format!(
            "{} builds of project {project} failed {how} (first {first})",
            ids.len()
        ),
        [] => format!("A build failed {how}"),
    }
}

fn runner_credential_text(
    group: &[Judged<'_>],
    ids: &[String],
    later: &[&ChangeEvent],
    history: &History<'_>,
) -> (String, String) {
    let first = &group[0];
    let b = first.build;
    let plural = if ids.len() == 1 { "" } else { "s" };
    let mut why = format!(
        "{}: \"{}\". CodeBuild could not get a just-in-time runner configuration from GitHub: \
         creating one needs admin on the repository for the GitHub identity behind CodeBuild's \
         GitHub credential, and GitHub answers 404 (reported as ResourceNotFoundException) when \
         that identity lacks it, as after that user's role on the repository went from admin to \
         write.",
        builds_failed(
            group,
            ids,
            &format!("in {} with {}", first.phase, first.code)
        ),
        first.message.as_deref().unwrap_or_default()
    );
    match &first.credential {
        Some(c) => {
            why.push_str(&format!(
                " When the build{plural} started, CodeBuild used {}.",
                describe_credential(c)
            ));
            why.push(' ');
            why.push_str(&acts_as(c));
        }
        None => {
            why.push_str(
                " No CodeBuild credential event for this project (ImportSourceCredentials, \
                 CreateProject/UpdateProject source auth) is in the logs, so the credential in \
                 force is not known; the error text alone identifies the cause.",
            );
            if let Some(auth) = &b.source_auth {
                why.push_str(&format!(
                    " The build record names the source credential {}{}.",
                    auth.kind,
                    auth.resource
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    if !later.is_empty() {
        let list: Vec<String> = later
            .iter()
            .map(|c| describe_change(c.time, c.actor.as_deref(), &c.event_name))
            .collect();
        why.push_str(&format!(
            " The credential setup changed after the last of these builds: {}.",
            list.join("; ")
        ));
    }
    (why, runner_fix(first, history))
}

fn describe_credential(c: &Credential) -> String {
    let user = c
        .username
        .as_deref()
        .map(|u| format!(" of GitHub user {u}"))
        .unwrap_or_default();
    let what = match c.kind.as_str() {
        "PERSONAL_ACCESS_TOKEN" => format!("a personal access token{user}"),
        "OAUTH" => format!("an OAuth token{user}"),
        "CODECONNECTIONS" => match &c.resource {
            Some(r) => format!("the connection {r}"),
            None => "a connection".to_owned(),
        },
        "SECRETS_MANAGER" => match &c.resource {
            Some(r) => format!("a token stored in Secrets Manager ({r})"),
            None => "a token stored in Secrets Manager".to_owned(),
        },
        other => format!("a {other} credential{user}"),
    };
    let set = describe_change(c.configured_at, c.configured_by.as_deref(), &c.event_name);
    match c.scope {
        Scope::Account => format!(
            "the account's {} source credential in {}: {what}, imported {set}",
            match c.server_type.as_deref().unwrap_or("GITHUB") {
                "GITHUB" => "GitHub",
                "GITHUB_ENTERPRISE" => "GitHub Enterprise",
                other => other,
            },
            c.region.as_deref().unwrap_or("its region")
        ),
        Scope::Project => format!("the project's source auth override: {what}, set {set}"),
    }
}

/// Whose repository role the credential depends on.
fn acts_as(c: &Credential) -> String {
    let who = c
        .username
        .as_deref()
        .map(|u| format!(" ({u})"))
        .unwrap_or_default();
    match c.kind.as_str() {
        "PERSONAL_ACCESS_TOKEN" => format!(
            "A personal access token acts as the GitHub user who created it{who}, so the runner \
             depends on that user's role on the repository."
        ),
        "OAUTH" => format!(
            "An OAuth token acts as the GitHub user who authorized it{who}, so the runner depends \
             on that user's role on the repository."
        ),
        "SECRETS_MANAGER" => "The token in the secret acts as the GitHub user who created it, \
             so the runner depends on that user's role on the repository."
            .to_owned(),
        "CODECONNECTIONS" => match &c.connection {
            Some(conn) => {
                let created = match (conn.created_at, conn.created_by.as_deref()) {
                    (Some(t), by) => format!(
                        " The connection{} was created {}.",
                        conn.name
                            .as_deref()
                            .map(|n| format!(" {n}"))
                            .unwrap_or_default(),
                        describe_change(t, by, "CreateConnection")
                    ),
                    _ => String::new(),
                };
                let text = if conn.installation_set {
                    format!(
                        "{} A GitHub App installation was set on it; that installation must \
                         cover the repository and grant the Administration (read and write) \
                         permission runner registration needs.",
                        created.trim_start()
                    )
                } else {
                    format!(
                        "{} No GitHub App installation for it (UpdateConnectionInstallation) is \
                         in the logs: a connection without its own app installation acts as the \
                         GitHub user who authorized it, so the runner depends on that user's \
                         role on the repository.",
                        created.trim_start()
                    )
                };
                text.trim_start().to_owned()
            }
            None => "A connection without its own GitHub App installation acts as the GitHub \
                     user who authorized it, so the runner depends on that user's role on the \
                     repository."
                .to_owned(),
        },
        _ => "The credential acts as a GitHub user, so the runner depends on that user's role \
              on the repository."
            .to_owned(),
    }
}

fn runner_fix(first: &Judged<'_>, history: &History<'_>) -> String {
    let b = first.build;
    let name = b.project.as_deref().unwrap_or("PROJECT");
    let source = b.project.as_deref().and_then(|n| {
        let p = ProjectRef {
            account: b.account.as_deref(),
            region: b.region.as_deref(),
            name: n,
        };
        let s = history.project_at(&p, first.start);
        s.defined_by.map(|_| (s.source_type, s.location))
    });
    let (stype, location) = source.unwrap_or((None, None));
    let github = github_source_type(b).is_some();
    let stype = stype
        .or_else(|| github_source_type(b).map(str::to_owned))
        .unwrap_or_else(|| "GITHUB".to_owned());
    let location = location
        .or_else(|| b.source_location.clone().filter(|_| github))
        .unwrap_or_else(|| "https://github.com/OWNER/REPO".to_owned());
    // in the order the CLI documents it, not serde_json's sorted keys
    let src = format!(
        "{{\"type\":{},\"location\":{},\"auth\":{{\"type\":\"CODECONNECTIONS\",\"resource\":\"<connection arn>\"}}}}",
        json!(stype),
        json!(location)
    );
    let connection_name: String = format!("github-{name}").chars().take(32).collect();
    let mut fix = format!(
        "Run the runner under a GitHub App instead of a person: create a GitHub App connection \
         (aws codeconnections create-connection --provider-type GitHub --connection-name \
         {connection_name}, then finish it in the console by installing the app on the \
         repository's owner) and set it on the project: aws codebuild update-project --name \
         {name} --source '{src}'."
    );
    match first
        .credential
        .as_ref()
        .and_then(|c| c.username.as_deref())
    {
        Some(u) => fix.push_str(&format!(
            " Or restore GitHub user {u}'s admin role on the repository."
        )),
        None => fix.push_str(
            " Or restore admin on the repository for the GitHub user behind the credential.",
        ),
    }
    if first.credential.is_none() {
        fix.push_str(&format!(
            " To see the credential in use: aws codebuild batch-get-projects --names {name} \
             (source.auth) and aws codebuild list-source-credentials."
        ));
    }
    fix
}

fn build_failed_text(group: &[Judged<'_>], ids: &[String]) -> (String, String) {
    let first = &group[0];
    let why = match (&first.message, first.build.failed_phase()) {
        (Some(m), _) => format!(
            "{}: \"{m}\". trailwhy does not recognise this failure; the phase context is \
             CodeBuild's own account of it.",
            builds_failed(
                group,
                ids,
                &format!("in {} with {}", first.phase, first.code)
            )
        ),
        (None, Some(_)) => format!(
            "{} without a phase context. trailwhy does not recognise this failure.",
            builds_failed(group, ids, &format!("in {} ({})", first.phase, first.code))
        ),
        (None, None) => format!(
            "{}; the build record names no failed phase.",
            builds_failed(group, ids, &format!("(status {})", first.code))
        ),
    };
    let fix = format!(
        "Read the build log{}: aws codebuild batch-get-builds --ids {} --query \
         'builds[0].logs.deepLink'.",
        if first.build.failed_phase().is_some() {
            format!(" around the {} phase", first.phase)
        } else {
            String::new()
        },
        ids.first().map_or("BUILD_ID", String::as_str)
    );
    (why, fix)
}

fn explain_webhooks(builds: &[Build], history: &History<'_>, window: &Window) -> Vec<Finding> {
    let mut out = Vec::new();
    for (account, region, name) in history.webhook_projects() {
        let p = ProjectRef {
            account: account.as_deref(),
            region: region.as_deref(),
            name: &name,
        };
        let events = history.webhook_events(&p);
        let runner_build = builds.iter().find(|b| {
            b.project.as_deref() == Some(name.as_str())
                && b.account.as_deref().is_none_or(|a| Some(a) == p.account)
                && b.region.as_deref().is_none_or(|r| Some(r) == p.region)
                && b.is_runner()
        });
        let had_job_queued = events
            .iter()
            .find(|e| job_queued_filter(&e.event_name, &e.request) == Some(true));
        if runner_build.is_none() && had_job_queued.is_none() {
            continue;
        }
        for (i, e) in events.iter().enumerate() {
            if job_queued_filter(&e.event_name, &e.request) != Some(false)
                || !accepts(window, e.time, e.account.as_deref(), e.region.as_deref())
            {
                continue;
            }
            let until = events[i + 1..].iter().find(|n| {
                n.event_name == "DeleteWebhook"
                    || job_queued_filter(&n.event_name, &n.request) == Some(true)
            });
            out.push(webhook_finding(&p, e, until, had_job_queued, runner_build));
        }
    }
    out
}

fn webhook_finding(
    p: &ProjectRef<'_>,
    e: &ChangeEvent,
    until: Option<&&ChangeEvent>,
    had_job_queued: Option<&&ChangeEvent>,
    runner_build: Option<&Build>,
) -> Finding {
    let verb = if e.event_name == "CreateWebhook" {
        "created"
    } else {
        "updated"
    };
    let mut why = format!(
        "The webhook of project {} was {verb} {} without a WORKFLOW_JOB_QUEUED event filter, so \
         GitHub Actions jobs meant for this project's runners start no build and stay queued in \
         GitHub",
        p.name,
        describe_change(e.time, e.actor.as_deref(), &e.event_name)
    );
    match until {
        Some(n) if n.event_name == "DeleteWebhook" => why.push_str(&format!(
            " (until the webhook was deleted {})",
            describe_change(n.time, n.actor.as_deref(), &n.event_name)
        )),
        Some(n) => why.push_str(&format!(
            " (until the filter was restored {})",
            describe_change(n.time, n.actor.as_deref(), &n.event_name)
        )),
        None => {}
    }
    why.push_str(". The project runs GitHub Actions runners: ");
    match (had_job_queued, runner_build) {
        (Some(h), _) => why.push_str(&format!(
            "its webhook had the filter when it was {}.",
            describe_change(h.time, h.actor.as_deref(), &h.event_name)
        )),
        (None, Some(b)) => why.push_str(&format!("its build {} ran one.", b.label())),
        (None, None) => why.push_str("its builds run them."),
    }
    let fix = format!(
        "Add the filter group back: aws codebuild update-webhook --project-name {} \
         --filter-groups '[[{{\"type\":\"EVENT\",\"pattern\":\"WORKFLOW_JOB_QUEUED\"}}]]' (keep \
         any other filter groups the project needs in the same list).",
        p.name
    );
    let resource = match (p.account, p.region) {
        (Some(a), Some(r)) => format!("arn:aws:codebuild:{r}:{a}:project/{}", p.name),
        _ => p.name.to_owned(),
    };
    let mut details = BTreeMap::new();
    details.insert("project".to_owned(), json!(p.name));
    details.insert("webhook_change".to_owned(), change_json(e));
    details.insert(
        "filter_groups".to_owned(),
        e.request
            .get("filterGroups")
            .cloned()
            .unwrap_or(Value::Null),
    );
    if let Some(n) = until {
        details.insert("until".to_owned(), change_json(n));
    }
    Finding {
        cause: Cause::CodebuildWebhookMissingJobQueued,
        event_name: Text::from(e.event_name.as_str()),
        error_code: Text::from(""),
        account: e.account.clone().map(Text::from),
        region: e.region.clone().map(Text::from),
        role_arn: None,
        provider: None,
        sub: None,
        aud: None,
        action: Text::from(format!("codebuild:{}", e.event_name)),
        resource: Some(Text::from(resource)),
        count: 1,
        first_seen: e.time,
        last_seen: e.time,
        event_ids: vec![EventId::new(&e.event_id)],
        explanation: why.into(),
        fix: fix.into(),
        fixes: Vec::new(),
        evidence: Vec::new(),
        regions: e.region.iter().map(|r| Text::from(r.as_str())).collect(),
        session_name: None,
        error_message: None,
        details: details.into(),
        times: Vec::new(),
    }
}
