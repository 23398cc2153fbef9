//! Consumer-group lists (search, status and topic filters, sort by lag, seconds, status or
//! data-loss risk) and one group.

use super::*;
use crate::alerting::definition::{RuleDef, RuleKind, matches_pattern};
use crate::evaluator::{Hint, diagnose, seconds_to_pass};

/// When a group's lag passes a lag rule's threshold at its current trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LagForecast {
    pub rule: String,
    pub threshold: f64,
    /// Seconds from now; 0 when the lag is past it already.
    pub passes_in: f64,
}

/// For every enabled group-wide `consumer_lag` or `lag_forecast` rule watching `group` on
/// `cluster`, when the lag passes the rule's threshold at the current trend, soonest first;
/// rules it does not head for are left out.
pub fn lag_forecasts(cluster: &str, group: &GroupSummary, rules: &[RuleDef]) -> Vec<LagForecast> {
    let Some(trend) = group.lag_trend_per_sec else { return Vec::new() };
    let mut forecasts: Vec<LagForecast> = rules
        .iter()
        .filter(|r| r.enabled && r.topic.is_none())
        .filter(|r| matches!(r.kind, RuleKind::ConsumerLag | RuleKind::LagForecast))
        .filter(|r| matches_pattern(&r.cluster, cluster))
        .filter(|r| r.group.as_deref().is_none_or(|p| matches_pattern(p, &group.name)))
        .filter_map(|r| {
            let threshold = r.threshold_or_default();
            let passes_in = seconds_to_pass(group.lag, trend, threshold)?;
            Some(LagForecast { rule: r.name.clone(), threshold, passes_in })
        })
        .collect();
    forecasts.sort_by(|a, b| a.passes_in.total_cmp(&b.passes_in).then(a.rule.cmp(&b.rule)));
    forecasts
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupSort {
    #[default]
    Name,
    Lag,
    LagSeconds,
    Status,
    Members,
    /// By data-loss risk ([`crate::evaluator::RetentionRisk::risk_cmp`]).
    Retention,
}

impl GroupSort {
    pub const ALL: [GroupSort; 6] = [
        GroupSort::Name,
        GroupSort::Lag,
        GroupSort::LagSeconds,
        GroupSort::Status,
        GroupSort::Members,
        GroupSort::Retention,
    ];

    pub fn code(self) -> &'static str {
        match self {
            GroupSort::Name => "name",
            GroupSort::Lag => "lag",
            GroupSort::LagSeconds => "lag_seconds",
            GroupSort::Status => "status",
            GroupSort::Members => "members",
            GroupSort::Retention => "retention",
        }
    }
}

/// Paging, filtering and sorting of the consumer group list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupQuery {
    /// Case-insensitive substring of the group name.
    pub q: String,
    /// Only groups consuming this topic.
    pub topic: String,
    /// Only groups with this status.
    pub status: Option<PartitionStatus>,
    pub sort: GroupSort,
    pub dir: Direction,
    pub page: usize,
    pub per_page: usize,
}

