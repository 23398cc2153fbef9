//! The librdkafka calls the rdkafka crate does not wrap (DescribeCluster, the group listing with
//! coordinators, ListConsumerGroupOffsets, DescribeConsumerGroups). All unsafe code of the Kafka
//! adapter lives here.

mod consumer_groups;
pub use consumer_groups::describe_consumer_groups;

use std::ffi::{CStr, c_char};
use std::time::Duration;

use rdkafka::bindings as rd;

use crate::domain::Broker;

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    /// Sorted by id.
    pub brokers: Vec<Broker>,
}

/// Owns a librdkafka object and frees it with `free` when dropped.
struct Owned<T> {
    ptr: *mut T,
    free: unsafe extern "C" fn(*mut T),
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: `ptr` came from the librdkafka constructor paired with `free` and is freed
            // exactly once, here.
            unsafe { (self.free)(self.ptr) }
        }
    }
}

/// Copies a C string owned by librdkafka; null becomes `None`.
///
/// # Safety
/// `ptr` must be null or point to a NUL-terminated string alive for the duration of the call.
unsafe fn owned_string(ptr: *const c_char) -> Option<String> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned())
    }
}

/// A queue for admin results and the options of one admin operation, with its request timeout.
///
/// # Safety
/// `rk` must be a live librdkafka handle; the returned objects must not outlive it.
unsafe fn admin_request(
    rk: *mut rd::rd_kafka_t,
    operation: rd::rd_kafka_admin_op_t,
    timeout_ms: i32,
) -> Result<(Owned<rd::rd_kafka_queue_t>, Owned<rd::rd_kafka_AdminOptions_t>), String> {
    // SAFETY: `rk` is live (caller's contract); both objects are owned by their guards.
    unsafe {
        let queue = Owned { ptr: rd::rd_kafka_queue_new(rk), free: rd::rd_kafka_queue_destroy };
        let options = Owned {
            ptr: rd::rd_kafka_AdminOptions_new(rk, operation),
            free: rd::rd_kafka_AdminOptions_destroy,
        };
        if queue.ptr.is_null() || options.ptr.is_null() {
            return Err("librdkafka could not allocate an admin request".into());
        }
        let mut errstr = [0 as c_char; 256];
        rd::rd_kafka_AdminOptions_set_request_timeout(
            options.ptr,
            timeout_ms,
            errstr.as_mut_ptr(),
            errstr.len(),
        );
        Ok((queue, options))
    }
}

/// The answer to the admin request issued on `queue`, once its top-level error is checked.
///
/// # Safety
/// `queue` must belong to a live librdkafka handle.
unsafe fn admin_answer(
    queue: &Owned<rd::rd_kafka_queue_t>,
    timeout_ms: i32,
    request: &str,
) -> Result<Owned<rd::rd_kafka_event_t>, String> {
    // SAFETY: the queue is live (caller's contract); the event is owned by its guard.
    unsafe {
        // The request timeout fires inside librdkafka first; the extra second only guards
        // against an event that never comes.
        let event = Owned {
            ptr: rd::rd_kafka_queue_poll(queue.ptr, timeout_ms.saturating_add(1000)),
            free: rd::rd_kafka_event_destroy,
        };
        if event.ptr.is_null() {
            return Err(format!("no {request} answer within {timeout_ms} ms"));
        }
        let err = rd::rd_kafka_event_error(event.ptr);
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(owned_string(rd::rd_kafka_event_error_string(event.ptr))
                .unwrap_or_else(|| format!("{err:?}")));
        }
        Ok(event)
    }
}

