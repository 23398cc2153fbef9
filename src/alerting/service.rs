//! The two alerting tasks. `evaluate` turns each new poll into decisions (engine) and writes
//! them with their deliveries in one transaction; `deliver` drains the outbox through the
//! notifiers with retry and backoff. They share only the database, so several instances on
//! one PostgreSQL send each delivery once (a sender claims a row before it sends).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::definition::{ChannelDef, RuleDef, RuleKind};
use super::engine::{AlertState, Engine, Notice, NoticeKind, RuleTiming, Silence};
use super::grouping::{self, GroupState, Groups};
use super::message::{AlertMessage, GroupFacts, MessageKind, Subject};
use super::notify::Notifier;
use super::outbound::TargetPolicy;
use super::{policy, rules};
use crate::clock::now_millis;
use crate::config::AlertsConfig;
use crate::domain::Millis;
use crate::instances::{Holding, Ownership, cluster_lease};
use crate::poller::{ClusterState, Clusters};
use crate::store::{
    Acknowledgement, BACKGROUND_WAIT, Delivery, DeliveryStatus, GroupWrite, IncidentChange,
    NewDelivery, RoundWrite, Store, StoreError, within,
};

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What the alerting tasks and the web layer share.
#[derive(Debug, Clone)]
pub struct Alerting {
    pub store: Store,
    pub notifier: Notifier,
    pub settings: AlertsConfig,
    /// Wakes the sender when a round queued deliveries, so they leave at once.
    pub outbox: Arc<Notify>,
}

impl Alerting {
    pub fn new(store: Store, settings: AlertsConfig) -> Self {
        let targets = TargetPolicy { allow_private: settings.allow_private_targets };
        let notifier = Notifier::new(targets);
        Alerting { store, notifier, settings, outbox: Arc::new(Notify::new()) }
    }

    /// The link to a subject's page, when `alerts.public_url` is set.
    pub fn link(&self, subject: &Subject) -> Option<String> {
        let base = self.settings.public_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}{}", subject.page_path()))
    }

    /// Sends a test message through `channel` now, bypassing the outbox.
    pub async fn send_test(&self, channel: &ChannelDef) -> Result<(), super::notify::NotifyError> {
        let now = now_millis();
        let message = AlertMessage::example(MessageKind::Test, now, |s| self.link(s));
        self.notifier.send(channel, &message, &format!("test-{now}"), now).await
    }
}

/// Wait before the next attempt after `failures` failed ones: doubling from `retry_initial`
/// up to `retry_max`.
pub fn retry_delay(settings: &AlertsConfig, failures: i64) -> Millis {
    let initial = millis(settings.retry_initial);
    let exponent = u32::try_from(failures.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    initial.saturating_mul(1_i64 << exponent).min(millis(settings.retry_max))
}

fn timing(rule: &RuleDef) -> RuleTiming {
    RuleTiming {
        rule: rule.name.clone(),
        hold: rule.hold_millis(),
        hold_polls: rule.for_polls,
        repeat: rule.repeat_millis(),
    }
}

fn message_kind(kind: NoticeKind) -> MessageKind {
    match kind {
        NoticeKind::Firing => MessageKind::Firing,
        NoticeKind::Reminder => MessageKind::Reminder,
        NoticeKind::Resolved => MessageKind::Resolved,
    }
}

/// What evaluation carries from round to round: each (rule, subject)'s state and the notice
/// groups. Saved with every round; cloned to roll a round back that could not be written.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    pub engine: Engine,
    pub groups: Groups,
}

