//! `--codebuild-live PROJECT…`: the recent builds of each project through the CodeBuild API
//! (ListBuildsForProject, newest first, then BatchGetBuilds for up to 100 of them), turned
//! into the same [`BuildDoc`]s as files.
//!
//! The BatchGetBuilds response body is read by the same lenient parser as
//! `aws codebuild batch-get-builds` files (it is the same document), not by the SDK's typed
//! model: local AWS-compatible servers (moto) send timestamps as ISO 8601 strings, which the
//! typed model rejects, and one parser for every form keeps the forms from drifting apart.
//! The body is taken by an interceptor; a body the typed model cannot read ends the call
//! there instead of being retried as a transient error.

use anyhow::{anyhow, bail, Result};
use aws_sdk_codebuild::types::SortOrderType;

use super::record::builds_from_value;
use super::BuildDoc;
use crate::aws::{describe_sdk_error, AwsContext, KeepBody};

/// BatchGetBuilds takes at most 100 ids.
const MAX_BUILDS: usize = 100;

/// Reads the recent builds of each project; an AWS error ends the run with one line.
pub fn fetch(ctx: &AwsContext, projects: &[String]) -> Result<Vec<BuildDoc>> {
    let client = aws_sdk_codebuild::Client::new(&ctx.config);
    let region = ctx.region();
    let mut docs = Vec::new();
    for project in projects {
        let origin = format!("codebuild://{region}/{project}");
        let ids = ctx
            .block_on(
                client
                    .list_builds_for_project()
                    .project_name(project)
                    .sort_order(SortOrderType::Descending)
                    .send(),
            )
            .map_err(|e| {
                anyhow!(
                    "{origin}: {}",
                    describe_sdk_error(&e, "codebuild:ListBuildsForProject")
                )
            })?
            .ids()
            .iter()
            .take(MAX_BUILDS)
            .cloned()
            .collect::<Vec<String>>();
        if ids.is_empty() {
            docs.push(BuildDoc {
                origin,
                builds: Vec::new(),
            });
            continue;
        }
        let capture = KeepBody::default();
        let sent = ctx.block_on(
            client
                .batch_get_builds()
                .set_ids(Some(ids))
                .customize()
                .interceptor(capture.clone())
                .send(),
        );
        let body = capture.take();
        let body = match (sent, body) {
            (_, Some(body)) => body,
            (Err(e), None) => bail!(
                "{origin}: {}",
                describe_sdk_error(&e, "codebuild:BatchGetBuilds")
            ),
            (Ok(_), None) => bail!("{origin}: BatchGetBuilds returned no body"),
        };
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| anyhow!("{origin}: BatchGetBuilds response is not JSON: {e}"))?;
        let builds =
            builds_from_value(&value).map_err(|e| anyhow!("{origin}: BatchGetBuilds: {e}"))?;
        docs.push(BuildDoc { origin, builds });
    }
    Ok(docs)
}
