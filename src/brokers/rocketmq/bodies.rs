//! Every answer body the adapter reads, read at once from the same bytes: the fuzz targets'
//! way in (the fuzzing module).

use serde::Deserialize;

use super::{
    ClusterInfo, ConsumeStats, ConsumerConnection, GroupSettings, GroupWrapper, KvTable,
    OffsetWrapper, TopicConfigWrapper, TopicList, TopicOffset, TopicRoute, body, lenient, lookup,
    queue_table, runtime_from,
};

/// Reads `bytes` as every body the adapter asks brokers and name servers for, the way it reads
/// each (the fuzz targets feed a peer's arbitrary answer here). Returns how many read; an
/// unreadable body is an error value, never a panic.
#[doc(hidden)]
pub fn read_as_every_body(bytes: &[u8]) -> usize {
    let mut read = 0;
    let mut count = |ok: bool| read += usize::from(ok);
    count(body::<ClusterInfo>("", bytes).is_ok());
    count(body::<TopicList>("", bytes).is_ok());
    count(body::<TopicConfigWrapper>("", bytes).is_ok());
    count(body::<TopicRoute>("", bytes).is_ok());
    count(body::<ConsumerConnection>("", bytes).is_ok());
    count(body::<lookup::GroupList>("", bytes).is_ok());
    count(body::<lookup::ProducerConnection>("", bytes).is_ok());
    count(body::<lookup::DirectResult>("", bytes).is_ok());
    if let Ok(table) = body::<KvTable>("", bytes) {
        count(runtime_from(&table.table).version.is_some());
    }
    if let Ok(groups) = body::<GroupWrapper>("", bytes) {
        for config in groups.subscription_group_table.into_values() {
            count(GroupSettings::deserialize(config).is_ok());
        }
    }
    if let Ok(value) = lenient::parse(bytes) {
        count(ConsumeStats::deserialize(&value).is_ok());
        count(queue_table::<TopicOffset>("", &value["offsetTable"]).is_ok());
        count(queue_table::<OffsetWrapper>("", &value["offsetTable"]).is_ok());
        count(queue_table::<i64>("", &value["offsetTable"]).is_ok());
    }
    read
}