impl Default for GroupQuery {
    fn default() -> Self {
        GroupQuery {
            q: String::new(),
            topic: String::new(),
            status: None,
            sort: GroupSort::Name,
            dir: Direction::Asc,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// A consumer group as the group list shows it: its figures and the topics it consumes.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    #[serde(flatten)]
    pub summary: GroupSummary,
    pub topics: Vec<String>,
    /// The lag rule this group's lag passes soonest at its trend, and when.
    pub forecast: Option<LagForecast>,
}

pub(super) fn group_row(cluster: &str, g: &GroupLag, rules: &[RuleDef]) -> GroupRow {
    GroupRow {
        summary: g.summary.clone(),
        topics: g.topic_names().map(str::to_owned).collect(),
        forecast: lag_forecasts(cluster, &g.summary, rules).into_iter().next(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupList {
    pub cluster: ClusterSummary,
    pub total: usize,
    pub matched: usize,
    pub page: usize,
    pub pages: usize,
    pub query: GroupQuery,
    /// Why groups could not be read at the last good poll.
    pub groups_error: Option<String>,
    pub rows: Vec<GroupRow>,
}

/// One page of the consumer group list, from the last good poll.
/// `rules` are the alert rules, for each row's forecast.
pub fn group_list(
    clusters: &Clusters,
    name: &str,
    query: &GroupQuery,
    rules: &[RuleDef],
) -> Result<GroupList, QueryError> {
    let state = cluster_state(clusters, name)?;
    let mut query = query.clone();
    query.q = query.q.trim().to_owned();
    let needle = query.q.to_lowercase();
    let mut matched: Vec<&GroupLag> = state
        .groups
        .iter()
        .filter(|g| needle.is_empty() || g.summary.name.to_lowercase().contains(&needle))
        .filter(|g| query.topic.is_empty() || g.topic_names().any(|t| t == query.topic))
        .filter(|g| query.status.is_none_or(|s| g.summary.status == s))
        .collect();
    match query.sort {
        GroupSort::Name => {}
        GroupSort::Lag => matched.sort_by_key(|g| g.summary.lag),
        GroupSort::Status => matched.sort_by_key(|g| g.summary.status),
        GroupSort::Members => matched.sort_by_key(|g| g.summary.members),
        GroupSort::Retention => {
            matched.sort_by(|a, b| a.summary.retention.risk_cmp(&b.summary.retention))
        }
        GroupSort::LagSeconds => matched.sort_by(|a, b| {
            a.summary.lag_seconds.unwrap_or(-1.0).total_cmp(&b.summary.lag_seconds.unwrap_or(-1.0))
        }),
    }
    if query.dir == Direction::Desc {
        matched.reverse();
    }
    let (page, pages, shown) = paginate(&matched, query.page, query.per_page);
    query.page = page;
    Ok(GroupList {
        cluster: summarize(&state),
        total: state.groups.len(),
        matched: matched.len(),
        page,
        pages,
        groups_error: state.snapshot.as_ref().and_then(|s| s.groups_error.clone()),
        query,
        rows: shown.iter().map(|g| group_row(name, g, rules)).collect(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupDetail {
    pub cluster: ClusterSummary,
    pub group: GroupLag,
    /// When the lag passes each lag rule's threshold at its trend, soonest first.
    pub forecasts: Vec<LagForecast>,
    /// Why the group may be behind, from the last poll ([`crate::evaluator::diagnose`]).
    pub diagnosis: Vec<Hint>,
    pub members: Vec<GroupMember>,
    /// RocketMQ: online clients with language and version, subscriptions, and per queue the
    /// broker, queue id and the store time of the last consumed message.
    pub rocket: Option<RocketGroupView>,
    pub range: Range,
    pub history: Vec<GroupPoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RocketGroupView {
    #[serde(flatten)]
    pub group: RocketGroup,
    /// Per topic, the broker and queue id of each partition index.
    pub topic_queues: BTreeMap<String, Vec<MessageQueue>>,
}

impl RocketGroupView {
    /// The subscription group's settings, RocketMQ's defaults when the brokers did not say.
    pub fn settings(&self) -> crate::domain::rocket::GroupSettings {
        self.group.settings.clone().unwrap_or_default()
    }

    /// `broker:queue` of a topic's partition index, as RocketMQ users name queues.
    pub fn queue_label(&self, topic: &str, partition: &i32) -> String {
        usize::try_from(*partition)
            .ok()
            .and_then(|i| self.topic_queues.get(topic)?.get(i))
            .map_or_else(|| partition.to_string(), |q| format!("{}:{}", q.broker, q.queue_id))
    }

    /// Store time of the last message `group` consumed from a topic's partition.
    pub fn last_consumed_at(&self, topic: &str, partition: &i32) -> Option<Millis> {
        let queue = self.topic_queues.get(topic)?.get(usize::try_from(*partition).ok()?)?;
        self.group
            .queues
            .iter()
            .find(|q| q.topic == topic && q.broker == queue.broker && q.queue_id == queue.queue_id)?
            .last_consumed_at
    }
}

pub async fn group_detail(
    clusters: &Clusters,
    store: &Store,
    cluster: &str,
    group: &str,
    range: Range,
    now: Millis,
    rules: &[RuleDef],
) -> Result<GroupDetail, QueryError> {
    let state = cluster_state(clusters, cluster)?;
    let snapshot =
        state.snapshot.as_deref().ok_or_else(|| QueryError::NotPolledYet(cluster.to_owned()))?;
    let unknown =
        || QueryError::UnknownGroup { cluster: cluster.to_owned(), group: group.to_owned() };
    let lag = state.groups.iter().find(|g| g.summary.name == group).ok_or_else(unknown)?;
    let members = snapshot
        .groups
        .binary_search_by(|g| g.name.as_str().cmp(group))
        .map(|i| snapshot.groups[i].members.clone())
        .unwrap_or_default();
    let history = within(
        PAGE_WAIT,
        store.group_series(
            cluster,
            group,
            range.level(),
            now - range.millis(),
            now,
            range.bucket_millis(state.poll_interval_secs),
        ),
    )
    .await?;
    let rocket = rocket_of(&state).and_then(|r| {
        let group = r.groups.iter().find(|g| g.name == group)?.clone();
        let queues = lag
            .topics
            .iter()
            .filter_map(|t| {
                let topic = r.topics.iter().find(|rt| rt.name == t.topic)?;
                Some((t.topic.clone(), topic.queues.clone()))
            })
            .collect();
        Some(RocketGroupView { group, topic_queues: queues })
    });
    Ok(GroupDetail {
        cluster: summarize(&state),
        forecasts: lag_forecasts(cluster, &lag.summary, rules),
        diagnosis: diagnose(
            lag,
            snapshot,
            state.metrics.as_deref(),
            snapshot.taken_at,
            crate::evaluator::DIAGNOSIS_LOOKBACK,
        )
        .into_iter()
        .chain(crate::evaluator::canary_failing(state.canary.as_deref()))
        .collect(),
        group: lag.clone(),
        members,
        rocket,
        range,
        history,
    })
}
