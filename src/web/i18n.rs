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
    col_under_replicated: "Under-replicated", "副本不足";
    col_offline: "Offline", "离线";
    col_messages_in: "Messages in", "写入速率";
    col_last_poll: "Last poll", "最近轮询";
    status_up: "Up", "正常";
    status_down: "Unreachable", "不可达";
    status_pending: "Waiting for the first poll", "等待首次轮询";
    unreachable_title: "Osprey cannot reach this cluster", "Osprey 无法连接该集群";
    last_reached: "Last reached", "最近一次成功连接";
    never: "never", "从未";
    showing_data_from: "The figures below are from the last good poll, {when}.", "以下数据来自最近一次成功轮询（{when}）。";
    no_data_yet: "No data yet: the first poll of this cluster has not finished.", "暂无数据：该集群的首次轮询尚未完成。";
    summary: "Summary", "摘要";
    cluster_id: "Cluster ID", "集群 ID";
    controller: "Controller", "控制器";
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
    sensitive: "(sensitive)", "（敏感）";
    not_found: "Not found", "未找到";
    unavailable: "Not available yet", "暂不可用";
    error_title: "Something went wrong", "出错了";
    internal_error: "Osprey could not answer this request. The details are in its log.", "Osprey 无法处理该请求，详情请查看日志。";
    back_to_overview: "Back to the overview", "返回概览";
    err_unknown_cluster: "No cluster named “{cluster}” is configured.", "未配置名为“{cluster}”的集群。";
    err_unknown_topic: "Cluster “{cluster}” has no topic named “{topic}”.", "集群“{cluster}”中没有名为“{topic}”的主题。";
    err_unknown_group: "Cluster “{cluster}” has no consumer group named “{group}”.", "集群“{cluster}”中没有名为“{group}”的消费组。";
    err_not_polled: "Cluster “{cluster}” has not been reached yet; its data appears after the first good poll.", "尚未连接到集群“{cluster}”；首次成功轮询后将显示其数据。";
    err_bad_request: "The address has an invalid parameter: {detail}", "地址中的参数无效：{detail}";
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
    fn placeholders_fill_in_both_languages() {
        for t in [&EN, &ZH] {
            let text = Messages::fill(t.page_of, &[("page", "2"), ("pages", "9")]);
            assert!(text.contains('2') && text.contains('9') && !text.contains('{'), "{text}");
        }
    }
}
