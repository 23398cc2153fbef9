//! Notice grouping, as Alertmanager does it: the engine's per-incident notices gathered per
//! group (a rule on a cluster, split further by the rule's `group_by` labels) into one notice,
//! sent `group_wait` after the group's first alert and then at most every `group_interval`.
//! Pure: given notices and `now`, it answers which batches are due; the caller saves
//! [`Groups`] with the round, so a restart neither loses nor repeats a batch.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::message::{AlertLine, AlertMessage, Batch, MessageKind, Subject};
use crate::domain::Millis;

pub use super::definition::GROUP_LABELS;

/// How one rule groups its notices.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    /// Labels from [`GROUP_LABELS`] beyond cluster and rule; `subject` for one group per
    /// subject (no grouping).
    pub by: Vec<String>,
    pub wait: Millis,
    pub interval: Millis,
}

/// One group's place between notices. Serializable: the caller keeps it across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    /// The group's id while it has alerts: its first incident, so a lone alert's notices carry
    /// its own incident (receivers deduplicate by it).
    pub id: String,
    pub rule: String,
    pub cluster: String,
    pub labels: BTreeMap<String, String>,
    pub opened_at: Millis,
    /// When the last batch went out; `None` until the first.
    pub sent_at: Option<Millis>,
    /// Batches sent so far (the next batch's number, less one).
    pub seq: u32,
    /// Notices not yet sent, one per incident (the latest).
    pub pending: Vec<AlertMessage>,
    /// Incidents the group's notices said are firing and not yet said are resolved.
    pub announced: BTreeSet<String>,
    /// Notices past [`MAX_PENDING`] in one batch: counted, not listed (incident and kind).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<(String, MessageKind)>,
}

/// Notices one batch lists; a storm beyond it is counted, so a group's saved state stays a few
/// megabytes (MySQL refuses rows past `max_allowed_packet`).
pub const MAX_PENDING: usize = 5_000;
/// Notices of a batch that keep their group's facts (topics, members); the others only say
/// their value.
const WITH_FACTS: usize = 100;

/// A batch due now: one notice for the group, to go to the rule's channels.
#[derive(Debug, Clone, PartialEq)]
pub struct DueBatch {
    pub group: String,
    pub seq: u32,
    pub message: AlertMessage,
}

/// Every group with alerts or notices waiting, by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Groups {
    groups: BTreeMap<String, GroupState>,
}

/// The group key of `subject` under `rule` and `grouping`, with its labels.
pub fn group_of(
    rule: &str,
    subject: &Subject,
    grouping: &Grouping,
) -> (String, BTreeMap<String, String>) {
    let mut labels = BTreeMap::from([
        ("cluster".to_owned(), subject.cluster.clone()),
        ("rule".to_owned(), rule.to_owned()),
    ]);
    let whole = grouping.by.iter().any(|l| l == "subject");
    for label in &grouping.by {
        let value = match label.as_str() {
            "group" => subject.group.clone(),
            "topic" => subject.topic.clone(),
            "broker" => subject.broker.map(|b| b.to_string()),
            "queue" => subject.queue.clone(),
            "node" => subject.node.clone(),
            _ => None,
        };
        if let Some(value) = value {
            labels.insert(label.clone(), value);
        }
    }
    if whole {
        labels.insert("subject".to_owned(), subject.key());
    }
    (group_key(&labels), labels)
}

/// The key of the group with `labels`.
pub fn group_key(labels: &BTreeMap<String, String>) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\0")
}

/// A short, stable key for storing a group.
pub fn storage_key(key: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(key)[..12])
}

impl Groups {
    pub fn from_states(groups: BTreeMap<String, GroupState>) -> Self {
        Groups { groups }
    }

    pub fn states(&self) -> &BTreeMap<String, GroupState> {
        &self.groups
    }

    /// Takes one of the engine's notices (already a message) into its group at `now`.
    /// Returns the group's id.
    pub fn add(&mut self, grouping: &Grouping, mut message: AlertMessage, now: Millis) -> String {
        let (mut key, labels) = group_of(&message.rule, &message.subject, grouping);
        // A reminder or resolution goes to the group that told the firing, even when the rule's
        // group_by changed since.
        let holds = |g: &GroupState| {
            g.announced.contains(&message.incident)
                || g.pending.iter().any(|m| m.incident == message.incident)
        };
        if message.kind != MessageKind::Firing
            && !self.groups.get(&key).is_some_and(holds)
            && let Some((other, _)) = self.groups.iter().find(|(_, g)| holds(g))
        {
            key = other.clone();
        }
        let group = self.groups.entry(key).or_insert_with(|| GroupState {
            id: message.incident.clone(),
            rule: message.rule.clone(),
            cluster: message.subject.cluster.clone(),
            labels,
            opened_at: now,
            sent_at: None,
            seq: 0,
            pending: Vec::new(),
            announced: BTreeSet::new(),
            unlisted: Vec::new(),
        });
        let waiting = group.pending.iter().position(|m| m.incident == message.incident);
        let told = group.announced.contains(&message.incident);
        match (message.kind, waiting) {
            // Fired and over before anyone was told: nothing to tell. (A resolution of an alert
            // the group never held was told before grouping existed: it is told.)
            (MessageKind::Resolved, Some(i)) if !told => {
                group.pending.remove(i);
            }
            (_, Some(i)) => {
                // A reminder never turns a firing notice nobody has seen into a reminder.
                let kind = match (group.pending[i].kind, message.kind) {
                    (MessageKind::Firing, MessageKind::Reminder) => MessageKind::Firing,
                    (_, kind) => kind,
                };
                group.pending[i] = AlertMessage { kind, ..message };
            }
            (_, None) if group.pending.len() >= MAX_PENDING => {
                group.unlisted.push((message.incident, message.kind));
            }
            (_, None) => {
                if group.pending.len() >= WITH_FACTS {
                    message.group_facts = None;
                }
                group.pending.push(message);
            }
        }
        group.id.clone()
    }

