//! The message catalog: every user-visible string in English and Simplified Chinese, and the
//! choice of language (cookie from the header switch, then `Accept-Language`).

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;

/// Name of the cookie set by the language switch.
pub const LANG_COOKIE: &str = "osprey_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn from_code(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "zh" | "zh-cn" | "zh-hans" => Some(Lang::Zh),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// BCP 47 tag for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }

    /// The words alert summaries and facts are told in on pages in this language.
    pub fn alert_words(self) -> &'static crate::alerting::message::Words {
        match self {
            Lang::En => &crate::alerting::message::EN,
            Lang::Zh => &crate::alerting::message::ZH,
        }
    }

    /// The cookie wins; otherwise the first `Accept-Language` entry we speak, by q-value.
    pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::from_code) {
            return lang;
        }
        let mut best: Option<(f32, Lang)> = None;
        for entry in accept_language.unwrap_or_default().split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("zh") => Lang::Zh,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }
}

fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let cookie = header(COOKIE).and_then(|c| cookie_value(c, LANG_COOKIE));
        Ok(Lang::negotiate(cookie, header(ACCEPT_LANGUAGE)))
    }
}

/// Declares the catalog once, so every key has both languages by construction.
macro_rules! catalog {
    ($($key:ident: $en:literal, $zh:literal;)*) => {
        /// Every user-visible string of the UI in one language. Strings with `{name}`
        /// placeholders are filled by [`Messages::fill`].
        #[derive(Debug)]
        pub struct Messages { $(pub $key: &'static str,)* }
        pub static EN: Messages = Messages { $($key: $en,)* };
        pub static ZH: Messages = Messages { $($key: $zh,)* };
    };
}

catalog! {
    other_language: "中文", "English";
    other_language_code: "zh", "en";
    nav_overview: "Overview", "概览";
    nav_cluster: "Cluster", "集群";
    nav_topics: "Topics", "主题";
    overview_title: "Clusters", "集群";
    no_clusters: "No clusters are configured. Add a [[clusters]] section to the configuration file and restart Osprey.", "尚未配置任何集群。请在配置文件中添加 [[clusters]] 段并重启 Osprey。";
    col_cluster: "Cluster", "集群";
    col_kind: "Kind", "类型";
    col_status: "Status", "状态";
    col_brokers: "Brokers", "Broker 数";
    col_topics: "Topics", "主题数";
    col_partitions: "Partitions", "分区数";
    col_brokers_nodes: "Brokers / nodes", "Broker/节点数";
    col_topics_queues: "Topics / queues", "主题/队列数";
    col_under_replicated: "Under-replicated", "副本不足";
    col_offline: "Offline", "离线";
    col_messages_in: "Messages in", "写入速率";
    col_last_poll: "Last poll", "最近轮询";
    status_up: "Up", "正常";
    status_down: "Unreachable", "不可达";
    status_pending: "Waiting for the first poll", "等待首次轮询";
    history_not_written: "Poll history has not reached the database since {since}: {held} polls are held in memory and are written once it takes them again.", "自 {since} 起轮询历史无法写入数据库：{held} 次轮询暂存在内存中，数据库恢复后补写。";
    history_out_of_space: "The database is out of space.", "数据库空间已满。";
    history_no_answer: "The database does not answer.", "数据库无响应。";
    unreachable_title: "Osprey cannot reach this cluster", "Osprey 无法连接该集群";
    last_reached: "Last reached", "最近一次成功连接";
    never: "never", "从未";
    showing_data_from: "The figures below are from the last good poll, {when}.", "以下数据来自最近一次成功轮询（{when}）。";
    no_data_yet: "No data yet: the first poll of this cluster has not finished.", "暂无数据：该集群的首次轮询尚未完成。";
    summary: "Summary", "摘要";
    cluster_id: "Cluster ID", "集群 ID";
    controller: "Controller", "控制器";
    metadata_mode: "Metadata", "元数据";
    mode_kraft: "KRaft (metadata quorum)", "KRaft（元数据仲裁）";
    mode_zookeeper: "ZooKeeper", "ZooKeeper";
    kafka_version: "Kafka version", "Kafka 版本";
    quorum_title: "Metadata quorum", "元数据仲裁";
    role_active_controller: "active controller", "活跃控制器";
    role_voter: "voter", "投票者";
    role_observer: "observer", "观察者";
    col_metadata_end: "Log end", "日志末端";
    col_last_fetch: "Last fetch", "最近拉取";
    quorum_high_watermark: "High watermark", "高水位";
    bootstrap_servers: "Bootstrap servers", "引导地址";
    poll_took: "Last poll took", "最近轮询耗时";
    poll_every: "Polled every", "轮询间隔";
    brokers_title: "Brokers", "Broker 节点";
    col_id: "ID", "ID";
    col_host: "Host", "主机";
    col_port: "Port", "端口";
    col_rack: "Rack", "机架";
    col_leaders: "Leader partitions", "Leader 分区数";
    col_availability: "Availability", "可用率";
    broker_missing: "missing", "缺失";
    broker_listed: "listed", "在线";
    controller_badge: "controller", "控制器";
    chart_messages_in: "Messages in per second", "每秒写入消息数";
    no_history: "No history in this range yet.", "该时间范围内暂无历史数据。";
    noscript_chart: "The chart needs JavaScript; the figures above are the latest values.", "图表需要 JavaScript；上方数字为最新值。";
    range_1h: "1 hour", "1 小时";
    range_24h: "24 hours", "24 小时";
    range_7d: "7 days", "7 天";
    search_placeholder: "Search topics", "搜索主题";
    search: "Search", "搜索";
    hide_internal: "Hide internal topics", "隐藏内部主题";
    sort_by: "Sort by", "排序";
    ascending: "ascending", "升序";
    descending: "descending", "降序";
    col_name: "Name", "名称";
    col_replication: "Replication", "副本数";
    col_messages: "Messages", "消息数";
    col_log_end: "Log end offsets", "日志末端位移和";
    internal_badge: "internal", "内部";
    showing_topics: "Topics {from}–{to} of {matched} (cluster total {total})", "第 {from}–{to} 个，共 {matched} 个匹配（集群共 {total} 个）";
    no_topics_match: "No topic matches.", "没有匹配的主题。";
    previous: "Previous", "上一页";
    next: "Next", "下一页";
    page_of: "Page {page} of {pages}", "第 {page} / {pages} 页";
    partitions_title: "Partitions", "分区";
    col_partition: "Partition", "分区";
    col_leader: "Leader", "Leader";
    col_replicas: "Replicas", "副本";
    col_isr: "ISR", "ISR";
    col_earliest: "Earliest offset", "最早位移";
    col_latest: "Latest offset", "最新位移";
    col_flags: "Flags", "标记";
    flag_under_replicated: "under-replicated", "副本不足";
    flag_offline: "offline", "离线";
    flag_not_preferred: "not on preferred leader", "非首选 Leader";
    no_leader: "none", "无";
    configs_title: "Configuration", "配置";
    configs_unavailable: "The brokers did not return this topic's configuration.", "Broker 未返回该主题的配置。";
    col_value: "Value", "值";
    col_source: "Source", "来源";
    source_default: "default", "默认";
    source_set: "set", "已设置";
    source_topic: "set on the topic", "主题上设置";
    source_broker: "broker (dynamic)", "Broker（动态）";
    source_cluster_default: "cluster default (dynamic)", "集群默认（动态）";
    source_broker_file: "broker config file", "Broker 配置文件";
    sensitive: "(sensitive)", "（敏感）";
    config_unlimited: "unlimited", "无限制";
    config_forever: "forever", "永久";
    not_found: "Not found", "未找到";
    unavailable: "Not available yet", "暂不可用";
    error_title: "Something went wrong", "出错了";
    internal_error: "Osprey could not answer this request. The details are in its log.", "Osprey 无法处理该请求，详情请查看日志。";
    back_to_overview: "Back to the overview", "返回概览";
    err_unknown_cluster: "No cluster named “{cluster}” is configured.", "未配置名为“{cluster}”的集群。";
    err_unknown_topic: "Cluster “{cluster}” has no topic named “{topic}”.", "集群“{cluster}”中没有名为“{topic}”的主题。";
    err_unknown_group: "Cluster “{cluster}” has no consumer group named “{group}”.", "集群“{cluster}”中没有名为“{group}”的消费组。";
    err_not_polled: "Cluster “{cluster}” has not been reached yet; its data appears after the first good poll.", "尚未连接到集群“{cluster}”；首次成功轮询后将显示其数据。";
    err_bad_request: "The request could not be read — {detail}", "无法读取请求 — {detail}";
    log_in_needed: "Log in first", "请先登录";
    broker_failed: "The broker failed", "Broker 出错";
    err_no_route: "There is no page at {path}.", "不存在页面 {path}。";
    just_now: "just now", "刚刚";
    seconds_ago: "{n} s ago", "{n} 秒前";
    minutes_ago: "{n} min ago", "{n} 分钟前";
    hours_ago: "{n} h ago", "{n} 小时前";
    days_ago: "{n} d ago", "{n} 天前";
    rate_unit: "msg/s", "条/秒";
    nav_groups: "Consumers", "消费组";
    groups_title: "Consumer groups", "消费组";
    search_groups: "Search groups", "搜索消费组";
    any_status: "Any status", "全部状态";
    showing_groups: "{matched} of {total} groups", "共 {total} 个消费组，匹配 {matched} 个";
    no_groups: "No consumer group matches.", "没有匹配的消费组。";
    groups_unavailable: "Consumer groups could not be read at the last poll:", "最近一次轮询未能读取消费组：";
    col_group: "Group", "消费组";
    col_state: "State", "状态";
    col_health: "Health", "健康";
    col_members: "Members", "成员数";
    col_lag: "Lag", "积压";
    col_max_lag: "Max partition lag", "最大分区积压";
    col_lag_seconds: "Lag (time)", "积压时长";
    col_consume_rate: "Consumed", "消费速率";
    col_drain: "Time to drain", "预计清空";
    col_coordinator: "Coordinator", "协调者";
    col_protocol: "Assignor", "分配策略";
    kip848_hint: "The group uses Kafka's new consumer rebalance protocol (group.protocol=consumer): the broker assigns the partitions", "该组使用 Kafka 新的消费者再均衡协议（group.protocol=consumer）：由 Broker 分配分区";
    col_committed: "Committed offset", "已提交位移";
    col_end: "Log end", "日志末端";
    col_owner: "Consumer", "消费者";
    col_client_id: "Client ID", "客户端 ID";
    col_assignment: "Assigned partitions", "分配的分区";
    members_title: "Members", "成员";
    no_members: "No active members: nobody consumes for this group right now.", "没有活跃成员：当前没有消费者在为该消费组消费。";
    lag_title: "Lag per partition", "分区积压";
    chart_lag: "Lag (messages)", "积压（条）";
    chart_rates: "Consumed vs produced", "消费与生产速率";
    consume_rate: "consumed msg/s", "消费 条/秒";
    produce_rate: "produced msg/s", "生产 条/秒";
    consumers_title: "Consuming groups", "消费该主题的消费组";
    no_consumers: "No consumer group has committed offsets on this topic.", "没有消费组在该主题上提交过位移。";
    never_drains: "not draining", "未在减少";
    live_note: "Refreshes every 5 s.", "每 5 秒自动刷新。";
    publish_title: "Publish a message", "发布消息";
    no_queue_consumers: "Nobody consumes this queue.", "没有消费者在消费该队列。";
    consumer_tag: "Consumer tag", "消费者标签";
    bindings: "Bindings", "绑定";
    exchanges_title: "Exchanges", "Exchanges";
    col_publish_in: "In/s", "流入/秒";
    col_publish_out: "Out/s", "流出/秒";
    flags: "Flags", "标记";
    peek_title: "Peek at messages", "查看消息";
    peek: "Peek", "查看";
    peek_warning: "Peeking takes the messages from the queue and puts them back: they return to the head of the queue marked redelivered, and their consumers see that flag.", "查看会从队列取出消息再放回：它们回到队首并被标记为 redelivered，消费者会看到该标记。";
    published_routed: "Published: a queue took the message.", "已发布：消息已被队列接收。";
    published_unroutable: "Published, but no queue took it: nothing is bound to that exchange and routing key.", "已发布，但没有队列接收：该 exchange 与 routing key 没有绑定。";
    field_exchange: "Exchange", "Exchange";
    default_exchange: "(default exchange: routing key = queue)", "（默认 exchange：routing key 即队列名）";
    field_routing_key: "Routing key", "Routing key";
    persistent: "persistent (delivery_mode 2)", "持久化（delivery_mode 2）";
    properties: "Properties", "属性";
    redelivered: "Redelivered", "重投";
    yes: "yes", "是";
    no: "no", "否";
    col_nodes: "Nodes", "节点";
    col_node: "Node", "节点";
    col_queues: "Queues", "队列";
    col_queue: "Queue", "队列";
    err_unknown_queue: "Cluster “{cluster}” has no queue “{queue}”.", "集群“{cluster}”中没有队列“{queue}”。";
    err_unknown_broker: "Cluster “{cluster}” has no broker {broker}.", "集群“{cluster}”中没有 Broker {broker}。";
    chart_backlog: "Backlog (messages)", "积压（条）";
    chart_queue_rates: "Published vs delivered", "发布与投递速率";
    hint_queue: "Queue and tube rules only; vhost is the RabbitMQ vhost or the beanstalkd server (host:port); empty means all of them.", "仅用于队列和管道规则；vhost 为 RabbitMQ 的 vhost 或 beanstalkd 服务器（host:port）；留空表示全部。";
    col_backlog: "Backlog", "积压";
    col_ready: "Ready", "待投递";
    col_unacked: "Unacked", "未确认";
    col_consumers: "Consumers", "消费者";
    col_no_consumers: "Queues with messages and no consumer", "有消息但无消费者的队列";
    col_publish_rate: "Publish/s", "发布/秒";
    col_deliver_rate: "Deliver/s", "投递/秒";
    col_connections: "Connections", "连接";
    col_channels: "channels", "通道";
    col_memory: "Memory (used / limit)", "内存（已用 / 上限）";
    col_disk_free: "Disk free", "磁盘剩余";
    col_fds: "File descriptors", "文件描述符";
    col_uptime: "Uptime", "运行时长";
    node_down: "down", "宕机";
    node_alarm: "alarm", "告警";
    limit: "limit", "下限";
    version: "Version", "版本";
    search_queues: "Search queues", "搜索队列";
    all_vhosts: "every vhost", "所有 vhost";
    no_queues: "No queue matches.", "没有匹配的队列。";
    manage_topic: "Change this topic", "修改该主题";
    create_topic: "Create a topic", "创建主题";
    topic_created: "Topic “{topic}” was created; it shows here after the next poll.", "主题“{topic}”已创建，下次轮询后显示。";
    add_partitions: "Add partitions", "增加分区";
    hint_partitions: "The new total; partitions can only be added.", "新的分区总数；分区只能增加。";
    partitions_added: "Topic “{topic}” now has {total} partitions.", "主题“{topic}”现在有 {total} 个分区。";
    edit_configs: "Set configs", "设置配置";
    hint_configs: "key=value per line; other explicitly set configs stay as they are.", "每行一个 key=value；其他已显式设置的配置保持不变。";
    remove_configs: "Back to the default (comma-separated keys)", "恢复默认（逗号分隔的配置名）";
    configs_changed: "The configs of “{topic}” were changed.", "主题“{topic}”的配置已修改。";
    delete_topic: "Delete this topic", "删除该主题";
    hint_confirm: "Type the name to confirm.", "输入名称以确认。";
    topic_deleted: "Topic “{topic}” was deleted.", "主题“{topic}”已删除。";
    reset_offsets: "Reset offsets", "重置位移";
    reset_lead: "Only for a group without active members. The change is shown first; nothing moves until you apply it.", "仅适用于没有活跃成员的消费组。会先显示变更，确认应用后才生效。";
    all_topics: "every topic of the group", "该组的所有主题";
    reset_to: "To", "重置到";
    reset_latest: "latest (skip the backlog)", "最新（跳过积压）";
    reset_explicit: "explicit offsets", "指定位移";
    reset_time: "Time (UTC), for “time”", "时间（UTC），用于“时间”";
    reset_offsets_list: "topic,partition,offset per line, for explicit offsets", "每行 topic,partition,offset，用于指定位移";
    preview: "Preview", "预览";
    reset_preview: "Preview: nothing has moved yet. Apply to commit exactly these offsets.", "预览：尚未改变任何位移。应用后将按此提交。";
    reset_applied: "Group “{group}” now has the offsets below ({count} partitions).", "消费组“{group}”已提交以下位移（{count} 个分区）。";
    apply_reset: "Apply these offsets", "应用这些位移";
    col_topic: "Topic", "主题";
    col_new_offset: "New offset", "新位移";
    delete_group: "Delete this group", "删除该消费组";
    group_deleted: "Group “{group}” was deleted.", "消费组“{group}”已删除。";
    back: "Back", "返回";
    send_title: "Send messages", "发送消息";
    col_headers: "Headers", "请求头";
    browse_title: "Browse messages", "浏览消息";
    query_title: "Find messages", "消息查询";
    query_lead: "By store time (newest first, up to 2,000), by key, or by message id (the producer's or the broker's).", "按存储时间（最新在前，最多 2,000 条）、按 Key 或按消息 ID（生产者或 Broker 的）查询。";
    query_begin: "From (UTC)", "起始（UTC）";
    query_end: "To (UTC)", "截止（UTC）";
    query_now: "now", "现在";
    query_id: "Message ID", "消息 ID";
    query_find: "Find", "查询";
    query_found: "messages found", "条消息";
    query_spanned: "in the window's offsets", "条在时间窗口的位移范围内";
    query_capped: "the newest 2,000 are shown: narrow the window to see older ones", "仅显示最新 2,000 条：缩小时间窗口可查看更早的消息";
    col_tag: "Tag", "Tag";
    col_stored_at: "Stored", "存储时间";
    col_born_at: "Produced", "生产时间";
    col_size: "Bytes", "字节";
    col_reconsume: "Redeliveries", "重试次数";
    col_properties: "Properties", "属性";
    col_clients: "Online clients", "在线客户端";
    compressed: "stored compressed", "压缩存储";
    offset_id: "Broker message ID", "Broker 消息 ID";
    message_title: "Message", "消息";
    consumed_by: "Consumption by group", "各消费组消费情况";
    consumed: "consumed", "已消费";
    consumed_but_filtered: "consumed (filtered out by tag)", "已消费（被 Tag 过滤）";
    not_consumed_yet: "not consumed yet", "尚未消费";
    no_offset: "no offset on this queue", "该队列无位移";
    no_groups_on_topic: "No group consumes this topic.", "没有消费组消费该主题。";
    resend_direct: "Consume again", "重新消费";
    resend_answer: "The client answered", "客户端返回";
    trace_title: "Trace", "消息轨迹";
    trace_step: "Step", "环节";
    trace_cost: "Took", "耗时";
    trace_success: "Succeeded", "成功";
    no_trace_topic: "The brokers keep no traces: start them with traceTopicEnable=true and enable tracing in the clients.", "Broker 未保存消息轨迹：请以 traceTopicEnable=true 启动 Broker，并在客户端开启轨迹。";
    no_trace: "No trace was recorded for this message (its producer and consumers did not enable tracing, or the trace is still on its way).", "该消息没有轨迹（生产者和消费者未开启轨迹，或轨迹尚未写入）。";
    dlq_title: "Dead letters", "死信消息";
    dlq_lead: "Messages the group gave up on after its retries. Sending them back puts them in the group's retry topic, where its consumers take them up again.", "消费组重试耗尽后放弃的消息。重新投递会把消息放入该组的重试主题，由其消费者重新消费。";
    dlq_export: "Export (JSON lines)", "导出（JSON Lines）";
    dlq_resend: "Send the chosen back to the group", "将所选消息重新投递给该组";
    dlq_resent: "sent back to the group", "条已重新投递";
    rocket_topic_title: "Topic queues and permission", "主题队列与权限";
    rocket_topic_saved: "Topic “{topic}” was saved on {brokers}.", "主题“{topic}”已在 {brokers} 上保存。";
    rocket_group_title: "Subscription group", "订阅组";
    rocket_group_saved: "Group “{group}” was saved on every master.", "消费组“{group}”已在所有主节点上保存。";
    reset_title: "Reset offsets to a time", "按时间重置位移";
    reset_previewed: "Preview: nothing has moved yet.", "预览：尚未改变任何位移。";
    reset_done: "The group's offsets were reset.", "消费组位移已重置。";
    producers_title: "Producer connections", "生产者连接";
    producers_found: "{count} online producers in group “{group}”.", "生产者组“{group}”有 {count} 个在线生产者。";
    producer_group: "Producer group", "生产者组";
    show_producers: "Show producers", "查看生产者";
    read_queues: "Read queues", "读队列数";
    write_queues: "Write queues", "写队列数";
    perm: "Permission", "权限";
    perm_hint: "6 read and write, 4 read only, 2 write only", "6 读写，4 只读，2 只写";
    on_brokers: "On brokers (empty: every master)", "所在 Broker（留空：所有主节点）";
    consume_enable: "Consumption enabled", "允许消费";
    broadcast_enable: "Broadcasting allowed", "允许广播消费";
    retry_max_times: "Retries before the dead-letter queue", "进入死信前的重试次数";
    retry_queue_nums: "Retry queues", "重试队列数";
    browse_lead: "Reads with its own assignment: it never joins a consumer group or commits offsets.", "以独立分配方式读取：不加入任何消费组，也不提交位移。";
    sent_count: "Delivered:", "已送达：";
    col_offset: "Offset", "位移";
    partition_auto: "automatic (by key)", "自动（按 key）";
    queue_round_robin: "any writable queue (round-robin)", "任一可写队列（轮询）";
    field_tag: "Tag", "Tag";
    field_keys: "Keys (space-separated)", "Keys（空格分隔）";
    field_properties: "Properties (one \"Name: value\" per line)", "属性（每行一个 \"Name: value\"）";
    col_message_id: "Message id", "消息 ID";
    nav_metrics: "Metrics", "指标";
    field_metric: "Metric", "指标";
    hint_metric: "broker_metric rules: the broker metric compared with the threshold.", "broker_metric 规则：与阈值比较的 Broker 指标。";
    field_below: "Fire when below the threshold (e.g. idle percentages)", "低于阈值时告警（例如空闲率）";
    broker_title: "Broker", "Broker";
    metrics_lead: "Messages in/s come from offsets with no broker set-up; bytes, requests, idle percentages, request times and heap need a JMX exporter (metrics_urls) or Jolokia (jolokia_urls) per broker.", "每秒消息数由位点推算，无需 Broker 配置；字节、请求、空闲率、请求耗时和堆内存需为每个 Broker 配置 JMX exporter（metrics_urls）或 Jolokia（jolokia_urls）。";
    no_metrics: "No metrics yet: they appear after the second good poll.", "暂无指标：第二次成功轮询后出现。";
    metric_sources: "Sources", "来源";
    top_topics: "Busiest topics", "最繁忙的主题";
    col_error: "Error", "错误";
    chart_bytes: "Bytes in / out", "字节流入 / 流出";
    chart_messages: "Messages in / out", "消息流入 / 流出";
    chart_requests: "Requests", "请求";
    chart_idle: "Idle", "空闲率";
    chart_request_time: "Request time (p99)", "请求耗时（p99）";
    chart_heap: "Heap", "堆内存";
    metric_bytes_in: "Bytes in", "字节流入";
    metric_bytes_out: "Bytes out", "字节流出";
    metric_messages_in: "Messages in", "消息流入";
    metric_messages_out: "Messages out", "消息流出";
    metric_bytes_rejected: "Bytes rejected", "拒绝字节";
    metric_produce_requests: "Produce requests", "生产请求";
    metric_failed_produce: "Failed produce requests", "失败的生产请求";
    metric_fetch_requests: "Fetch requests", "拉取请求";
    metric_failed_fetch: "Failed fetch requests", "失败的拉取请求";
    metric_active_controllers: "Active controllers", "活动控制器";
    metric_handler_idle: "Request handler idle", "请求处理线程空闲率";
    metric_network_idle: "Network processor idle", "网络线程空闲率";
    metric_produce_time: "Produce time (p99)", "生产耗时（p99）";
    metric_fetch_time: "Fetch time (p99)", "拉取耗时（p99）";
    metric_heap_used: "Heap used", "已用堆内存";
    metric_heap_max: "Heap max", "最大堆内存";
    metric_gc: "GC runs", "GC 次数";
    metric_gc_time: "GC time", "GC 耗时";
    metric_log_size: "Log size", "日志大小";
    topic_class: "Class", "类型";
    all_classes: "all", "全部";
    class_normal: "normal", "普通";
    class_retry: "retry", "重试";
    class_dead_letter: "dead letter", "死信";
    class_system: "system", "系统";
    route_title: "Route", "路由";
    route_from_poll: "The name server did not answer; this is the route of the last poll:", "NameServer 未应答；以下为上次轮询的路由：";
    col_read_queues: "Read queues", "读队列数";
    col_write_queues: "Write queues", "写队列数";
    col_perm: "Permission", "权限";
    col_min_offset: "Min offset", "最小位点";
    col_max_offset: "Max offset", "最大位点";
    col_last_update: "Last stored", "最后存储时间";
    col_broker_name: "Broker", "Broker 名称";
    col_role: "Role", "角色";
    col_address: "Address", "地址";
    col_put_tps: "Produce TPS", "生产 TPS";
    col_get_tps: "Consume TPS", "消费 TPS";
    col_today_in_out: "Today in / out", "今日生产 / 消费";
    col_yesterday_in_out: "Yesterday in / out", "昨日生产 / 消费";
    col_disk_ratio: "Commit log disk", "CommitLog 磁盘占用";
    role_master: "master", "主";
    role_slave: "slave", "从";
    message_model: "Message model", "消费模式";
    consume_tps: "Consume TPS", "消费 TPS";
    subscriptions: "Subscriptions", "订阅";
    col_client_version: "Language / version", "语言 / 版本";
    client_through_proxy: "gRPC, through proxy", "gRPC，经由代理";
    col_last_consumed: "Last consumed (stored at)", "最后消费消息的存储时间";
    broadcast_note: "A broadcasting group: each client reads every queue and keeps its own offsets, so the brokers know no lag for it.", "广播消费组：每个客户端读取全部队列并自行保存位点，Broker 不掌握其堆积。";
    rocket_assignment_note: "Queues are shown as the clients' default allocation (AllocateMessageQueueAveragely) assigns them.", "队列归属按客户端默认分配策略（AllocateMessageQueueAveragely）推算。";
    field_key: "Key", "Key";
    field_value: "Value", "内容";
    field_value_format: "Value is", "内容格式";
    hint_counter: "{{i}} in key, value or headers becomes 1, 2, 3 … for each copy.", "key、内容或请求头中的 {{i}} 会依次替换为 1、2、3 …";
    field_copies: "Copies", "份数";
    send: "Send", "发送";
    all_partitions: "all", "全部";
    field_from_where: "Start", "起点";
    from_latest: "last N", "最后 N 条";
    from_earliest: "earliest", "最早";
    from_offset: "offset", "指定位移";
    from_timestamp: "time (UTC)", "时间（UTC）";
    field_limit: "Limit", "上限";
    filter_text: "key, value or header contains", "key、内容或请求头包含";
    field_show: "Show as", "显示为";
    read: "Read", "读取";
    scanned: "messages read", "条已读取";
    no_messages: "No message matches.", "没有匹配的消息。";
    login_title: "Log in", "登录";
    login: "Log in", "登录";
    logout: "Log out", "退出";
    login_failed: "Wrong username or password.", "用户名或密码错误。";
    login_throttled: "Too many failed logins. Try again in {secs} s.", "登录失败次数过多，请 {secs} 秒后再试。";
    setup_pending: "No user exists yet: open the one-time setup link from Osprey's log to create the first admin.", "尚无任何用户：请打开 Osprey 日志中的一次性设置链接，创建第一个管理员。";
    setup_title: "Create the first admin", "创建第一个管理员";
    setup_lead: "This link works once, until the first admin exists. Osprey has no default password.", "此链接只能使用一次，创建第一个管理员后失效。Osprey 没有默认密码。";
    field_password_again: "Password again", "再次输入密码";
    passwords_differ: "The two passwords differ.", "两次输入的密码不一致。";
    setup_link_used: "This setup link was used or is not valid: the first admin exists already. Log in instead.", "此设置链接已被使用或无效：第一个管理员已存在。请直接登录。";
    create_admin: "Create admin", "创建管理员";
    users_title: "Users", "用户";
    tokens_title: "API tokens", "API 令牌";
    audit_title: "Audit log", "审计日志";
    saved: "Saved:", "已保存：";
    field_role: "Role", "角色";
    change_user: "Change role or password", "修改角色或密码";
    new_password: "new password (optional)", "新密码（可选）";
    new_user: "New user", "新建用户";
    create: "Create", "创建";
    token_once: "Copy the token now; it is not shown again:", "请立即复制令牌，之后不会再显示：";
    tokens_lead: "API clients send a token as “Authorization: Bearer <token>”; it has its user's role.", "API 客户端以“Authorization: Bearer <令牌>”发送令牌，权限与其所属用户的角色相同。";
    no_tokens: "No API tokens.", "没有 API 令牌。";
    col_created: "Created", "创建时间";
    col_last_used: "Last used", "最近使用";
    revoke: "Revoke", "吊销";
    new_token: "New token", "新建令牌";
    hint_token_user: "The token acts with this user's role.", "令牌以该用户的角色行事。";
    no_audit: "Nothing recorded yet.", "尚无记录。";
    col_when: "When", "时间";
    col_who: "Who", "操作者";
    col_action: "Action", "操作";
    col_object: "Object", "对象";
    col_detail: "Detail", "详情";
    nav_alerts: "Alerts", "告警";
    alerts_title: "Alerts", "告警";
    rules_title: "Rules", "告警规则";
    channels_title: "Channels", "通知渠道";
    silences_title: "Silences", "静默";
    firing_now: "Firing now", "正在告警";
    nothing_firing: "Nothing is firing.", "当前没有告警。";
    deliveries_waiting: "Notices waiting for delivery (retried with backoff):", "等待投递的通知（按退避重试）：";
    alert_history: "History", "历史";
    no_alert_history: "No alert has fired yet.", "尚未触发过告警。";
    col_severity: "Severity", "级别";
    col_alert: "Alert", "告警";
    col_rule: "Rule", "规则";
    col_since: "Since", "开始于";
    col_deliveries: "Deliveries", "投递";
    col_fired: "Fired", "触发时间";
    col_resolved: "Resolved", "恢复时间";
    col_channel: "Channel", "渠道";
    col_notice: "Notice", "通知";
    col_attempts: "Attempts", "尝试次数";
    col_result: "Result of each attempt", "每次尝试的结果";
    col_outcome: "Result", "结果";
    col_condition: "Condition", "条件";
    col_timing: "Hold / reminders", "持续 / 提醒";
    col_defined_in: "Defined in", "来源";
    col_updated: "Changed", "修改时间";
    col_target: "Sends to", "发送至";
    col_until: "Until", "截止";
    state_firing: "firing", "告警中";
    state_resolved: "resolved", "已恢复";
    alert_delivery_summary: "{sent} sent, {pending} pending, {failed} failed", "已发送 {sent}，待发送 {pending}，失败 {failed}";
    not_tried_yet: "not tried yet", "尚未尝试";
    retry_now: "Retry now", "立即重试";
    next_attempt: "next attempt", "下次尝试";
    open_subject: "Open the affected page", "打开相关页面";
    silence_this: "Silence this alert", "静默此告警";
    no_deliveries: "No notices were queued for this incident.", "该事件没有待投递的通知。";
    new_rule: "New rule", "新建规则";
    edit_rule: "Edit rule", "编辑规则";
    no_rules: "No alert rules yet. Add one here or in the [[alerts.rules]] section of the config file.", "还没有告警规则。可在此添加，或写入配置文件的 [[alerts.rules]] 段。";
    source_config: "config file", "配置文件";
    source_ui: "UI / API", "界面 / API";
    enabled: "enabled", "已启用";
    disabled: "disabled", "已停用";
    enable: "Enable", "启用";
    disable: "Disable", "停用";
    delete: "Delete", "删除";
    confirm_delete: "Delete it?", "确定删除？";
    save: "Save", "保存";
    cancel: "Cancel", "取消";
    field_name: "Name", "名称";
    field_kind: "Kind", "类型";
    field_cluster: "Clusters", "集群";
    field_group: "Consumer groups", "消费组";
    field_topic: "Topics", "主题";
    field_threshold: "Threshold", "阈值";
    field_status: "Status at or worse than", "状态不低于";
    field_for: "For (hold)", "持续时间";
    field_for_polls: "For polls in a row", "连续轮询次数";
    field_repeat: "Reminder every", "提醒间隔";
    hint_pattern: "A name or pattern: *, prod-*, a,b", "名称或模式：*、prod-*、a,b";
    hint_group: "Lag and status rules only; empty means every group.", "仅用于积压和状态规则；留空表示所有消费组。";
    hint_topic: "Optional: alert per (group, topic); for replication rules, which topics.", "可选：按（消费组, 主题）告警；副本类规则则选择主题。";
    hint_threshold: "Messages, seconds or partitions, depending on the kind; fires above it.", "按类型为消息数、秒数或分区数；超过即告警。";
    hint_status: "consumer_status rules only.", "仅用于 consumer_status 规则。";
    hint_for: "How long the condition must hold before it fires, e.g. 2m.", "条件需持续多久才告警，例如 2m。";
    hint_repeat: "Empty: no reminders. At least 1m.", "留空表示不提醒，至少 1m。";
    new_channel: "New channel", "新建渠道";
    edit_channel: "Edit channel", "编辑渠道";
    no_channels: "No channels yet.", "还没有通知渠道。";
    send_test: "Send test", "发送测试";
    test_sent: "A test message was accepted by", "测试消息已被接收：";
    test_failed: "The test message failed on", "测试消息发送失败：";
    email_settings: "E-mail (SMTP)", "邮件（SMTP）";
    webhook_settings: "Webhook", "Webhook";
    field_smtp_host: "SMTP host", "SMTP 主机";
    field_smtp_port: "SMTP port", "SMTP 端口";
    field_username: "Username", "用户名";
    field_tls_ca_file: "Trusted CA file", "受信任的 CA 文件";
    hint_tls_ca_file: "A PEM file for a relay whose certificate a private CA signed; named only in the config file.", "由私有 CA 签发证书的邮件中继所用的 PEM 文件；只能在配置文件中指定。";
    field_password: "Password", "密码";
    field_from: "From", "发件人";
    field_to: "To (comma-separated)", "收件人（逗号分隔）";
    field_format: "Format", "格式";
    field_headers: "Headers (one \"Name: value\" per line)", "请求头（每行一个 \"Name: value\"）";
    field_secret: "Signing secret", "签名密钥";
    field_timeout: "Timeout", "超时";
    hint_env: "Any value may read an environment variable as ${NAME}; it is read at each delivery and never stored.", "任何值都可写成 ${NAME} 以读取环境变量；每次投递时读取，不会写入数据库。";
    hint_unchanged: "unchanged", "保持不变";
    hint_secret: "HMAC-SHA256: X-Osprey-Signature for generic JSON; DingTalk and Feishu sign their own way.", "HMAC-SHA256：通用 JSON 使用 X-Osprey-Signature 头；钉钉和飞书按各自方式签名。";
    no_silences: "No silence is active.", "当前没有生效的静默。";
    new_silence: "New silence", "新建静默";
    field_subject: "Subject", "对象";
    hint_subject: "Empty: every subject of the rule. The incident page fills it in.", "留空表示该规则的所有对象；从事件页进入会自动填写。";
    field_duration: "For", "时长";
    field_note: "Note", "备注";
    every_subject: "every subject", "所有对象";
    silence: "Silence", "静默";
    end_silence: "End now", "立即结束";
    alert_done_saved: "Saved “{name}”.", "已保存“{name}”。";
    alert_done_deleted: "Deleted “{name}”.", "已删除“{name}”。";
    alert_done_enabled: "Rule “{name}” is enabled.", "规则“{name}”已启用。";
    alert_done_disabled: "Rule “{name}” is disabled; its alerts end without notice.", "规则“{name}”已停用，其告警将直接结束且不再通知。";
    alert_done_silenced: "Rule “{name}” is silenced.", "规则“{name}”已静默。";
    alert_done_unsilenced: "The silence has ended.", "静默已结束。";
    alert_done_retried: "The delivery will be tried again now.", "该投递将立即重试。";
    chart_time: "Time", "时间";
    alert_now: "now", "当前";
    show_system_topics: "show system topics", "显示系统主题";
    name_servers: "Name servers", "NameServer 地址";
    management_api: "Management API", "管理 API";
    metrics_lead_rocketmq: "Put and get rates come from each broker's runtime statistics (GET_BROKER_RUNTIME_INFO), with no set-up; heap and GC need a Prometheus endpoint (metrics_urls) or Jolokia (jolokia_urls) per broker.", "写入与读取速率来自各 Broker 的运行时统计（GET_BROKER_RUNTIME_INFO），无需配置；堆内存和 GC 需为每个 Broker 配置 Prometheus 端点（metrics_urls）或 Jolokia（jolokia_urls）。";
    metrics_lead_rabbitmq: "Memory and message rates come from the management API, with no set-up; the prometheus plugin (metrics_urls, per node name) adds heap and more.", "内存和消息速率来自管理 API，无需配置；prometheus 插件（metrics_urls，按节点名）可补充堆内存等指标。";
    servers: "Servers", "服务器";
    col_server: "Server", "服务器";
    all_servers: "every server", "所有服务器";
    col_tubes: "Tubes", "管道";
    col_tube: "Tube", "管道";
    search_tubes: "Search tubes", "搜索管道";
    col_reserved: "Reserved", "已预留";
    col_delayed: "Delayed", "延迟";
    col_buried: "Buried", "已埋藏";
    col_watchers: "Workers", "工作进程";
    col_tubes_unwatched: "Tubes with jobs and no worker", "有任务但无工作进程的管道";
    col_put_rate: "Put/s", "放入/秒";
    col_done_rate: "Done/s", "完成/秒";
    chart_tube_rates: "Put vs done", "放入与完成速率";
    put_title: "Put a job", "放入任务";
    jobs_title: "Peek at jobs", "查看任务";
    jobs_lead: "Peeking does not take the job: a worker still gets it.", "查看不会取走任务：工作进程仍会收到它。";
    field_priority: "Priority (0 = most urgent)", "优先级（0 最紧急）";
    field_delay_secs: "Delay (s)", "延迟（秒）";
    field_ttr_secs: "Time to run (s)", "执行时限（秒）";
    field_job_state: "State", "状态";
    job_state_ready: "ready", "就绪";
    job_state_delayed: "delayed", "延迟";
    job_state_buried: "buried", "已埋藏";
    job_put: "Job {id} is in tube “{tube}”.", "任务 {id} 已放入管道“{tube}”。";
    no_job: "No job in that state.", "该状态下没有任务。";
    col_job: "Job", "任务";
    kick_title: "Kick buried jobs", "唤醒埋藏的任务";
    kick_hint: "Moves buried jobs back to ready (with none buried, delayed ones).", "把埋藏的任务移回就绪（没有埋藏的任务时移动延迟的任务）。";
    kick: "Kick", "唤醒";
    kicked: "{count} jobs moved to ready.", "{count} 个任务已移回就绪。";
    purge_title: "Purge the tube", "清空管道";
    purge_hint: "Deletes every ready, delayed and buried job of the tube; reserved jobs stay with their workers. Type the tube's name to confirm.", "删除该管道中所有就绪、延迟和埋藏的任务；已预留的任务留给其工作进程。输入管道名称以确认。";
    purge: "Purge", "清空";
    purged: "{count} jobs deleted.", "已删除 {count} 个任务。";
    metrics_lead_beanstalkd: "beanstalkd reports no broker metrics beyond its statistics: jobs put and done per second come from each server's counters, with no set-up.", "beanstalkd 除统计信息外不提供 Broker 指标：每秒放入与完成的任务数来自各服务器的计数器，无需配置。";
    col_functions: "Functions", "函数";
    col_function: "Function", "函数";
    search_functions: "Search functions", "搜索函数";
    col_running: "Running", "运行中";
    col_functions_unworked: "Functions with jobs and no worker", "有任务但无工作进程的函数";
    submit_title: "Submit a background job", "提交后台任务";
    field_job_priority: "Priority", "优先级";
    priority_low: "low", "低";
    priority_normal: "normal", "普通";
    priority_high: "high", "高";
    job_submitted: "Job {handle} is queued for “{function}”.", "任务 {handle} 已进入“{function}”的队列。";
    metrics_lead_gearman: "Gearman reports no counters: Osprey shows queued and running jobs and workers per function from the administrative protocol, with no set-up.", "Gearman 不提供计数器：Osprey 通过管理协议显示每个函数排队与运行中的任务和工作进程，无需配置。";
    sev_info: "info", "提示";
    sev_warning: "warning", "警告";
    sev_critical: "critical", "严重";
}

impl Messages {
    /// Replaces each `{name}` in `template` with its value.
    pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
        let mut out = template.to_owned();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_beats_accept_language() {
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-CN,zh;q=0.9")), Lang::En);
        assert_eq!(Lang::negotiate(Some("bogus"), Some("zh-CN,zh;q=0.9")), Lang::Zh);
    }

    #[test]
    fn accept_language_by_q_value() {
        assert_eq!(Lang::negotiate(None, Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::negotiate(None, Some("fr;q=1, en;q=0.5, zh;q=0.4")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("de")), Lang::En);
        assert_eq!(Lang::negotiate(None, None), Lang::En);
    }

    #[test]
    fn cookies_are_found_among_others() {
        assert_eq!(cookie_value("a=1; osprey_lang=zh; b=2", LANG_COOKIE), Some("zh"));
        assert_eq!(cookie_value("osprey_language=zh", LANG_COOKIE), None);
    }

    #[test]
    fn the_result_of_an_action_is_not_labelled_as_delivery_attempts() {
        assert_eq!((EN.col_outcome, ZH.col_outcome), ("Result", "结果"));
        assert_ne!(EN.col_outcome, EN.col_result);
        assert_ne!(ZH.col_outcome, ZH.col_result);
    }

    #[test]
    fn placeholders_fill_in_both_languages() {
        for t in [&EN, &ZH] {
            let text = Messages::fill(t.page_of, &[("page", "2"), ("pages", "9")]);
            assert!(text.contains('2') && text.contains('9') && !text.contains('{'), "{text}");
        }
    }
}
