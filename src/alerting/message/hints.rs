//! A diagnosis hint ([`crate::evaluator::Hint`]) told in words, with its numbers: what a firing
//! notice, the incident page and the Group page say about why a group is behind.

use super::words::fill;
use super::{Words, group_digits, seconds_text};
use crate::evaluator::Hint;

/// `billing-2 (/10.0.0.8) left 3m ago (1 rebalance in the last 15m)`, …
pub fn hint_text(hint: &Hint, words: &Words) -> String {
    let h = &words.hints;
    match hint {
        Hint::NoMembers => h.no_members.to_owned(),
        Hint::MembersChanged { changes, joined, left, ago_seconds } => {
            let list = |names: &[String]| names.join(", ");
            let template = match (joined.is_empty(), left.is_empty()) {
                (true, _) => h.members_left,
                (false, true) => h.members_joined,
                (false, false) => h.members_joined_left,
            };
            let (joined, left) = (list(joined), list(left));
            let (changes, ago) = (changes.to_string(), seconds_text(*ago_seconds));
            let slots = [
                ("joined", joined.as_str()),
                ("left", left.as_str()),
                ("changes", changes.as_str()),
                ("ago", ago.as_str()),
            ];
            fill(template, &slots)
        }
        Hint::HotPartition { topic, partition, share_pct, lag, owner, stalled } => {
            let template = if *stalled { h.stuck_partition } else { h.hot_partition };
            let (partition, share) = (partition.to_string(), format!("{share_pct:.0}"));
            let lag = group_digits(*lag as f64);
            let owner = owner.as_deref().unwrap_or(h.nobody);
            let slots = [
                ("topic", topic.as_str()),
                ("partition", partition.as_str()),
                ("share", share.as_str()),
                ("lag", lag.as_str()),
                ("owner", owner),
            ];
            fill(template, &slots)
        }
        Hint::Outpaced { produce_per_sec, consume_per_sec } => {
            let rate = |v: f64| format!("{v:.1}");
            let (produce, consume) = (rate(*produce_per_sec), rate(*consume_per_sec));
            fill(h.outpaced, &[("produce", produce.as_str()), ("consume", consume.as_str())])
        }
        Hint::Rewound { topic, partition } => {
            let partition = partition.to_string();
            fill(h.rewound, &[("topic", topic.as_str()), ("partition", partition.as_str())])
        }
        Hint::UnderReplicated { topic, partitions } => {
            let count = partitions.to_string();
            fill(h.under_replicated, &[("topic", topic.as_str()), ("count", count.as_str())])
        }
        Hint::BusyBroker { broker, idle_pct } => {
            let (broker, idle) = (broker.to_string(), format!("{idle_pct:.0}"));
            fill(h.busy_broker, &[("broker", broker.as_str()), ("idle", idle.as_str())])
        }
        Hint::CanaryFailing { lost, sent, brokers } => {
            let (lost, sent) = (lost.to_string(), sent.to_string());
            let brokers: Vec<String> = brokers.iter().map(i32::to_string).collect();
            let brokers = brokers.join(", ");
            let slots =
                [("lost", lost.as_str()), ("sent", sent.as_str()), ("brokers", brokers.as_str())];
            fill(h.canary_failing, &slots)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::message::{EN, ZH};

    #[test]
    fn each_hint_reads_with_its_numbers_in_both_languages() {
        let hints = [
            Hint::NoMembers,
            Hint::MembersChanged {
                changes: 2,
                joined: vec![],
                left: vec!["billing-2 (/10.0.0.8)".into()],
                ago_seconds: 180.0,
            },
            Hint::HotPartition {
                topic: "orders".into(),
                partition: 3,
                share_pct: 92.4,
                lag: 12_000,
                owner: Some("billing-1 (/10.0.0.7)".into()),
                stalled: true,
            },
            Hint::Outpaced { produce_per_sec: 120.0, consume_per_sec: 12.0 },
            Hint::Rewound { topic: "orders".into(), partition: 1 },
            Hint::UnderReplicated { topic: "orders".into(), partitions: 2 },
            Hint::BusyBroker { broker: 2, idle_pct: 8.0 },
            Hint::CanaryFailing { lost: 3, sent: 18, brokers: vec![2] },
        ];
        let english: Vec<String> = hints.iter().map(|h| hint_text(h, &EN)).collect();
        assert_eq!(
            english[1],
            "billing-2 (/10.0.0.8) left 3m ago (2 membership changes in the lookback)"
        );
        assert_eq!(
            english[2],
            "partition 3 of orders holds 92 % of the lag (12,000) and its consumer billing-1 (/10.0.0.7) is stuck"
        );
        assert_eq!(english[3], "producers send 120.0 msg/s, the group reads 12.0 msg/s");
        assert_eq!(
            english[6],
            "broker 2 leads lagging partitions and its request handler is 8 % idle"
        );
        assert_eq!(
            english[7],
            "the end-to-end canary lost 3 of 18 markers on this cluster lately (brokers 2): messages may not get through"
        );
        for hint in &hints {
            let chinese = hint_text(hint, &ZH);
            assert!(!chinese.is_empty() && !chinese.contains('{'), "{chinese}");
        }
    }
}