    /// The batches of `rule`'s groups due at `now`: a group's first `grouping.wait` after it
    /// opened, later ones `grouping.interval` after the previous. A group with nothing firing
    /// and nothing waiting is closed (its next alert opens a new one, with a new id).
    /// Only groups `ready` says may send are looked at (their cluster was decided this round
    /// and no mute window holds their route).
    pub fn due(
        &mut self,
        rule: &str,
        grouping: &Grouping,
        ready: impl Fn(&GroupState) -> bool,
        now: Millis,
    ) -> Vec<DueBatch> {
        let mut due = Vec::new();
        let keys: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.rule == rule && ready(g))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let Some(group) = self.groups.get_mut(&key) else { continue };
            let ready = match group.sent_at {
                None => now - group.opened_at >= grouping.wait,
                Some(at) => now - at >= grouping.interval,
            };
            // Unlisted notices leave with the next listed ones (a batch has a worst alert to lead).
            if ready && !group.pending.is_empty() {
                group.seq += 1;
                group.sent_at = Some(now);
                let pending = std::mem::take(&mut group.pending);
                let unlisted = std::mem::take(&mut group.unlisted);
                let told = pending.iter().map(|m| (&m.incident, m.kind));
                for (incident, kind) in told.chain(unlisted.iter().map(|(i, k)| (i, *k))) {
                    match kind {
                        MessageKind::Resolved => group.announced.remove(incident),
                        _ => group.announced.insert(incident.clone()),
                    };
                }
                let message = batch_message(group, pending, unlisted.len(), now);
                due.push(DueBatch { group: key.clone(), seq: group.seq, message });
            }
            if group.pending.is_empty() && group.announced.is_empty() {
                self.groups.remove(&key);
            }
        }
        due
    }

    /// Takes back the firing notice of `rule` about `subject` (a subject key) that waits untold
    /// in its group; returns its incident.
    pub fn withdraw_untold(&mut self, rule: &str, subject: &str) -> Option<String> {
        for group in self.groups.values_mut().filter(|g| g.rule == rule) {
            let waiting = group.pending.iter().position(|m| {
                m.kind == MessageKind::Firing
                    && m.subject.key() == subject
                    && !group.announced.contains(&m.incident)
            });
            if let Some(i) = waiting {
                return Some(group.pending.remove(i).incident);
            }
        }
        None
    }

    /// Forgets the groups of a rule that was deleted (their alerts end without notice).
    pub fn forget_rule(&mut self, rule: &str) {
        self.groups.retain(|_, g| g.rule != rule);
    }

    /// Names of the rules that have groups.
    pub fn rules(&self) -> BTreeSet<&str> {
        self.groups.values().map(|g| g.rule.as_str()).collect()
    }
}

/// How bad a notice is, to list the worst first: firing before reminders before resolved,
/// then the value furthest past the threshold.
fn severity_order(message: &AlertMessage) -> (u8, f64) {
    let rank = match message.kind {
        MessageKind::Firing => 0,
        MessageKind::Reminder | MessageKind::Test | MessageKind::Acknowledged => 1,
        MessageKind::Resolved => 2,
    };
    let value = message.value.unwrap_or(f64::NEG_INFINITY);
    let past = if message.below { message.threshold - value } else { value - message.threshold };
    (rank, -past)
}

/// The group's notice: the worst alert's message, carrying every alert as a line.
fn batch_message(
    group: &GroupState,
    mut pending: Vec<AlertMessage>,
    unlisted: usize,
    now: Millis,
) -> AlertMessage {
    pending.sort_by(|a, b| {
        let (ra, va) = severity_order(a);
        let (rb, vb) = severity_order(b);
        ra.cmp(&rb).then(va.total_cmp(&vb)).then(a.subject.cmp(&b.subject))
    });
    let alerts: Vec<AlertLine> = pending.iter().map(AlertLine::of).collect();
    let kind = pending.first().map_or(MessageKind::Resolved, |m| m.kind);
    let mut lead = pending.swap_remove(0);
    lead.kind = kind;
    lead.at = now;
    lead.batch = Some(Batch {
        id: group.id.clone(),
        seq: group.seq,
        labels: group.labels.clone(),
        alerts,
        unlisted,
        firing_after: group.announced.len(),
    });
    lead
}

#[cfg(test)]
mod tests;
