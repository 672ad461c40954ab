use super::*;
use crate::select::{CallOrigin, Network, TlsRecorded};
use proptest::prelude::*;

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap_or_default()
}

fn call(id: &str, secs: i64) -> Failure {
    Failure::Call(Box::new(CallFailure {
        time: time(secs),
        event_id: id.to_owned(),
        account: Some("111122223333".to_owned()),
        region: Some("us-east-1".to_owned()),
        event_source: "ecr.amazonaws.com".to_owned(),
        event_name: "PutImage".to_owned(),
        error_code: "AccessDenied".to_owned(),
        error_message: Some("User: … is not authorized".to_owned()),
        caller_arn: Some("arn:aws:sts::111122223333:assumed-role/ci/GitHubActions".to_owned()),
        access_key_id: Some(format!("ASIA{id}")),
        issuer_role_arn: None,
        federated_provider: None,
        resources: vec!["arn:aws:ecr:us-east-1:111122223333:repository/web".to_owned()],
        request: serde_json::json!({"repositoryName": "web", "imageTag": id, "n": 1.5}),
        origin: CallOrigin {
            network: Network {
                source_ip: Some("203.0.113.7".to_owned()),
                vpc_endpoint_id: None,
                tls: TlsRecorded::Recorded,
            },
            session_tags: Some(vec![("team".to_owned(), "web".to_owned())]),
            ..CallOrigin::default()
        },
    }))
}

fn web_id(id: &str, secs: i64) -> Failure {
    Failure::WebId(Box::new(WebIdAttempt {
        time: time(secs),
        event_id: id.to_owned(),
        account: None,
        region: Some("eu-west-1".to_owned()),
        error_code: Some("AccessDenied".to_owned()),
        error_message: Some("Not authorized to perform sts:AssumeRoleWithWebIdentity".to_owned()),
        role_arn: Some("arn:aws:iam::111122223333:role/deploy".to_owned()),
        session_name: Some("GitHubActions".to_owned()),
        duration_seconds: Some(3600),
        principal: Some(crate::event::WebIdentityPrincipal {
            provider: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
                .to_owned(),
            audience: Some("sts.amazonaws.com".to_owned()),
            subject: format!("repo:acme/web:ref:refs/heads/{id}"),
        }),
        user_agent: None,
        access_key_id: None,
        assumed_role_arn: None,
        network: Some(Box::new(Network::default())),
    }))
}

/// What a failure reads back as, for comparing (the types hold no `PartialEq`).
fn text(f: &Failure) -> String {
    format!("{f:?}")
}

/// Stores `inputs` (each input's failures in the order read) in a store with `budget`, then
/// reads everything back.
fn store_and_read(inputs: &[Vec<Failure>], budget: usize) -> (Vec<String>, Option<SpillSummary>) {
    let parent = tempfile::tempdir().unwrap();
    let dir = FailureStore::spill_dir(parent.path()).unwrap();
    let mut store = FailureStore::new(budget, Some(dir));
    for input in inputs {
        let mut one = FailureStore::default();
        for f in input {
            one.push(f);
        }
        store.absorb(one).unwrap();
    }
    let mut out = Vec::new();
    store.for_each(|f| out.push(text(&f))).unwrap();
    assert_eq!(out.len() as u64, store.len());
    (out, store.spilled().cloned())
}

/// The straightforward order: everything, stably sorted by time and event ID.
fn sorted(inputs: &[Vec<Failure>]) -> Vec<String> {
    let mut all: Vec<&Failure> = inputs.iter().flatten().collect();
    all.sort_by(|a, b| (a.time(), a.event_id()).cmp(&(b.time(), b.event_id())));
    all.into_iter().map(text).collect()
}

#[test]
fn failures_read_back_whole_in_time_and_id_order_spilled_or_not() {
    let inputs = vec![
        vec![call("c", 30), web_id("a", 10), call("b", 30)],
        vec![],
        vec![web_id("z", 5), call("b", 30), call("d", 20)],
    ];
    let (kept, none) = store_and_read(&inputs, usize::MAX);
    assert_eq!(none, None);
    let (spilled, summary) = store_and_read(&inputs, 0);
    let summary = summary.unwrap();
    assert_eq!((summary.runs, summary.failures), (2, 6));
    assert_eq!(kept, sorted(&inputs));
    assert_eq!(spilled, kept);
    // the two `b` at the same time: the first input's first
    assert!(kept[3].contains("\"b\"") && kept[4].contains("\"b\""));
}

#[test]
fn a_discarding_store_counts_what_it_absorbs_and_keeps_none() {
    let mut store = FailureStore::discarding();
    for input in [vec![call("a", 2), web_id("b", 1)], vec![call("c", 3)]] {
        let mut one = FailureStore::default();
        for f in &input {
            one.push(f);
        }
        store.absorb(one).unwrap();
    }
    assert_eq!(store.len(), 3);
    let mut read = 0;
    store.for_each(|_| read += 1).unwrap();
    assert_eq!((read, store.event_ids().count()), (0, 0));
    assert!(store.spilled().is_none());
}

#[test]
fn more_runs_than_are_merged_at_once_are_merged_in_rounds() {
    let inputs: Vec<Vec<Failure>> = (0..(FAN_IN as i64 * 2 + 7))
        .map(|i| vec![call(&format!("{:04}", 500 - i), i % 13), web_id("same", 6)])
        .collect();
    let (spilled, summary) = store_and_read(&inputs, 0);
    assert!(summary.unwrap().runs > FAN_IN * 2 + 7);
    assert_eq!(spilled, sorted(&inputs));
}

#[test]
fn the_spill_directory_is_removed_with_the_store() {
    let parent = tempfile::tempdir().unwrap();
    let mut store = FailureStore::new(0, Some(FailureStore::spill_dir(parent.path()).unwrap()));
    let mut one = FailureStore::default();
    one.push(&call("a", 1));
    store.absorb(one).unwrap();
    assert!(store.spilled().is_some());
    let dir = store.dir().unwrap().to_owned();
    assert!(dir.join("run-000000").is_file());
    drop(store);
    assert!(!dir.exists());
    assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
}

#[test]
fn an_unusable_spill_directory_is_one_error_naming_it() {
    let parent = tempfile::tempdir().unwrap();
    let file = parent.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let e = format!("{:#}", FailureStore::spill_dir(&file).unwrap_err());
    assert!(e.contains("cannot make a spill directory in"), "{e}");
    assert!(e.contains("not-a-dir"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_budget_reads_back_the_stable_sorted_sequence(
        inputs in prop::collection::vec(
            prop::collection::vec((0i64..20, 0u8..6, any::<bool>()), 0..12),
            0..10,
        ),
        budget in prop_oneof![Just(0usize), 1usize..4000, Just(usize::MAX)],
    ) {
        let inputs: Vec<Vec<Failure>> = inputs
            .into_iter()
            .map(|input| {
                input
                    .into_iter()
                    .map(|(t, id, kind)| {
                        let id = format!("e{id}");
                        if kind { call(&id, t) } else { web_id(&id, t) }
                    })
                    .collect()
            })
            .collect();
        let (got, _) = store_and_read(&inputs, budget);
        prop_assert_eq!(got, sorted(&inputs));
    }
}
