//! The alert decision logic: one state machine per (rule, subject) — OK → pending → firing →
//! resolved — with an incident id, a hold duration, reminders and silences. Pure: it is given
//! what was observed and `now`, and answers which notices are due. It sends nothing, stores
//! nothing and never reads the clock; the caller persists [`Engine::states`] so a restart
//! neither loses nor repeats an alert.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::Millis;

/// What the engine needs to know of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTiming {
    pub rule: String,
    /// How long the condition must hold before the alert fires (0: at once).
    pub hold: Millis,
    /// How many observations in a row must breach before the alert fires (0 or 1: one).
    pub hold_polls: u32,
    /// Time between reminders while the alert keeps firing; `None`: no reminders.
    pub repeat: Option<Millis>,
}

/// One evaluation of a rule's condition for one subject (a group, a topic, a cluster, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub subject: String,
    pub breaching: bool,
    /// The measured value and the rule's threshold, carried into notices.
    pub value: f64,
    pub threshold: f64,
}

/// Mutes notices for a rule (and optionally one subject) until `until`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub rule: String,
    /// `None`: every subject of the rule.
    pub subject: Option<String>,
    pub until: Millis,
    /// Set when the silence stands for an inhibition: what holds the alert back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibited_by: Option<String>,
}

impl Silence {
    fn covers(&self, rule: &str, subject: &str, now: Millis) -> bool {
        self.rule == rule
            && self.subject.as_deref().is_none_or(|s| s == subject)
            && now < self.until
    }
}

/// Where one (rule, subject) stands. Serializable: the caller keeps it across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds since `since` (seen `polls` times in a row), not yet for the rule's
    /// hold duration.
    Pending {
        since: Millis,
        #[serde(default)]
        polls: u32,
    },
    /// The alert fires. `notified_at` is the last firing or reminder notice handed out;
    /// `None` while silenced (or inhibited: `inhibited_by` says by what) before any notice
    /// went out.
    Firing {
        incident: String,
        since: Millis,
        notified_at: Option<Millis>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inhibited_by: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Firing,
    Reminder,
    Resolved,
}

/// A notice the caller must deliver (through the outbox) for one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub incident: String,
    pub rule: String,
    pub subject: String,
    /// When the condition started to hold.
    pub since: Millis,
    pub at: Millis,
    pub value: f64,
    pub threshold: f64,
}

/// States of every (rule, subject) that is not OK; an absent key is OK.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Engine {
    states: BTreeMap<String, BTreeMap<String, AlertState>>,
}

/// A stable incident id: the same incident gets the same id after a restart, so deliveries
/// keyed by it are never repeated. Short and URL-safe: 16 hex digits of a SHA-256.
pub fn incident_id(rule: &str, subject: &str, since: Millis) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{rule}\0{subject}\0{since}"));
    hex::encode(&digest[..8])
}

impl Engine {
    /// An engine continuing from states saved earlier.
    pub fn from_states(states: BTreeMap<String, BTreeMap<String, AlertState>>) -> Self {
        Engine { states }
    }

    pub fn states(&self) -> &BTreeMap<String, BTreeMap<String, AlertState>> {
        &self.states
    }

    pub fn state(&self, rule: &str, subject: &str) -> Option<&AlertState> {
        self.states.get(rule)?.get(subject)
    }

    /// Takes one round of observations of `rule` at `now` and returns the notices due.
    /// Subjects of the rule that are not in `observations` (the group or topic is gone) count
    /// as no longer breaching.
    pub fn observe(
        &mut self,
        rule: &RuleTiming,
        observations: &[Observation],
        silences: &[Silence],
        now: Millis,
    ) -> Vec<Notice> {
        self.observe_partly(rule, observations, |_| false, silences, now)
    }

    /// Like [`Engine::observe`], but subjects for which `unknown` is true and that were not
    /// observed keep their state: their cluster could not be read this round, which says
    /// nothing about whether the condition still holds.
    pub fn observe_partly(
        &mut self,
        rule: &RuleTiming,
        observations: &[Observation],
        unknown: impl Fn(&str) -> bool,
        silences: &[Silence],
        now: Millis,
    ) -> Vec<Notice> {
        let mut notices = Vec::new();
        let states = self.states.entry(rule.rule.clone()).or_default();
        let seen: std::collections::BTreeSet<&str> =
            observations.iter().map(|o| o.subject.as_str()).collect();
        let vanished: Vec<String> =
            states.keys().filter(|s| !seen.contains(s.as_str()) && !unknown(s)).cloned().collect();
        let gone = vanished.into_iter().map(|subject| Observation {
            subject,
            breaching: false,
            value: f64::NAN,
            threshold: f64::NAN,
        });
        for observation in observations.iter().cloned().chain(gone) {
            let covering: Vec<&Silence> = silences
                .iter()
                .filter(|s| s.covers(&rule.rule, &observation.subject, now))
                .collect();
            // An operator's silence says more than an inhibition: shown as silenced.
            let hold = match covering.iter().find(|s| s.inhibited_by.is_none()) {
                Some(_) => Some(None),
                None => covering.first().map(|s| s.inhibited_by.clone()),
            };
            let previous = states.remove(&observation.subject);
            let (next, notice) = step(rule, previous, &observation, hold, now);
            if let Some(next) = next {
                states.insert(observation.subject.clone(), next);
            }
            notices.extend(notice);
        }
        if states.is_empty() {
            self.states.remove(&rule.rule);
        }
        notices
    }

