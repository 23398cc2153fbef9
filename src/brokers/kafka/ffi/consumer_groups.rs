//! DescribeConsumerGroups: the one description that covers groups on the KIP-848 protocol
//! (`group.protocol=consumer`, described by ConsumerGroupDescribe), which the classic
//! DescribeGroups of the group listing reports as `Dead` with no members.

use std::ffi::{CString, c_char};
use std::time::Duration;

use rdkafka::bindings as rd;

use super::{admin_answer, admin_request, owned_string};

/// A group as DescribeConsumerGroups reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedGroup {
    pub name: String,
    /// `consumer` (KIP-848), `classic` or `unknown`.
    pub group_type: String,
    pub state: String,
    pub assignor: String,
    pub coordinator: Option<i32>,
    pub error: Option<String>,
    pub members: Vec<DescribedMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribedMember {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    /// `(topic, partitions)` the member holds now.
    pub assignment: Vec<(String, Vec<i32>)>,
}

/// `(topic, partitions)` of a librdkafka partition list, topics and partitions in order.
///
/// # Safety
/// `list` must be null or a valid partition list for the duration of the call.
unsafe fn by_topic(list: *const rd::rd_kafka_topic_partition_list_t) -> Vec<(String, Vec<i32>)> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: guaranteed by the caller; `elems` holds `cnt` entries.
    let entries = unsafe {
        let count = usize::try_from((*list).cnt).unwrap_or(0);
        if count == 0 || (*list).elems.is_null() {
            return Vec::new();
        }
        std::slice::from_raw_parts((*list).elems, count)
    };
    let mut pairs: Vec<(String, i32)> = entries
        .iter()
        // SAFETY: each entry's topic is a NUL-terminated string owned by the list.
        .map(|e| (unsafe { owned_string(e.topic) }.unwrap_or_default(), e.partition))
        .collect();
    pairs.sort();
    let mut topics: Vec<(String, Vec<i32>)> = Vec::new();
    for (topic, partition) in pairs {
        match topics.last_mut() {
            Some((last, partitions)) if *last == topic => partitions.push(partition),
            _ => topics.push((topic, vec![partition])),
        }
    }
    topics
}

/// Describes `groups` in one DescribeConsumerGroups call (librdkafka sends each coordinator its
/// groups, ConsumerGroupDescribe for KIP-848 ones). Blocks for up to `timeout`.
///
/// # Safety
/// `rk` must be a live librdkafka handle for the whole call.
pub unsafe fn describe_consumer_groups(
    rk: *mut rd::rd_kafka_t,
    groups: &[String],
    timeout: Duration,
) -> Result<Vec<DescribedGroup>, String> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let names: Vec<CString> = groups
        .iter()
        .map(|g| CString::new(g.as_str()).map_err(|_| format!("group {g:?} contains a NUL byte")))
        .collect::<Result<_, _>>()?;
    let mut pointers: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    // SAFETY: `rk` is live (caller's contract); queue, options and the result event are owned by
    // guards; every string and list read from the event is copied before its guard drops; the
    // name pointers outlive the call that copies them.
    unsafe {
        let (queue, options) = admin_request(
            rk,
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
            timeout_ms,
        )?;
        rd::rd_kafka_DescribeConsumerGroups(
            rk,
            pointers.as_mut_ptr(),
            pointers.len(),
            options.ptr,
            queue.ptr,
        );
        let event = admin_answer(&queue, timeout_ms, "DescribeConsumerGroups")?;
        let result = rd::rd_kafka_event_DescribeConsumerGroups_result(event.ptr);
        if result.is_null() {
            return Err("DescribeConsumerGroups returned an event of another type".into());
        }
        let mut count = 0usize;
        let described = rd::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut count);
        let mut found = Vec::with_capacity(count);
        for i in 0..count {
            let group = *described.add(i);
            if group.is_null() {
                continue;
            }
            let error = rd::rd_kafka_ConsumerGroupDescription_error(group);
            let coordinator = rd::rd_kafka_ConsumerGroupDescription_coordinator(group);
            let members = (0..rd::rd_kafka_ConsumerGroupDescription_member_count(group))
                .map(|m| rd::rd_kafka_ConsumerGroupDescription_member(group, m))
                .filter(|m| !m.is_null())
                .map(|m| {
                    let assignment = rd::rd_kafka_MemberDescription_assignment(m);
                    DescribedMember {
                        member_id: owned_string(rd::rd_kafka_MemberDescription_consumer_id(m))
                            .unwrap_or_default(),
                        client_id: owned_string(rd::rd_kafka_MemberDescription_client_id(m))
                            .unwrap_or_default(),
                        host: owned_string(rd::rd_kafka_MemberDescription_host(m))
                            .unwrap_or_default(),
                        assignment: if assignment.is_null() {
                            Vec::new()
                        } else {
                            by_topic(rd::rd_kafka_MemberAssignment_partitions(assignment))
                        },
                    }
                })
                .collect();
            found.push(DescribedGroup {
                name: owned_string(rd::rd_kafka_ConsumerGroupDescription_group_id(group))
                    .unwrap_or_default(),
                group_type: owned_string(rd::rd_kafka_consumer_group_type_name(
                    rd::rd_kafka_ConsumerGroupDescription_type(group),
                ))
                .unwrap_or_default()
                .to_ascii_lowercase(),
                state: owned_string(rd::rd_kafka_consumer_group_state_name(
                    rd::rd_kafka_ConsumerGroupDescription_state(group),
                ))
                .unwrap_or_default(),
                assignor: owned_string(rd::rd_kafka_ConsumerGroupDescription_partition_assignor(
                    group,
                ))
                .unwrap_or_default(),
                coordinator: (!coordinator.is_null())
                    .then(|| rd::rd_kafka_Node_id(coordinator))
                    .filter(|id| *id >= 0),
                error: (!error.is_null())
                    .then(|| owned_string(rd::rd_kafka_error_string(error)).unwrap_or_default()),
                members,
            });
        }
        Ok(found)
    }
}
