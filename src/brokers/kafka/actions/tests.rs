use super::*;

fn message(key: &str, value: &str, header: (&str, &str)) -> BrowsedMessage {
    BrowsedMessage {
        partition: 0,
        offset: 0,
        timestamp: None,
        key: Some(key.into()),
        value: Some(value.into()),
        headers: vec![(header.0.into(), Some(header.1.into()))],
    }
}

#[test]
fn filters_look_at_key_value_and_headers() {
    let m = message("order-17", "{\"total\": 12}", ("trace", "abc123"));
    assert!(matches(&m, "order-17"));
    assert!(matches(&m, "total"));
    assert!(matches(&m, "abc1"));
    assert!(matches(&m, "trace"));
    assert!(!matches(&m, "refund"));
}

fn at(partition: i32, offset: i64, timestamp: Option<Millis>) -> BrowsedMessage {
    BrowsedMessage { partition, offset, timestamp, ..message("k", "v", ("h", "v")) }
}

#[test]
fn the_last_n_of_six_full_partitions_share_the_limit_evenly() {
    let quotas = latest_quotas(20, 50, &[100; 6]);
    assert_eq!(quotas, [9, 9, 8, 8, 8, 8], "the remainder goes to the lower partitions");
    assert_eq!(quotas.iter().sum::<i64>(), 50);
}

#[test]
fn a_partition_holding_few_messages_leaves_its_share_to_the_others() {
    assert_eq!(latest_quotas(20, 50, &[2, 100, 100]), [2, 20, 20]);
    assert_eq!(latest_quotas(20, 10, &[2, 100, 100]), [2, 4, 4]);
    assert_eq!(latest_quotas(20, 11, &[100, 2, 100]), [5, 2, 4]);
}

#[test]
fn the_last_n_of_each_partition_are_read_whole_when_they_fit_the_limit() {
    assert_eq!(latest_quotas(5, 50, &[100; 3]), [5, 5, 5]);
    assert_eq!(latest_quotas(5, 50, &[0, 3, 100]), [0, 3, 5]);
}

#[test]
fn no_partitions_a_zero_limit_or_a_zero_n_read_nothing() {
    assert!(latest_quotas(20, 50, &[]).is_empty());
    assert_eq!(latest_quotas(20, 0, &[100; 3]), [0, 0, 0]);
    assert_eq!(latest_quotas(0, 50, &[100; 3]), [0, 0, 0]);
    assert_eq!(latest_quotas(-4, 50, &[100, -1]), [0, 0]);
}

#[test]
fn a_limit_smaller_than_the_partition_count_goes_to_the_lower_partitions() {
    assert_eq!(latest_quotas(20, 2, &[100; 4]), [1, 1, 0, 0]);
    assert_eq!(latest_quotas(i64::MAX, usize::MAX, &[7, 9]), [7, 9]);
}

#[test]
fn newest_keeps_the_newest_across_partitions_and_counts_the_rest() {
    let messages = vec![
        at(0, 0, Some(100)),
        at(0, 1, Some(400)),
        at(1, 0, Some(300)),
        at(1, 1, Some(600)),
        at(2, 0, None),
        at(2, 1, Some(500)),
    ];
    let (kept, left_out) = newest(messages, 3);
    let kept: Vec<(i32, i64)> = kept.iter().map(|m| (m.partition, m.offset)).collect();
    assert_eq!(kept, [(1, 1), (2, 1), (0, 1)], "newest first");
    assert_eq!(left_out, 3);
}

#[test]
fn newest_breaks_ties_by_the_lower_partition_then_the_higher_offset() {
    let messages = vec![at(1, 5, Some(7)), at(0, 3, Some(7)), at(0, 4, Some(7))];
    let (kept, left_out) = newest(messages, 2);
    let kept: Vec<(i32, i64)> = kept.iter().map(|m| (m.partition, m.offset)).collect();
    assert_eq!((kept, left_out), (vec![(0, 4), (0, 3)], 1));
}

#[test]
fn newest_leaves_out_nothing_within_the_limit() {
    let messages = vec![at(0, 1, Some(2)), at(0, 0, Some(1))];
    let (kept, left_out) = newest(messages.clone(), 2);
    assert_eq!((kept, left_out), (messages, 0));
    assert_eq!(newest(Vec::new(), 0), (Vec::new(), 0));
}

#[test]
fn notes_are_joined_in_order() {
    let mut stopped = None;
    add_note(&mut stopped, "stopped after 8 s".into());
    add_note(&mut stopped, "showing the newest 50; 12 older matching messages left out".into());
    assert_eq!(
        stopped.as_deref(),
        Some("stopped after 8 s; showing the newest 50; 12 older matching messages left out")
    );
}

#[test]
fn sizes_count_key_value_and_headers() {
    let m = OutgoingMessage {
        key: Some(vec![0; 10]),
        value: Some(vec![0; 1000]),
        headers: vec![("h".into(), vec![0; 5])],
        partition: None,
    };
    assert_eq!(m.size(), 10 + 1000 + (1 + 5 + 8) + 70);
}

#[test]
fn a_change_the_controller_did_not_confirm_in_time_says_it_may_still_land() {
    use rdkafka::types::RDKafkaErrorCode as Code;
    let late = admin_result("topic", vec![Err(("orders".into(), Code::OperationTimedOut))]);
    let Err(AdapterError::Protocol(message)) = late else { panic!("{late:?}") };
    assert!(message.contains("\"orders\"") && message.contains("may still complete"), "{message}");

    let refused = admin_result("topic", vec![Err(("orders".into(), Code::TopicAlreadyExists))]);
    let Err(AdapterError::Protocol(message)) = refused else { panic!("{refused:?}") };
    assert!(!message.contains("may still"), "{message}");
    assert!(admin_result("topic", vec![Ok("orders".into())]).is_ok());
}