    /// Marks `rule`'s firing alert about `subject` (incident `incident`) as not told, held back
    /// by `by`: its firing notice is given again once nothing holds it back.
    pub fn hold_back(&mut self, rule: &str, subject: &str, incident: &str, by: &str) {
        if let Some(AlertState::Firing { incident: current, notified_at, inhibited_by, .. }) =
            self.states.get_mut(rule).and_then(|s| s.get_mut(subject))
            && current == incident
        {
            *notified_at = None;
            *inhibited_by = Some(by.to_owned());
        }
    }

    /// Forgets a rule that was deleted, resolving nothing (its incidents end without notice).
    pub fn forget_rule(&mut self, rule: &str) {
        self.states.remove(rule);
    }

    /// Names of the rules that have state.
    pub fn rules(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }
}

/// One transition of one (rule, subject).
/// `hold`: `Some` while a silence covers the subject (with what inhibits it, for inhibitions).
fn step(
    rule: &RuleTiming,
    previous: Option<AlertState>,
    observed: &Observation,
    hold: Option<Option<String>>,
    now: Millis,
) -> (Option<AlertState>, Option<Notice>) {
    let silenced = hold.is_some();
    let notice = |kind, incident: &str, since| Notice {
        kind,
        incident: incident.to_owned(),
        rule: rule.rule.clone(),
        subject: observed.subject.clone(),
        since,
        at: now,
        value: observed.value,
        threshold: observed.threshold,
    };
    match (previous, observed.breaching) {
        (None, false) => (None, None),
        (None, true) if rule.hold > 0 || rule.hold_polls > 1 => {
            (Some(AlertState::Pending { since: now, polls: 1 }), None)
        }
        (None, true) => fire(rule, observed, now, now, hold),
        (Some(AlertState::Pending { since, polls }), true) => {
            let polls = polls.saturating_add(1);
            if now - since >= rule.hold && polls >= rule.hold_polls {
                fire(rule, observed, since, now, hold)
            } else {
                (Some(AlertState::Pending { since, polls }), None)
            }
        }
        (Some(AlertState::Pending { .. }), false) => (None, None),
        (Some(AlertState::Firing { incident, since, notified_at, .. }), true) => {
            let (kind, due) = match notified_at {
                // Fired while silenced: the firing notice goes out once the silence ends.
                None => (NoticeKind::Firing, true),
                Some(at) => (NoticeKind::Reminder, rule.repeat.is_some_and(|r| now - at >= r)),
            };
            if due && !silenced {
                let sent = notice(kind, &incident, since);
                let next = AlertState::Firing {
                    incident,
                    since,
                    notified_at: Some(now),
                    inhibited_by: None,
                };
                (Some(next), Some(sent))
            } else {
                let inhibited_by = if notified_at.is_none() { hold.flatten() } else { None };
                (Some(AlertState::Firing { incident, since, notified_at, inhibited_by }), None)
            }
        }
        (Some(AlertState::Firing { incident, since, notified_at, .. }), false) => {
            // A recovery notice only follows an incident somebody was told about; silences do
            // not hold it back, since it closes what was announced.
            (None, notified_at.map(|_| notice(NoticeKind::Resolved, &incident, since)))
        }
    }
}

fn fire(
    rule: &RuleTiming,
    observed: &Observation,
    since: Millis,
    now: Millis,
    hold: Option<Option<String>>,
) -> (Option<AlertState>, Option<Notice>) {
    let incident = incident_id(&rule.rule, &observed.subject, since);
    let notified_at = hold.is_none().then_some(now);
    let notice = notified_at.map(|at| Notice {
        kind: NoticeKind::Firing,
        incident: incident.clone(),
        rule: rule.rule.clone(),
        subject: observed.subject.clone(),
        since,
        at,
        value: observed.value,
        threshold: observed.threshold,
    });
    (
        Some(AlertState::Firing { incident, since, notified_at, inhibited_by: hold.flatten() }),
        notice,
    )
}

