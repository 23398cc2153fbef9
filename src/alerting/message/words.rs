//! The words of an alert's one-line summary, per language: [`EN`] is what notices say (and what
//! `alert_incidents.summary` stores), [`ZH`] what the Chinese pages show. Phrases are templates
//! whose `{name}` slots [`fill`] replaces once, so a name holding `{…}` is never read as a slot.
//! Numbers, durations, status codes and names stay as they are in every language.

/// Every word and phrase of [`super::AlertMessage::summary_in`] and
/// [`super::Subject::describe_in`].
#[derive(Debug)]
pub struct Words {
    // What: `{group}`, `{topic}`, `{broker}`, `{queue}`, `{node}`, `{cluster}`, `{what}`.
    /// A consumer group alone.
    pub group: &'static str,
    /// A consumer group and the one topic the rule watches.
    pub group_topic: &'static str,
    pub topic: &'static str,
    pub broker: &'static str,
    pub queue: &'static str,
    pub node: &'static str,
    /// Put between two parts of a subject.
    pub separator: &'static str,
    /// A subject that is the cluster itself.
    pub cluster: &'static str,
    /// A subject within its cluster.
    pub on: &'static str,

    // Summaries: `{what}`, `{value}`, `{threshold}`, `{above}`, `{at_least}`, `{cluster}`.
    pub lag: &'static str,
    pub lag_seconds: &'static str,
    /// A forecast: `{value}` is the lag the trend reaches at the rule's horizon.
    pub lag_forecast: &'static str,
    /// `{value}` is the unread share of the retained log.
    pub retention_risk: &'static str,
    /// `{value}` membership changes in the rule's window.
    pub rebalancing: &'static str,
    /// `{value}` messages received in the rule's window.
    pub producer_stopped: &'static str,
    pub producer_back: &'static str,
    /// `{value}` connections opened per second.
    pub connection_churn: &'static str,
    pub canary_latency: &'static str,
    pub canary_loss: &'static str,
    pub status: &'static str,
    pub gone: &'static str,
    pub cluster_unreachable: &'static str,
    pub cluster_reachable: &'static str,
    pub broker_gone: &'static str,
    pub broker_back: &'static str,
    pub under_replicated: &'static str,
    pub backlog: &'static str,
    pub backlog_growing: &'static str,
    pub backlog_steady: &'static str,
    pub no_consumer: &'static str,
    pub consumed_again: &'static str,
    pub buried: &'static str,
    pub node_alarm: &'static str,
    pub node_ok: &'static str,
    pub offline_partitions: &'static str,
    /// `{metric}`, `{value}`, `{relation}`, `{threshold}`, `{what}`.
    pub broker_metric: &'static str,
    /// The metric's name when a `broker_metric` message lacks it.
    pub metric: &'static str,