/// Blocks the calling thread for up to `timeout`: call it from `spawn_blocking`.
///
/// # Safety
/// `rk` must be a live librdkafka handle for the whole call.
pub unsafe fn describe_cluster(
    rk: *mut rd::rd_kafka_t,
    timeout: Duration,
) -> Result<ClusterDescription, String> {
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `rk` is live (caller's contract); every object created here is owned by an `Owned`
    // guard and freed on every return path; strings and nodes read from the result event are
    // copied before the event guard drops.
    unsafe {
        let (queue, options) = admin_request(
            rk,
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
            timeout_ms,
        )?;
        rd::rd_kafka_DescribeCluster(rk, options.ptr, queue.ptr);
        let event = admin_answer(&queue, timeout_ms, "DescribeCluster")?;
        let result = rd::rd_kafka_event_DescribeCluster_result(event.ptr);
        if result.is_null() {
            return Err("DescribeCluster returned an event of another type".into());
        }
        let mut count = 0usize;
        let nodes = rd::rd_kafka_DescribeCluster_result_nodes(result, &mut count);
        let mut brokers = Vec::with_capacity(count);
        for i in 0..count {
            let node = *nodes.add(i);
            if node.is_null() {
                continue;
            }
            brokers.push(Broker {
                id: rd::rd_kafka_Node_id(node),
                host: owned_string(rd::rd_kafka_Node_host(node)).unwrap_or_default(),
                port: rd::rd_kafka_Node_port(node),
                rack: owned_string(rd::rd_kafka_Node_rack(node)).filter(|r| !r.is_empty()),
            });
        }
        brokers.sort_by_key(|b| b.id);
        let controller = rd::rd_kafka_DescribeCluster_result_controller(result);
        let controller_id =
            (!controller.is_null()).then(|| rd::rd_kafka_Node_id(controller)).filter(|id| *id >= 0);
        let cluster_id = owned_string(rd::rd_kafka_DescribeCluster_result_cluster_id(result))
            .filter(|id| !id.is_empty());
        Ok(ClusterDescription { cluster_id, controller_id, brokers })
    }
}

/// The controller id from librdkafka's cached metadata, for brokers without DescribeCluster.
///
/// # Safety
/// `rk` must be a live librdkafka handle for the whole call.
pub unsafe fn controller_id(rk: *mut rd::rd_kafka_t, timeout: Duration) -> Option<i32> {
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `rk` is live (caller's contract); the call only reads librdkafka's metadata cache.
    let id = unsafe { rd::rd_kafka_controllerid(rk, timeout_ms) };
    (id >= 0).then_some(id)
}

/// The cluster id from librdkafka's cached metadata, for brokers without DescribeCluster.
///
/// # Safety
/// `rk` must be a live librdkafka handle for the whole call.
pub unsafe fn cluster_id(rk: *mut rd::rd_kafka_t, timeout: Duration) -> Option<String> {
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `rk` is live (caller's contract); librdkafka allocates the returned string for us,
    // we copy it and hand it back to librdkafka's allocator.
    unsafe {
        let ptr = rd::rd_kafka_clusterid(rk, timeout_ms);
        let id = owned_string(ptr);
        if !ptr.is_null() {
            rd::rd_kafka_mem_free(rk, ptr.cast());
        }
        id.filter(|id| !id.is_empty())
    }
}

/// A group as `rd_kafka_list_groups` reports it (ListGroups + DescribeGroups, batched per broker).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedGroup {
    pub name: String,
    pub coordinator: i32,
    pub error: Option<String>,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<ListedMember>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedMember {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    /// Raw ConsumerProtocolAssignment bytes.
    pub assignment: Vec<u8>,
}

/// Copies `len` bytes librdkafka owns; null or non-positive length is empty.
///
/// # Safety
/// `ptr` must be null or valid for `len` bytes for the duration of the call.
unsafe fn owned_bytes(ptr: *const std::ffi::c_void, len: std::ffi::c_int) -> Vec<u8> {
    match usize::try_from(len) {
        Ok(len) if len > 0 && !ptr.is_null() => {
            // SAFETY: guaranteed by the caller.
            unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }.to_vec()
        }
        _ => Vec::new(),
    }
}

/// Every group of the cluster, with members and coordinator. Blocks for up to `timeout`.
///
/// # Safety
/// `rk` must be a live librdkafka handle for the whole call.
pub unsafe fn list_groups(
    rk: *mut rd::rd_kafka_t,
    timeout: Duration,
) -> Result<Vec<ListedGroup>, String> {
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `rk` is live (caller's contract); the list is read completely and copied before
    // it is destroyed, exactly once, below.
    unsafe {
        let mut list: *const rd::rd_kafka_group_list = std::ptr::null();
        let err = rd::rd_kafka_list_groups(rk, std::ptr::null(), &mut list, timeout_ms);
        if list.is_null() {
            let message = owned_string(rd::rd_kafka_err2str(err)).unwrap_or_default();
            return Err(format!("cannot list consumer groups: {message}"));
        }
        let groups = std::slice::from_raw_parts(
            (*list).groups,
            usize::try_from((*list).group_cnt).unwrap_or(0),
        );
        let listed = groups
            .iter()
            .map(|g| {
                let members = if g.members.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(
                        g.members,
                        usize::try_from(g.member_cnt).unwrap_or(0),
                    )
                };
                ListedGroup {
                    name: owned_string(g.group).unwrap_or_default(),
                    coordinator: g.broker.id,
                    error: (g.err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
                        .then(|| owned_string(rd::rd_kafka_err2str(g.err)).unwrap_or_default()),
                    state: owned_string(g.state).unwrap_or_default(),
                    protocol_type: owned_string(g.protocol_type).unwrap_or_default(),
                    protocol: owned_string(g.protocol).unwrap_or_default(),
                    members: members
                        .iter()
                        .map(|m| ListedMember {
                            member_id: owned_string(m.member_id).unwrap_or_default(),
                            client_id: owned_string(m.client_id).unwrap_or_default(),
                            host: owned_string(m.client_host).unwrap_or_default(),
                            assignment: owned_bytes(m.member_assignment, m.member_assignment_size),
                        })
                        .collect(),
                }
            })
            .collect();
        rd::rd_kafka_group_list_destroy(list);
        Ok(listed)
    }
}

/// `(topic, partition, committed offset)` of one group, or why they could not be read.
pub type GroupOffsets = Result<Vec<(String, i32, i64)>, String>;

/// The committed offsets of every group in `groups`. librdkafka takes one group per
/// ListConsumerGroupOffsets call, so all calls are issued at once on one queue and their answers
/// collected as they come: the requests go out concurrently to each group's coordinator.
/// Blocks for up to `timeout`; groups without an answer by then get an error.
///
/// # Safety
/// `rk` must be a live librdkafka handle for the whole call.
pub unsafe fn committed_offsets(
    rk: *mut rd::rd_kafka_t,
    groups: &[String],
    timeout: Duration,
) -> Vec<(String, GroupOffsets)> {
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let mut answers: Vec<(String, GroupOffsets)> = Vec::with_capacity(groups.len());
    // SAFETY: `rk` is live (caller's contract). Request objects are destroyed right after the
    // call that copies them; every event is destroyed by its guard after its data was copied;
    // queue and options outlive every request issued on them.
    unsafe {
        let (queue, options) = match admin_request(
            rk,
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
            timeout_ms,
        ) {
            Ok(request) => request,
            Err(error) => return groups.iter().map(|g| (g.clone(), Err(error.clone()))).collect(),
        };
        let mut issued = std::collections::HashSet::with_capacity(groups.len());
        for group in groups {
            let Ok(name) = std::ffi::CString::new(group.as_str()) else {
                answers.push((group.clone(), Err("group name contains a NUL byte".into())));
                continue;
            };
            let mut request =
                rd::rd_kafka_ListConsumerGroupOffsets_new(name.as_ptr(), std::ptr::null());
            rd::rd_kafka_ListConsumerGroupOffsets(rk, &mut request, 1, options.ptr, queue.ptr);
            rd::rd_kafka_ListConsumerGroupOffsets_destroy(request);
            issued.insert(group.as_str());
        }
        let deadline = std::time::Instant::now() + timeout + Duration::from_secs(1);
        let mut pending = issued.len();
        while pending > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            let event = Owned {
                ptr: rd::rd_kafka_queue_poll(
                    queue.ptr,
                    i32::try_from(left.as_millis()).unwrap_or(i32::MAX),
                ),
                free: rd::rd_kafka_event_destroy,
            };
            if event.ptr.is_null() {
                break;
            }
            let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event.ptr);
            if result.is_null() {
                continue;
            }
            pending -= 1;
            let mut count = 0usize;
            let results = rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut count);
            let event_error = (rd::rd_kafka_event_error(event.ptr)
                != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
                .then(|| {
                    owned_string(rd::rd_kafka_event_error_string(event.ptr)).unwrap_or_default()
                });
            for i in 0..count {
                let group = *results.add(i);
                if group.is_null() {
                    continue;
                }
                let name = owned_string(rd::rd_kafka_group_result_name(group)).unwrap_or_default();
                issued.remove(name.as_str());
                let error = rd::rd_kafka_group_result_error(group);
                if !error.is_null() {
                    let message =
                        owned_string(rd::rd_kafka_error_string(error)).unwrap_or_default();
                    answers.push((name, Err(message)));
                    continue;
                }
                if let Some(message) = &event_error {
                    answers.push((name, Err(message.clone())));
                    continue;
                }
                let list = rd::rd_kafka_group_result_partitions(group);
                let mut offsets = Vec::new();
                if !list.is_null() && !(*list).elems.is_null() {
                    let elems = std::slice::from_raw_parts(
                        (*list).elems,
                        usize::try_from((*list).cnt).unwrap_or(0),
                    );
                    for e in elems {
                        if e.err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
                            && e.offset >= 0
                        {
                            offsets.push((
                                owned_string(e.topic).unwrap_or_default(),
                                e.partition,
                                e.offset,
                            ));
                        }
                    }
                }
                answers.push((name, Ok(offsets)));
            }
        }
        for group in issued {
            answers.push((group.to_owned(), Err(format!("no answer within {timeout_ms} ms"))));
        }
    }
    answers
}
