//! A KRaft cluster's metadata quorum as DescribeQuorum tells it: the active controller (the
//! quorum's leader), its epoch and high watermark, and each voter's and observer's progress.

use serde::Serialize;

use super::Millis;

/// The metadata quorum of a KRaft cluster.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Quorum {
    /// The active controller. On KRaft, DescribeCluster and Metadata name an arbitrary live
    /// broker as "controller"; this is the real one.
    pub leader_id: i32,
    pub leader_epoch: i32,
    /// The last metadata offset the quorum has committed.
    pub high_watermark: i64,
    /// The controllers that vote, sorted by id.
    pub voters: Vec<QuorumMember>,
    /// Brokers (and controllers that do not vote) replicating the metadata log, sorted by id.
    pub observers: Vec<QuorumMember>,
}

/// The `metadata.version` names of Kafka's feature levels 1 to 29 (`MetadataVersion` in Kafka's
/// `server-common`, as Kafka 4.1.1 lists them; levels past 4.1-IV1 are unreleased there).
const METADATA_VERSIONS: [&str; 29] = [
    "3.0-IV1", "3.1-IV0", "3.2-IV0", "3.3-IV0", "3.3-IV1", "3.3-IV2", "3.3-IV3", "3.4-IV0",
    "3.5-IV0", "3.5-IV1", "3.5-IV2", "3.6-IV0", "3.6-IV1", "3.6-IV2", "3.7-IV0", "3.7-IV1",
    "3.7-IV2", "3.7-IV3", "3.7-IV4", "3.8-IV0", "3.9-IV0", "4.0-IV0", "4.0-IV1", "4.0-IV2",
    "4.0-IV3", "4.1-IV0", "4.1-IV1", "4.2-IV0", "4.2-IV1",
];

/// The name of a finalized `metadata.version` feature level (`27` → `4.1-IV1`); a level newer
/// than this build knows is shown as the number.
pub fn metadata_version_name(level: i16) -> String {
    usize::try_from(level)
        .ok()
        .and_then(|l| l.checked_sub(1))
        .and_then(|i| METADATA_VERSIONS.get(i))
        .map_or_else(|| format!("level {level}"), |name| (*name).to_owned())
}

/// The Kafka release of a protocol or metadata version name (`4.1-IV1` → `4.1`).
pub fn release_of(version: &str) -> &str {
    version.split_once("-IV").map_or(version, |(release, _)| release)
}

/// What a member does in the quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuorumRole {
    /// The active controller.
    Leader,
    Voter,
    Observer,
}

impl QuorumRole {
    pub fn as_str(self) -> &'static str {
        match self {
            QuorumRole::Leader => "leader",
            QuorumRole::Voter => "voter",
            QuorumRole::Observer => "observer",
        }
    }
}

/// One replica of the metadata log.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct QuorumMember {
    pub id: i32,
    /// `None` when the leader does not know it (-1 on the wire).
    pub log_end_offset: Option<i64>,
    pub last_fetch_at: Option<Millis>,
    pub last_caught_up_at: Option<Millis>,
}

impl Quorum {
    /// How many metadata records `member` is behind the high watermark.
    pub fn lag(&self, member: &QuorumMember) -> Option<i64> {
        member.log_end_offset.map(|end| (self.high_watermark - end).max(0))
    }

    /// Every member with its role, the leader first, then the other voters and the observers.
    pub fn members(&self) -> Vec<(&QuorumMember, QuorumRole)> {
        let voters = self.voters.iter().map(|v| {
            let role = if v.id == self.leader_id { QuorumRole::Leader } else { QuorumRole::Voter };
            (v, role)
        });
        let observers = self.observers.iter().map(|o| (o, QuorumRole::Observer));
        let mut members: Vec<_> = voters.chain(observers).collect();
        members.sort_by_key(|(member, role)| (*role, member.id));
        members
    }

    /// Whether `id` is a voter (a controller) of this quorum.
    pub fn is_voter(&self, id: i32) -> bool {
        self.voters.iter().any(|v| v.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_versions_are_named_by_their_feature_level() {
        assert_eq!(metadata_version_name(1), "3.0-IV1");
        assert_eq!(metadata_version_name(21), "3.9-IV0");
        assert_eq!(metadata_version_name(27), "4.1-IV1");
        assert_eq!(metadata_version_name(99), "level 99");
        assert_eq!(metadata_version_name(0), "level 0");
        assert_eq!(release_of("4.1-IV1"), "4.1");
        assert_eq!(release_of("3.9"), "3.9");
    }

    fn member(id: i32, end: i64) -> QuorumMember {
        QuorumMember { id, log_end_offset: Some(end), last_fetch_at: None, last_caught_up_at: None }
    }

    #[test]
    fn lag_is_the_distance_to_the_high_watermark_never_negative() {
        let quorum = Quorum {
            leader_id: 1,
            leader_epoch: 3,
            high_watermark: 100,
            voters: vec![member(1, 100), member(2, 97)],
            observers: vec![member(4, 120)],
        };
        assert_eq!(quorum.lag(&quorum.voters[1]), Some(3));
        assert_eq!(quorum.lag(&quorum.observers[0]), Some(0));
        let unknown = QuorumMember { log_end_offset: None, ..member(5, 0) };
        assert_eq!(quorum.lag(&unknown), None);
        assert!(quorum.is_voter(2) && !quorum.is_voter(4));
        let roles: Vec<(i32, QuorumRole)> =
            quorum.members().into_iter().map(|(m, role)| (m.id, role)).collect();
        assert_eq!(
            roles,
            [(1, QuorumRole::Leader), (2, QuorumRole::Voter), (4, QuorumRole::Observer)]
        );
    }
}