/// Runs one evaluation round at `now`; returns what to write (the caller writes it with
/// [`Store::write_round`] and rolls `decisions` back if that fails). Pure but for the store
/// lookups of rules, silences, acknowledgements and subjects that vanished.
/// `polled`: the clusters polled since the previous round; `probed`: those whose canary finished
/// a round since (its rules' observations). The others count as unknown to the rules.
pub async fn evaluate_round(
    alerting: &Alerting,
    decisions: &mut Decisions,
    clusters: &Clusters,
    polled: &BTreeSet<String>,
    probed: &BTreeSet<String>,
    now: Millis,
) -> Result<RoundWrite, StoreError> {
    let store = &alerting.store;
    let settings = &alerting.settings;
    let mut rules: Vec<RuleDef> = store
        .alert_rules()
        .await?
        .into_iter()
        .map(|s| s.definition)
        .filter(|r| r.enabled)
        .collect();
    // Rules whose alerts inhibit others are decided first, in the order of the inhibit rules
    // (cluster_down before broker_down), so this round's firing counts.
    let sources: Vec<RuleKind> = settings.inhibit.iter().map(|i| i.source).collect();
    rules.sort_by_key(|r| sources.iter().position(|k| *k == r.kind).unwrap_or(usize::MAX));
    let silences: Vec<_> = store.active_silences(now).await?.iter().map(|s| s.silence()).collect();
    let acknowledged = store.acknowledged(now).await?;
    let states = clusters.all();
    let before = decisions.clone();

    let active: BTreeSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    let dropped: BTreeSet<String> = decisions
        .engine
        .rules()
        .chain(decisions.groups.rules())
        .filter(|r| !active.contains(r))
        .map(str::to_owned)
        .collect();
    for rule in &dropped {
        decisions.engine.forget_rule(rule);
        decisions.groups.forget_rule(rule);
    }

    let mut write = RoundWrite::default();
    let mut firing: Vec<policy::Firing> = Vec::new();
    // (rule, subject key) → what inhibits it this round.
    let mut inhibited: HashMap<(String, String), String> = HashMap::new();
    for rule in &rules {
        let news = if rule.kind.is_about_canary() { probed } else { polled };
        let round = rules::evaluate(rule, &states, |name| news.contains(name));
        let subjects: HashMap<String, Subject> =
            round.observations.iter().map(|(s, o)| (o.subject.clone(), s.clone())).collect();
        let mut held = silences.clone();
        for (subject, observation) in &round.observations {
            let touches = |s: &Subject, broker: i32| touches_broker(&states, s, broker);
            if let Some(by) =
                policy::inhibited_by(&settings.inhibit, &firing, rule.kind, subject, touches)
            {
                inhibited.insert((rule.name.clone(), observation.subject.clone()), by.clone());
                held.push(Silence {
                    rule: rule.name.clone(),
                    subject: Some(observation.subject.clone()),
                    until: now + 1,
                    inhibited_by: Some(by),
                });
            }
        }
        let observations: Vec<_> = round.observations.into_iter().map(|(_, o)| o).collect();
        let group_facts = round.group_facts;
        let unknown = |key: &str| {
            round.unknown_subjects.contains(key)
                || round.unknown_clusters.contains(Subject::cluster_of_key(key))
        };
        let notices =
            decisions.engine.observe_partly(&timing(rule), &observations, unknown, &held, now);
        let grouping = grouping_of(rule, settings);
        for notice in notices {
            let subject = match subjects.get(&notice.subject) {
                Some(subject) => subject.clone(),
                None => match store.incident(&notice.incident).await? {
                    Some(incident) => incident.message.subject,
                    None => Subject {
                        cluster: Subject::cluster_of_key(&notice.subject).to_owned(),
                        ..Subject::default()
                    },
                },
            };
            // A group that is gone has no facts: its notice says so.
            let facts = group_facts.get(&notice.subject).cloned();
            let ack = acknowledged.get(&notice.incident);
            let (message, change) = notice_message(alerting, rule, notice, subject, facts, ack);
            // An acknowledged incident sends no reminders; its resolution still goes out.
            let told = !(message.kind == MessageKind::Reminder && ack.is_some());
            let group_id = told.then(|| decisions.groups.add(&grouping, message.clone(), now));
            write.incidents.push(match change {
                NoticeKind::Firing => {
                    IncidentChange::Fired { subject_key: message.subject.key(), message, group_id }
                }
                NoticeKind::Reminder | NoticeKind::Resolved => IncidentChange::Updated { message },
            });
        }
        if sources.contains(&rule.kind) {
            let fires = |key: &String| {
                matches!(decisions.engine.state(&rule.name, key), Some(AlertState::Firing { .. }))
            };
            firing.extend(subjects.iter().filter(|(key, _)| fires(key)).map(|(_, subject)| {
                policy::Firing {
                    rule: rule.name.clone(),
                    kind: rule.kind,
                    subject: subject.clone(),
                }
            }));
        }
    }

    // A firing still waiting in its group when its subject became inhibited is not told: it
    // goes back to the engine as held back, to be told when the inhibition ends.
    for ((rule, subject), by) in &inhibited {
        if let Some(incident) = decisions.groups.withdraw_untold(rule, subject) {
            decisions.engine.hold_back(rule, subject, &incident, by);
            write.incidents.push(IncidentChange::Withdrawn { incident });
        }
    }
    for rule in &rules {
        let grouping = grouping_of(rule, settings);
        // A batch waits out a mute window of its route (and goes at the first round after).
        let ready = |group: &GroupState| {
            (polled.contains(&group.cluster) || probed.contains(&group.cluster))
                && muted(settings, rule, &group.cluster, now).is_none()
        };
        for batch in decisions.groups.due(&rule.name, &grouping, ready, now) {
            queue_batch(alerting, rule, batch, now, &mut write);
        }
    }

    write.states = changed_states(before.engine.states(), decisions.engine.states());
    write.groups = changed_groups(before.groups.states(), decisions.groups.states());
    Ok(write)
}

