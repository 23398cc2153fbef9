//! librdkafka's DescribeCluster admin call (cluster id, controller, brokers with racks), which the
//! rdkafka crate does not wrap. All unsafe code of the Kafka adapter lives here.

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
        let queue = Owned { ptr: rd::rd_kafka_queue_new(rk), free: rd::rd_kafka_queue_destroy };
        let options = Owned {
            ptr: rd::rd_kafka_AdminOptions_new(
                rk,
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
            ),
            free: rd::rd_kafka_AdminOptions_destroy,
        };
        if queue.ptr.is_null() || options.ptr.is_null() {
            return Err("librdkafka could not allocate a DescribeCluster request".into());
        }
        let mut errstr = [0 as c_char; 256];
        rd::rd_kafka_AdminOptions_set_request_timeout(
            options.ptr,
            timeout_ms,
            errstr.as_mut_ptr(),
            errstr.len(),
        );
        rd::rd_kafka_DescribeCluster(rk, options.ptr, queue.ptr);
        // The request timeout fires inside librdkafka first; the extra second only guards
        // against an event that never comes.
        let event = Owned {
            ptr: rd::rd_kafka_queue_poll(queue.ptr, timeout_ms.saturating_add(1000)),
            free: rd::rd_kafka_event_destroy,
        };
        if event.ptr.is_null() {
            return Err(format!("no DescribeCluster answer within {timeout_ms} ms"));
        }
        let err = rd::rd_kafka_event_error(event.ptr);
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            let message = owned_string(rd::rd_kafka_event_error_string(event.ptr))
                .unwrap_or_else(|| format!("{err:?}"));
            return Err(message);
        }
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