    // Values: `{count}`.
    /// A cluster-down value: consecutive failed polls.
    pub failed_polls: &'static str,
    /// Node conditions by code: running, memory alarm, disk alarm, both, down.
    pub node_conditions: [&'static str; 5],
    /// The value of a subject that is gone.
    pub gone_value: &'static str,

    // A group's facts: `{count}`, `{messages}`, `{seconds}`, `{topic}`, `{status}`, `{lag}`.
    pub one_message: &'static str,
    pub messages: &'static str,
    /// Lag in messages and time.
    pub behind: &'static str,
    /// One topic of a group, without and with its lag in time.
    pub topic_lag: &'static str,
    pub topic_lag_behind: &'static str,
    pub more_topics: &'static str,
    pub no_members: &'static str,
    /// When the lag passes the threshold at this rate: `{threshold}`, `{eta}`.
    pub passes_in: &'static str,
    /// Retention: `{count}` messages deleted unread; unread deleted in `{eta}`; no pace known.
    pub lost_unread: &'static str,
    pub deleted_in: &'static str,
    pub no_loss_eta: &'static str,

    /// The labels of [`super::AlertMessage::facts_in`].
    pub facts: FactLabels,
    /// A diagnosis's hints ([`super::hint_text`]).
    pub hints: HintWords,
}

/// How each diagnosis hint reads: `{joined}`, `{left}`, `{changes}`, `{ago}`; `{topic}`,
/// `{partition}`, `{share}`, `{lag}`, `{owner}`; `{produce}`, `{consume}`; `{count}`;
/// `{broker}`, `{idle}`.
#[derive(Debug)]
pub struct HintWords {
    pub no_members: &'static str,
    pub members_joined: &'static str,
    pub members_left: &'static str,
    pub members_joined_left: &'static str,
    pub hot_partition: &'static str,
    pub stuck_partition: &'static str,
    pub nobody: &'static str,
    pub outpaced: &'static str,
    pub rewound: &'static str,
    pub under_replicated: &'static str,
    pub busy_broker: &'static str,
    pub canary_failing: &'static str,
}

/// The label of each line of a notice's facts.
#[derive(Debug)]
pub struct FactLabels {
    pub rule: &'static str,
    pub cluster: &'static str,
    pub group: &'static str,
    pub topic: &'static str,
    pub broker: &'static str,
    pub queue: &'static str,
    pub node: &'static str,
    pub value: &'static str,
    pub threshold: &'static str,
    pub lag: &'static str,
    pub topics: &'static str,
    pub members: &'static str,
    pub forecast: &'static str,
    pub retention: &'static str,
    pub diagnosis: &'static str,
    pub since: &'static str,
    pub resolved: &'static str,
    pub duration: &'static str,
    pub incident: &'static str,
    pub acknowledged: &'static str,
    pub open: &'static str,
}

pub static EN: Words = Words {
    group: "group {group}",
    group_topic: "group {group} (topic {topic})",
    topic: "topic {topic}",
    broker: "broker {broker}",
    queue: "queue {queue}",
    node: "node {node}",
    separator: " ",
    cluster: "cluster {cluster}",
    on: "{what} on {cluster}",

    lag: "lag {value} {above} {threshold} — {what}",
    lag_seconds: "lag {value} {above} {threshold} — {what}",
    lag_forecast: "lag heading for {value} {above} {threshold} — {what}",
    retention_risk: "oldest unread message {value} {above} {threshold} into retention — {what}",
    rebalancing: "{value} rebalances {above} {threshold} — {what}",
    producer_stopped: "{what}: {value} messages received in the window, fewer than {threshold} — producers stopped",
    producer_back: "{what} receives messages again ({value} in the window)",
    connection_churn: "connections opened {value}/s {above} {threshold}/s — {what}",
    canary_latency: "canary end-to-end p99 {value} {above} {threshold} — {what}",
    canary_loss: "canary markers lost {value} {above} {threshold} — {what}",
    status: "status {value} ({at_least} {threshold}) — {what}",
    gone: "{what} is gone",
    cluster_unreachable: "cluster {cluster} unreachable ({value})",
    cluster_reachable: "cluster {cluster} reachable again",
    broker_gone: "{what} is gone from the cluster",
    broker_back: "{what} is back",
    under_replicated: "under-replicated partitions {value} {above} {threshold} — {what}",
    backlog: "backlog {value} {above} {threshold} — {what}",
    backlog_growing: "{what}: backlog growing by {value} messages/s",
    backlog_steady: "{what}: backlog no longer growing",
    no_consumer: "{what}: {value} messages and no consumer",
    consumed_again: "{what} is consumed again",
    buried: "buried jobs {value} {above} {threshold} — {what}",
    node_alarm: "{what}: {value}",
    node_ok: "{what} is running without alarms",
    offline_partitions: "offline partitions {value} {above} {threshold} — {what}",
    broker_metric: "{metric} {value} {relation} {threshold} — {what}",
    metric: "metric",

    failed_polls: "{count} failed polls",
    node_conditions: [
        "running",
        "in a memory alarm",
        "in a disk alarm",
        "in memory and disk alarms",
        "down",
    ],
    gone_value: "gone",

    one_message: "{count} message",
    messages: "{count} messages",
    behind: "{messages}, {seconds} behind",
    topic_lag: "{topic} ({status}, lag {lag})",
    topic_lag_behind: "{topic} ({status}, lag {lag}, {seconds} behind)",
    more_topics: "and {count} more",
    no_members: "none (no consumer connected)",
    passes_in: "at this rate the lag passes {threshold} in about {eta}",
    lost_unread: "{count} messages deleted by retention unread",
    deleted_in: "at this pace retention deletes unread messages in about {eta}",
    no_loss_eta: "retention is not closing in at the current pace",

    facts: FactLabels {
        rule: "Rule",
        cluster: "Cluster",
        group: "Group",
        topic: "Topic",
        broker: "Broker",
        queue: "Queue",
        node: "Node",
        value: "Value",
        threshold: "Threshold",
        lag: "Lag",
        topics: "Topics",
        members: "Members",
        forecast: "Forecast",
        retention: "Retention",
        diagnosis: "Diagnosis",
        since: "Since",
        resolved: "Resolved",
        duration: "Duration",
        incident: "Incident",
        acknowledged: "Acknowledged",
        open: "Open",
    },
    hints: HintWords {
        no_members: "no consumer is connected to the group",
        members_joined: "{joined} joined {ago} ago ({changes} membership changes in the lookback)",
        members_left: "{left} left {ago} ago ({changes} membership changes in the lookback)",
        members_joined_left: "{joined} joined and {left} left, last {ago} ago ({changes} membership changes in the lookback)",
        hot_partition: "partition {partition} of {topic} holds {share} % of the lag ({lag}): a hot partition (owner {owner})",
        stuck_partition: "partition {partition} of {topic} holds {share} % of the lag ({lag}) and its consumer {owner} is stuck",
        nobody: "nobody",
        outpaced: "producers send {produce} msg/s, the group reads {consume} msg/s",
        rewound: "the committed offset of {topic} partition {partition} went back (a reset)",
        under_replicated: "{topic} has {count} under-replicated partitions the group reads",
        busy_broker: "broker {broker} leads lagging partitions and its request handler is {idle} % idle",
        canary_failing: "the end-to-end canary lost {lost} of {sent} markers on this cluster lately (brokers {brokers}): messages may not get through",
    },
};

/// The Chinese pages' words, in the terms of their other pages (`积压` for a group's lag and a
/// queue's backlog, `Broker` kept as the Kafka term).
pub static ZH: Words = Words {
    group: "消费组 {group}",
    group_topic: "消费组 {group}（主题 {topic}）",
    topic: "主题 {topic}",
    broker: "Broker {broker}",
    queue: "队列 {queue}",
    node: "节点 {node}",
    separator: " ",
    cluster: "集群 {cluster}",
    on: "{what} @ {cluster}",

    lag: "积压 {value} {above} {threshold} — {what}",
    lag_seconds: "积压时长 {value} {above} {threshold} — {what}",
    lag_forecast: "积压趋势将达 {value} {above} {threshold} — {what}",
    retention_risk: "最早未读消息已用去保留期 {value} {above} {threshold} — {what}",
    rebalancing: "重平衡 {value} 次 {above} {threshold} — {what}",
    producer_stopped: "{what}：窗口内只收到 {value} 条消息，少于 {threshold} — 生产者已停止",
    producer_back: "{what} 恢复接收消息（窗口内 {value} 条）",
    connection_churn: "每秒新建连接 {value} {above} {threshold} — {what}",
    canary_latency: "探针端到端 p99 {value} {above} {threshold} — {what}",
    canary_loss: "探针消息丢失 {value} {above} {threshold} — {what}",
    status: "状态 {value}（{at_least} {threshold}）— {what}",
    gone: "{what} 已不存在",
    cluster_unreachable: "集群 {cluster} 无法连接（{value}）",
    cluster_reachable: "集群 {cluster} 已恢复连接",
    broker_gone: "{what} 已离开集群",
    broker_back: "{what} 已恢复",
    under_replicated: "副本不足的分区 {value} {above} {threshold} — {what}",
    backlog: "积压 {value} {above} {threshold} — {what}",
    backlog_growing: "{what}：积压每秒增长 {value} 条消息",
    backlog_steady: "{what}：积压已停止增长",
    no_consumer: "{what}：{value} 条消息，没有消费者",
    consumed_again: "{what} 已恢复消费",
    buried: "埋藏的任务 {value} {above} {threshold} — {what}",
    node_alarm: "{what}：{value}",
    node_ok: "{what} 运行正常，无告警",
    offline_partitions: "离线分区 {value} {above} {threshold} — {what}",
    broker_metric: "{metric} {value} {relation} {threshold} — {what}",
    metric: "指标",

    failed_polls: "连续 {count} 次轮询失败",
    node_conditions: ["运行中", "内存告警", "磁盘告警", "内存和磁盘告警", "已宕机"],
    gone_value: "已不存在",

    one_message: "{count} 条消息",
    messages: "{count} 条消息",
    behind: "{messages}，落后 {seconds}",
    topic_lag: "{topic}（{status}，积压 {lag}）",
    topic_lag_behind: "{topic}（{status}，积压 {lag}，落后 {seconds}）",
    more_topics: "另有 {count} 个",
    no_members: "无（没有连接的消费者）",
    passes_in: "按当前速度，积压约 {eta} 后超过 {threshold}",
    lost_unread: "{count} 条消息未被消费即被保留策略删除",
    deleted_in: "按当前速度，约 {eta} 后未读消息将被保留策略删除",
    no_loss_eta: "按当前速度，保留策略尚未逼近未读消息",

    facts: FactLabels {
        rule: "规则",
        cluster: "集群",
        group: "消费组",
        topic: "主题",
        broker: "Broker",
        queue: "队列",
        node: "节点",
        value: "当前值",
        threshold: "阈值",
        lag: "积压",
        topics: "主题",
        members: "成员",
        forecast: "预测",
        retention: "保留风险",
        diagnosis: "诊断",
        since: "开始于",
        resolved: "恢复于",
        duration: "持续",
        incident: "事件",
        acknowledged: "已确认",
        open: "查看",
    },
    hints: HintWords {
        no_members: "消费组没有连接的消费者",
        members_joined: "{joined} 于 {ago} 前加入（回溯期内成员变化 {changes} 次）",
        members_left: "{left} 于 {ago} 前离开（回溯期内成员变化 {changes} 次）",
        members_joined_left: "{joined} 加入、{left} 离开，最近一次在 {ago} 前（回溯期内成员变化 {changes} 次）",
        hot_partition: "{topic} 的分区 {partition} 占积压的 {share} %（{lag}）：热点分区（属于 {owner}）",
        stuck_partition: "{topic} 的分区 {partition} 占积压的 {share} %（{lag}），其消费者 {owner} 已卡住",
        nobody: "无",
        outpaced: "生产 {produce} 条/秒，消费组只消费 {consume} 条/秒",
        rewound: "{topic} 分区 {partition} 的提交位点回退了（被重置）",
        under_replicated: "{topic} 有 {count} 个该消费组读取的分区副本不足",
        busy_broker: "Broker {broker} 是积压分区的 Leader，其请求处理线程空闲率仅 {idle} %",
        canary_failing: "端到端探针近期在该集群发送的 {sent} 条标记消息中丢失了 {lost} 条（Broker {brokers}）：消息可能无法送达",
    },
};

/// `template` with each `{name}` of `slots` replaced by its text, in one pass; a `{` that starts
/// no known slot is kept as it is.
pub fn fill(template: &str, slots: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let slot = after.find('}').and_then(|close| {
            let name = &after[..close];
            slots.iter().find(|(key, _)| *key == name).map(|(_, text)| (close, *text))
        });
        match slot {
            Some((close, text)) => {
                out.push_str(text);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