/// How `rule`'s notices are grouped, `settings` filling in what the rule leaves out.
pub fn grouping_of(rule: &RuleDef, settings: &AlertsConfig) -> grouping::Grouping {
    grouping::Grouping {
        by: rule.group_by.clone().unwrap_or_else(|| settings.group_by.clone()),
        wait: millis(rule.group_wait.unwrap_or(settings.group_wait)),
        interval: millis(rule.group_interval.unwrap_or(settings.group_interval)),
    }
}

/// Whether `subject` involves `broker`: it is that broker, or its topic (a group's topics)
/// has a replica there.
fn touches_broker(states: &[Arc<ClusterState>], subject: &Subject, broker: i32) -> bool {
    let Some(snapshot) =
        states.iter().find(|s| s.name == subject.cluster).and_then(|s| s.snapshot.as_ref())
    else {
        return false;
    };
    let on_broker = |topic: &str| {
        snapshot
            .topics
            .iter()
            .any(|t| t.name == topic && t.partitions.iter().any(|p| p.replicas.contains(&broker)))
    };
    if subject.broker == Some(broker) {
        return true;
    }
    match (&subject.topic, &subject.group) {
        (Some(topic), _) => on_broker(topic),
        (None, Some(group)) => snapshot
            .groups
            .iter()
            .filter(|g| &g.name == group)
            .flat_map(|g| g.offsets.iter())
            .any(|o| on_broker(&o.topic)),
        (None, None) => false,
    }
}

fn changed_states(
    before: &BTreeMap<String, BTreeMap<String, AlertState>>,
    after: &BTreeMap<String, BTreeMap<String, AlertState>>,
) -> Vec<((String, String), Option<AlertState>)> {
    let empty = BTreeMap::new();
    let mut changed = Vec::new();
    let rule_names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for rule in rule_names {
        let (old, new) = (before.get(rule).unwrap_or(&empty), after.get(rule).unwrap_or(&empty));
        let subjects: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for subject in subjects {
            let next: Option<&AlertState> = new.get(subject);
            if old.get(subject) != next {
                changed.push(((rule.clone(), subject.clone()), next.cloned()));
            }
        }
    }
    changed
}

fn changed_groups(
    before: &BTreeMap<String, GroupState>,
    after: &BTreeMap<String, GroupState>,
) -> Vec<GroupWrite> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .filter_map(|key| {
            let state = after.get(key);
            let known = state.or_else(|| before.get(key))?;
            Some(GroupWrite {
                id: grouping::storage_key(key),
                rule: known.rule.clone(),
                cluster: known.cluster.clone(),
                state: state.cloned(),
            })
        })
        .collect()
}

/// Turns `notice` into its message — with `group_facts`, the group as this round saw it.
fn notice_message(
    alerting: &Alerting,
    rule: &RuleDef,
    notice: Notice,
    subject: Subject,
    group_facts: Option<GroupFacts>,
    ack: Option<&Acknowledgement>,
) -> (AlertMessage, NoticeKind) {
    let message = AlertMessage {
        kind: message_kind(notice.kind),
        incident: notice.incident,
        rule: rule.name.clone(),
        rule_kind: rule.kind,
        severity: rule.severity,
        link: alerting.link(&subject),
        subject,
        value: notice.value.is_finite().then_some(notice.value),
        threshold: if notice.threshold.is_finite() {
            notice.threshold
        } else {
            rule.threshold_or_default()
        },
        since: notice.since,
        at: notice.at,
        metric: rule.metric.map(|m| m.as_str().to_owned()),
        below: rule.below,
        group_facts,
        batch: None,
        acknowledged: ack.map(|a| a.describe()),
    };
    tracing::debug!(rule = %rule.name, incident = %message.incident, kind = message.kind.as_str(), summary = %message.summary(), "alert notice");
    (message, notice.kind)
}

