//! Pure lag evaluation: lag in seconds from a partition's end-offset history, and a Burrow-style
//! health status per partition and group. No I/O and no clock: `now` is always a parameter.

pub mod diagnosis;
pub mod flow;
pub mod lag;
pub mod retention;
pub mod status;
pub mod time_lag;
pub mod trend;

pub use diagnosis::{DIAGNOSIS_LOOKBACK, Hint, canary_failing, diagnose};
pub use flow::{Flow, TopicFlows};
pub use lag::{
    GroupLag, GroupSummary, LagBook, MEMBERSHIP_HORIZON, MembershipChange, PartitionLag, TopicLag,
};
pub use retention::RetentionRisk;
pub use status::{
    Judgement, PartitionStatus, Rules, Sample, group_status, judge_partition, partition_status,
};
pub use time_lag::{Drain, EndOffsetHistory, drain_seconds};
pub use trend::{lag_trend, seconds_to_pass};