#[cfg(test)]
mod tests {
    use super::NoticeKind::*;
    use super::*;

    const MIN: Millis = 60_000;

    fn rule(hold: Millis, repeat: Option<Millis>) -> RuleTiming {
        RuleTiming { rule: "billing-lag".into(), hold, hold_polls: 0, repeat }
    }

    fn seen(subject: &str, value: f64) -> Observation {
        Observation { subject: subject.into(), breaching: value > 100.0, value, threshold: 100.0 }
    }

    fn kinds(notices: &[Notice]) -> Vec<NoticeKind> {
        notices.iter().map(|n| n.kind).collect()
    }

    /// Runs `values` (one per minute, from t = 0) through the engine; returns notices per minute.
    fn run(rule: &RuleTiming, values: &[f64], silences: &[Silence]) -> Vec<Vec<NoticeKind>> {
        let mut engine = Engine::default();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                kinds(&engine.observe(rule, &[seen("prod/billing", *v)], silences, i as i64 * MIN))
            })
            .collect()
    }

    #[test]
    fn nothing_happens_while_the_condition_does_not_hold() {
        assert!(run(&rule(2 * MIN, None), &[5.0, 50.0, 99.0], &[]).iter().all(Vec::is_empty));
    }

    #[test]
    fn it_fires_once_after_holding_then_resolves_once() {
        let notices =
            run(&rule(2 * MIN, None), &[500.0, 500.0, 500.0, 500.0, 500.0, 5.0, 5.0], &[]);
        assert_eq!(
            notices,
            vec![vec![], vec![], vec![Firing], vec![], vec![], vec![Resolved], vec![]]
        );
    }

    #[test]
    fn a_blip_shorter_than_the_hold_never_fires() {
        let notices = run(&rule(2 * MIN, None), &[500.0, 500.0, 5.0, 500.0, 5.0], &[]);
        assert!(notices.iter().all(Vec::is_empty));
    }

    #[test]
    fn without_a_hold_it_fires_at_once() {
        assert_eq!(run(&rule(0, None), &[500.0, 5.0], &[]), vec![vec![Firing], vec![Resolved]]);
    }

    #[test]
    fn reminders_follow_the_repeat_interval() {
        let values = [500.0; 7];
        let notices = run(&rule(0, Some(3 * MIN)), &values, &[]);
        assert_eq!(
            notices,
            vec![vec![Firing], vec![], vec![], vec![Reminder], vec![], vec![], vec![Reminder]]
        );
    }

    #[test]
    fn notices_carry_incident_value_threshold_and_start() {
        let mut engine = Engine::default();
        let rule = rule(MIN, None);
        engine.observe(&rule, &[seen("prod/billing", 150.0)], &[], 0);
        let fired = engine.observe(&rule, &[seen("prod/billing", 12_345.0)], &[], MIN);
        assert_eq!(fired[0].incident, incident_id("billing-lag", "prod/billing", 0));
        assert_eq!(fired[0].incident.len(), 16);
        assert_eq!((fired[0].since, fired[0].at), (0, MIN));
        assert_eq!((fired[0].value, fired[0].threshold), (12_345.0, 100.0));
        let resolved = engine.observe(&rule, &[seen("prod/billing", 3.0)], &[], 5 * MIN);
        assert_eq!(resolved[0].incident, fired[0].incident, "one incident, one id");
        assert_eq!(resolved[0].value, 3.0);
    }

    #[test]
    fn a_silence_mutes_firing_and_the_notice_follows_when_it_ends() {
        let silence = [Silence {
            rule: "billing-lag".into(),
            subject: None,
            until: 2 * MIN + 1,
            inhibited_by: None,
        }];
        let notices = run(&rule(0, None), &[500.0, 500.0, 500.0, 500.0, 5.0], &silence);
        assert_eq!(notices, vec![vec![], vec![], vec![], vec![Firing], vec![Resolved]]);
    }

    #[test]
    fn an_incident_over_before_its_silence_ends_is_never_announced() {
        let silence = [Silence {
            rule: "billing-lag".into(),
            subject: None,
            until: 10 * MIN,
            inhibited_by: None,
        }];
        assert!(run(&rule(0, None), &[500.0, 500.0, 5.0], &silence).iter().all(Vec::is_empty));
    }

    #[test]
    fn a_silence_holds_back_reminders_but_not_the_recovery() {
        let mut engine = Engine::default();
        let rule = rule(0, Some(MIN));
        assert_eq!(kinds(&engine.observe(&rule, &[seen("s", 500.0)], &[], 0)), [Firing]);
        let silence = [Silence {
            rule: "billing-lag".into(),
            subject: Some("s".into()),
            until: 10 * MIN,
            inhibited_by: None,
        }];
        assert!(engine.observe(&rule, &[seen("s", 500.0)], &silence, 2 * MIN).is_empty());
        assert_eq!(kinds(&engine.observe(&rule, &[seen("s", 5.0)], &silence, 3 * MIN)), [Resolved]);
    }

    #[test]
    fn a_silence_for_another_subject_changes_nothing() {
        let silence = [Silence {
            rule: "billing-lag".into(),
            subject: Some("other".into()),
            until: 10 * MIN,
            inhibited_by: None,
        }];
        assert_eq!(run(&rule(0, None), &[500.0], &silence), vec![vec![Firing]]);
    }

    #[test]
    fn subjects_are_independent_and_a_vanished_one_resolves() {
        let mut engine = Engine::default();
        let rule = rule(0, None);
        let first = engine.observe(&rule, &[seen("a", 500.0), seen("b", 500.0)], &[], 0);
        assert_eq!(kinds(&first), [Firing, Firing]);
        let second = engine.observe(&rule, &[seen("a", 500.0)], &[], MIN);
        assert_eq!(second.len(), 1);
        assert_eq!((second[0].kind, second[0].subject.as_str()), (Resolved, "b"));
        assert!(engine.state("a", "a").is_none() && engine.state("billing-lag", "a").is_some());
    }

    #[test]
    fn saved_states_survive_a_restart_without_repeating_or_losing_notices() {
        let rule = rule(MIN, Some(10 * MIN));
        let mut before = Engine::default();
        before.observe(&rule, &[seen("s", 500.0)], &[], 0);
        assert_eq!(kinds(&before.observe(&rule, &[seen("s", 500.0)], &[], MIN)), [Firing]);
        let saved = serde_json::to_string(before.states()).unwrap();

        let mut after = Engine::from_states(serde_json::from_str(&saved).unwrap());
        assert!(
            after.observe(&rule, &[seen("s", 500.0)], &[], 2 * MIN).is_empty(),
            "no second firing"
        );
        assert_eq!(kinds(&after.observe(&rule, &[seen("s", 5.0)], &[], 3 * MIN)), [Resolved]);
        assert!(after.states().is_empty());
    }

    #[test]
    fn a_poll_count_hold_needs_that_many_breaching_polls_in_a_row() {
        let rule = RuleTiming { hold_polls: 3, ..rule(0, None) };
        let notices = run(&rule, &[500.0, 500.0, 5.0, 500.0, 500.0, 500.0], &[]);
        assert_eq!(notices, vec![vec![], vec![], vec![], vec![], vec![], vec![Firing]]);
    }

    #[test]
    fn unknown_subjects_keep_their_state_instead_of_resolving() {
        let mut engine = Engine::default();
        let rule = rule(0, None);
        engine.observe(&rule, &[seen("down/g", 500.0), seen("up/g", 500.0)], &[], 0);
        let down = |s: &str| s.starts_with("down/");
        let notices = engine.observe_partly(&rule, &[seen("up/g", 500.0)], down, &[], MIN);
        assert!(notices.is_empty(), "the unreadable cluster's alert neither resolves nor repeats");
        assert!(engine.state("billing-lag", "down/g").is_some());
    }

    #[test]
    fn an_alert_held_back_after_firing_is_told_again_when_nothing_holds_it() {
        let mut engine = Engine::default();
        let rule = rule(0, None);
        let fired = engine.observe(&rule, &[seen("s", 500.0)], &[], 0);
        engine.hold_back("billing-lag", "s", &fired[0].incident, "gone (broker 2)");
        let held = engine.state("billing-lag", "s").unwrap();
        assert!(matches!(
            held,
            AlertState::Firing { notified_at: None, inhibited_by: Some(_), .. }
        ));
        let again = engine.observe(&rule, &[seen("s", 500.0)], &[], MIN);
        assert_eq!(
            (kinds(&again), again[0].incident.clone()),
            (vec![Firing], fired[0].incident.clone())
        );
        engine.hold_back("billing-lag", "s", "another-incident", "x");
        assert!(matches!(
            engine.state("billing-lag", "s"),
            Some(AlertState::Firing { notified_at: Some(_), .. })
        ));
    }

    #[test]
    fn pending_survives_a_restart_too() {
        let rule = rule(2 * MIN, None);
        let mut before = Engine::default();
        before.observe(&rule, &[seen("s", 500.0)], &[], 0);
        let mut after = Engine::from_states(before.states().clone());
        assert_eq!(kinds(&after.observe(&rule, &[seen("s", 500.0)], &[], 2 * MIN)), [Firing]);
    }
}