/// The route `rule`'s notices about `cluster` take, with the mute window holding it at `now`.
pub fn routed<'a>(
    settings: &'a AlertsConfig,
    rule: &'a RuleDef,
    cluster: &'a str,
    now: Millis,
) -> (&'a [String], Option<&'a str>) {
    let routed = policy::Routed {
        rule: &rule.name,
        severity: rule.severity,
        cluster,
        labels: &rule.labels,
        channels: &rule.channels,
    };
    policy::route(&settings.routes, &settings.mute_windows, routed, now)
}

/// The mute window holding `rule`'s notices about `cluster` at `now`, if one does.
pub fn muted<'a>(
    settings: &'a AlertsConfig,
    rule: &'a RuleDef,
    cluster: &'a str,
    now: Millis,
) -> Option<&'a str> {
    routed(settings, rule, cluster, now).1
}

/// Queues a group's batch for the channels its route names.
fn queue_batch(
    alerting: &Alerting,
    rule: &RuleDef,
    batch: grouping::DueBatch,
    now: Millis,
    write: &mut RoundWrite,
) {
    let message = batch.message;
    let (channels, _) = routed(&alerting.settings, rule, &message.subject.cluster, now);
    let alerts = message.batch.as_ref().map_or(1, |b| b.alerts.len() + b.unlisted);
    tracing::info!(rule = %rule.name, group = %message.dedup_key(), batch = batch.seq, alerts, kind = message.kind.as_str(), title = %message.title(), "alert notice");
    for channel in channels {
        write.deliveries.push(NewDelivery { channel: channel.clone(), message: message.clone() });
    }
}

/// The decisions as the database holds them. Never empty ones when saved state cannot be read:
/// that would repeat every firing alert.
async fn saved_decisions(store: &Store, cancel: &CancellationToken) -> Option<Decisions> {
    loop {
        let saved = async {
            Ok::<_, StoreError>((store.alert_states().await?, store.alert_groups().await?))
        };
        match within(BACKGROUND_WAIT, saved).await {
            Ok((states, groups)) => {
                return Some(Decisions {
                    engine: Engine::from_states(states),
                    groups: Groups::from_states(groups),
                });
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read saved alert states; retrying");
                tokio::select! {
                    () = cancel.cancelled() => return None,
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        }
    }
}

/// What a cluster last told: its last poll attempt and its canary's last round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LastNews {
    polled: Option<Millis>,
    probed: Option<Millis>,
}

impl LastNews {
    fn of(state: &crate::poller::ClusterState) -> LastNews {
        LastNews { polled: state.last_attempt_at, probed: state.canary.as_ref().and_then(|c| c.at) }
    }
}

/// Evaluates the rules after every poll (and canary round) of any cluster this instance acts
/// for, over the clusters polled (probed) since the previous round. With several instances each
/// evaluates the clusters whose lease it holds: a round is written under those leases (refused
/// once one is lost), and when a cluster moves here the engine continues from the states its previous
/// holder saved, so a notice is neither repeated nor forgotten and reminders keep their times.
pub async fn run_evaluation(
    alerting: Alerting,
    clusters: Clusters,
    ownership: Ownership,
    cancel: CancellationToken,
) {
    let store = &alerting.store;
    let Some(mut decisions) = saved_decisions(store, &cancel).await else { return };
    let mut seen: HashMap<String, LastNews> = HashMap::new();
    let mut epochs: BTreeMap<String, i64> = BTreeMap::new();
    loop {
        let held: BTreeMap<String, i64> =
            ownership.held().into_iter().map(|(lease, fence)| (lease, fence.epoch)).collect();
        if held.iter().any(|(lease, epoch)| epochs.get(lease) != Some(epoch)) {
            let Some(saved) = saved_decisions(store, &cancel).await else { return };
            decisions = saved;
        }
        epochs = held;
        let latest: Vec<(String, LastNews)> = clusters
            .all()
            .iter()
            .filter(|s| ownership.acts_for(&cluster_lease(&s.name)))
            .map(|s| (s.name.clone(), LastNews::of(s)))
            .filter(|(name, news)| seen.get(name).copied().unwrap_or_default() != *news)
            .collect();
        let fresh = |pick: fn(LastNews) -> Option<Millis>| {
            latest
                .iter()
                .filter(|(name, news)| {
                    pick(*news).is_some() && seen.get(name).copied().and_then(pick) != pick(*news)
                })
                .map(|(name, _)| name.clone())
                .collect::<BTreeSet<String>>()
        };
        let (polled, probed) = (fresh(|n| n.polled), fresh(|n| n.probed));
        let touched: BTreeSet<String> = polled.union(&probed).cloned().collect();
        let now = now_millis();
        if !touched.is_empty() {
            let before = decisions.clone();
            // Bounded like every database wait of a background task (a hung database must not
            // stop the rounds); a round cut short is undone below, as one refused.
            let round = within(
                BACKGROUND_WAIT,
                evaluate_round(&alerting, &mut decisions, &clusters, &polled, &probed, now),
            )
            .await;
            let outcome = match round {
                Ok(write) if write.is_empty() => Ok(false),
                Ok(mut write) => match under_leases(&mut write, &ownership, &touched) {
                    Ok(()) => {
                        let written = within(BACKGROUND_WAIT, store.write_round(&write, now)).await;
                        written.map(|()| !write.deliveries.is_empty())
                    }
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match outcome {
                Ok(queued) => {
                    seen.extend(latest);
                    if queued {
                        alerting.outbox.notify_one();
                    }
                }
                Err(e) => {
                    // Decisions not written are not made: the next round takes them again
                    // (same incident ids), so nothing is lost or sent twice.
                    decisions = before;
                    if let StoreError::Fenced(lease) = &e {
                        tracing::info!(%lease, "alert decisions not written: the cluster moved to another instance, which decides from now on");
                    } else {
                        tracing::error!(error = %e, "alert evaluation could not be saved; retrying");
                    }
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Keeps a round to the clusters this instance acts for (a rule dropped meanwhile forgets its
/// subjects everywhere; each holder writes that for its own clusters) and fences it with their
/// leases; refused whole when one of them went elsewhere since the round began.
fn under_leases(
    write: &mut RoundWrite,
    ownership: &Ownership,
    polled: &BTreeSet<String>,
) -> Result<(), StoreError> {
    if ownership.identity().is_none() {
        return Ok(());
    }
    write.states.retain(|((_, subject), _)| {
        ownership.acts_for(&cluster_lease(Subject::cluster_of_key(subject)))
    });
    write.groups.retain(|group| ownership.acts_for(&cluster_lease(&group.cluster)));
    write.fences = Vec::with_capacity(polled.len());
    for cluster in polled {
        let lease = cluster_lease(cluster);
        match ownership.holding(&lease) {
            Holding::Held(fence) => write.fences.push(fence),
            Holding::Alone => {}
            Holding::Elsewhere => return Err(StoreError::Fenced(lease)),
        }
    }
    Ok(())
}

/// Longest a sender keeps a claimed delivery before another may take it over.
const CLAIM: Duration = Duration::from_secs(180);

/// Sends due deliveries, several at a time, until cancelled.
pub async fn run_delivery(alerting: Alerting, cancel: CancellationToken) {
    loop {
        match deliver_due(&alerting).await {
            // More may be due right away (a storm is sent 32 at a time).
            Ok(attempted) if attempted > 0 && !cancel.is_cancelled() => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "alert outbox could not be read; retrying"),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = alerting.outbox.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// One pass over the outbox; returns how many deliveries were attempted.
pub async fn deliver_due(alerting: &Alerting) -> Result<usize, StoreError> {
    let now = now_millis();
    let due = within(BACKGROUND_WAIT, alerting.store.due_deliveries(now, 32)).await?;
    let attempted = futures::stream::iter(due)
        .map(|delivery| async move {
            match deliver_one(alerting, &delivery).await {
                Ok(attempted) => attempted,
                Err(e) => {
                    tracing::error!(delivery = %delivery.id, error = %e, "delivery bookkeeping failed");
                    false
                }
            }
        })
        .buffer_unordered(8)
        .filter(|attempted| std::future::ready(*attempted))
        .count()
        .await;
    Ok(attempted)
}

async fn deliver_one(alerting: &Alerting, delivery: &Delivery) -> Result<bool, StoreError> {
    let store = &alerting.store;
    let now = now_millis();
    // Claims are timed by the database's clock, the one every instance shares: senders whose
    // clocks disagree by more than a claim could otherwise both take a delivery.
    let claimed = async {
        let claim_now = store.database_now().await?;
        let claimed_until = claim_now + millis(CLAIM);
        let taken = store.claim_delivery(&delivery.id, claim_now, claimed_until).await?;
        Ok::<_, StoreError>(taken.then_some((claim_now, claimed_until)))
    };
    let Some((claim_now, claimed_until)) = within(BACKGROUND_WAIT, claimed).await? else {
        return Ok(false);
    };
    // When the claim ends by this instance's clock, for its own waits.
    let claim_ends = now + (claimed_until - claim_now);
    let started = std::time::Instant::now();
    let outcome = match within(BACKGROUND_WAIT, store.alert_channel(&delivery.channel)).await? {
        None => Err(format!("there is no channel {:?} (deleted?)", delivery.channel)),
        Some(channel) => alerting
            .notifier
            .send(&channel.definition, &delivery.message, &delivery.id, now)
            .await
            .map_err(|e| e.to_string()),
    };
    let took = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let at = now_millis();
    let (status, next) = match &outcome {
        Ok(()) => (DeliveryStatus::Sent, at),
        Err(_) if at - delivery.created_at >= millis(alerting.settings.give_up_after) => {
            (DeliveryStatus::Failed, at)
        }
        Err(_) => {
            (DeliveryStatus::Pending, at + retry_delay(&alerting.settings, delivery.attempts + 1))
        }
    };
    match &outcome {
        Ok(()) => {
            tracing::info!(delivery = %delivery.id, channel = %delivery.channel, kind = %delivery.kind, "alert delivered")
        }
        Err(e) => {
            tracing::warn!(delivery = %delivery.id, channel = %delivery.channel, attempt = delivery.attempts + 1, status = status.as_str(), error = %e, "alert delivery failed")
        }
    }
    // Sent but not recorded means sent again once the claim expires: keep trying to record
    // while the claim holds (a database that is down for a minute loses nothing).
    let error = outcome.err();
    let mut wait = Duration::from_millis(250);
    let recorded = loop {
        let attempt =
            store.record_attempt(delivery, claimed_until, at, took, error.as_deref(), status, next);
        // A hung database must not hold the whole pass: each try ends before the claim does.
        let left = claim_ends - millis(RECORD_MARGIN) - now_millis();
        let outcome =
            within(Duration::from_millis(u64::try_from(left).unwrap_or(0)), attempt).await;
        match outcome {
            Ok(recorded) => break recorded,
            Err(e)
                if e.is_unavailable()
                    && now_millis() + millis(wait) < claim_ends - millis(RECORD_MARGIN) =>
            {
                tracing::warn!(delivery = %delivery.id, error = %e, "cannot record the delivery yet; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e),
        }
    };
    if !recorded {
        tracing::warn!(delivery = %delivery.id, "the delivery's claim expired and another sender took it over; this attempt is not recorded");
    }
    Ok(true)
}

/// Recording stops retrying this long before the claim expires, so it never races the next
/// sender.
const RECORD_MARGIN: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let settings = AlertsConfig {
            retry_initial: Duration::from_secs(5),
            retry_max: Duration::from_secs(60),
            ..AlertsConfig::default()
        };
        let delays: Vec<Millis> = (1..=6).map(|n| retry_delay(&settings, n)).collect();
        assert_eq!(delays, [5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);
    }

    #[test]
    fn a_round_is_kept_to_the_clusters_held_and_fenced_with_their_leases() {
        use crate::instances::Identity;
        use crate::store::Fence;
        let identity = Identity {
            id: "i1".into(),
            name: "osprey-1".into(),
            address: "http://127.0.0.1:8048".into(),
            version: "0",
        };
        let ownership = Ownership::shared(identity);
        let fence = Fence { lease: cluster_lease("a"), holder: "i1".into(), epoch: 4 };
        ownership.set([(fence.lease.clone(), fence.clone())].into_iter().collect());
        let state = |subject: &str| ((String::from("lag"), subject.to_owned()), None);
        let round = || RoundWrite {
            states: vec![state("a/group/g"), state("b/group/g")],
            ..RoundWrite::default()
        };

        let mut write = round();
        let polled: BTreeSet<String> = ["a".to_owned()].into();
        under_leases(&mut write, &ownership, &polled).unwrap();
        assert_eq!(write.states, vec![state("a/group/g")], "b is another instance's");
        assert_eq!(write.fences, vec![fence]);

        let lost: BTreeSet<String> = ["a".to_owned(), "c".to_owned()].into();
        let refused = under_leases(&mut round(), &ownership, &lost);
        assert!(matches!(refused, Err(StoreError::Fenced(lease)) if lease == "cluster:c"));

        let mut alone = round();
        under_leases(&mut alone, &Ownership::alone(), &lost).unwrap();
        assert_eq!((alone.states.len(), alone.fences.len()), (2, 0), "a single instance keeps all");
    }
}
