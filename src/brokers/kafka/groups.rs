//! Consumer groups of a Kafka cluster: the group listing with coordinators and assignments, and
//! committed offsets, batched over the wire where the brokers allow it.

use super::*;

impl KafkaAdapter {
    /// Committed offsets of `groups` over the wire path: coordinators from one batched
    /// FindCoordinator, then one OffsetFetch per coordinator for up to [`GROUPS_PER_FETCH`]
    /// groups. `None` when the brokers are too old to batch either request.
    pub(super) async fn wire_committed_offsets(
        &self,
        pool: &mut WirePool,
        queries: &[wire::OffsetQuery],
        addresses: &HashMap<i32, String>,
    ) -> Result<Option<Vec<(String, ffi::GroupOffsets)>>, wire::WireError> {
        let groups: Vec<String> = queries.iter().map(|(g, _)| g.clone()).collect();
        let Some(&any) = addresses.keys().next() else { return Ok(Some(Vec::new())) };
        let mut first = self.connections(pool, std::iter::once((any, 0)), addresses).await?;
        let (key, mut connection) = first.remove(0);
        let coordinators = connection.coordinators(&groups).await;
        pool.insert(key, connection);
        let Some(coordinators) = coordinators? else { return Ok(None) };
        let mut by_coordinator: HashMap<i32, Vec<wire::OffsetQuery>> = HashMap::new();
        let mut answers = Vec::with_capacity(groups.len());
        for query in queries {
            match coordinators.get(&query.0) {
                Some(node) => by_coordinator.entry(*node).or_default().push(query.clone()),
                None => answers.push((query.0.clone(), Err("no coordinator found".to_owned()))),
            }
        }
        // Each coordinator's groups in chunks, dealt round-robin over its slots.
        let mut work: HashMap<(i32, usize), Vec<&[wire::OffsetQuery]>> = HashMap::new();
        for (node, groups) in &by_coordinator {
            for (i, chunk) in groups.chunks(GROUPS_PER_FETCH).enumerate() {
                work.entry((*node, i % WIRE_SLOTS)).or_default().push(chunk);
            }
        }
        let taken = self.connections(pool, work.keys().copied(), addresses).await?;
        let fetched = futures::future::join_all(taken.into_iter().map(|(key, mut connection)| {
            let chunks = &work[&key];
            async move {
                let mut found = Vec::new();
                for chunk in chunks {
                    match connection.committed_offsets(chunk).await {
                        Ok(Some(answer)) => found.extend(answer),
                        Ok(None) => return (key, connection, Ok(None)),
                        Err(e) => return (key, connection, Err(e)),
                    }
                }
                (key, connection, Ok(Some(found)))
            }
        }))
        .await;
        for (key, connection, result) in fetched {
            match result? {
                Some(found) => answers.extend(found),
                None => return Ok(None),
            }
            pool.insert(key, connection);
        }
        Ok(Some(answers))
    }

    /// Groups on the KIP-848 protocol, which the classic DescribeGroups of the listing reports as
    /// `Dead` with no protocol and no members, described again through DescribeConsumerGroups
    /// (ConsumerGroupDescribe): state, assignor, coordinator, members and their assignments.
    /// Only those groups are asked, in one call; a failure leaves them as listed.
    async fn describe_kip848_groups(&self, groups: &mut [ConsumerGroup]) {
        let candidates: Vec<String> = groups
            .iter()
            .filter(|g| g.state == "Dead" && g.protocol_type.is_empty() && g.members.is_empty())
            .map(|g| g.name.clone())
            .collect();
        if candidates.is_empty() {
            return;
        }
        let timeout = self.timeout;
        let described = self
            .blocking(move |consumer| {
                // SAFETY: the consumer (and so its handle) is kept alive by the Arc for the call.
                unsafe {
                    ffi::describe_consumer_groups(
                        consumer.client().native_ptr(),
                        &candidates,
                        timeout,
                    )
                }
            })
            .await;
        let described = match described.and_then(|d| d.map_err(AdapterError::Protocol)) {
            Ok(described) => described,
            Err(e) => {
                tracing::warn!(cluster = %self.cluster, error = %e, "could not describe the KIP-848 groups; showing them as listed");
                return;
            }
        };
        for found in
            described.into_iter().filter(|d| d.error.is_none() && d.group_type == "consumer")
        {
            let Some(group) = groups.iter_mut().find(|g| g.name == found.name) else { continue };
            group.state = found.state;
            group.protocol_type = "consumer".to_owned();
            group.protocol = found.assignor;
            group.group_type = Some(found.group_type);
            group.coordinator = found.coordinator.or(group.coordinator);
            group.members = found
                .members
                .into_iter()
                .map(|m| GroupMember {
                    member_id: m.member_id,
                    client_id: m.client_id,
                    host: m.host,
                    assignment: m.assignment,
                })
                .collect();
        }
    }

    /// Every consumer group with members, assignment, coordinator and committed offsets: one
    /// batched ListGroups + DescribeGroups per broker through librdkafka, then the committed
    /// offsets of all groups — batched over the wire path, else one librdkafka call per group,
    /// all issued at once.
    /// What to ask each group's coordinator for. Brokers answer "every committed offset of the
    /// group" much more slowly than a list of partitions (noida: ≈ 10×), so a group known from
    /// earlier polls is asked for the partitions of the topics it committed on or is assigned.
    /// New groups are asked for everything, and so is every group once per
    /// `config_refresh_interval` — each on its own turn, so no poll carries them all — which is
    /// how a commit on a new topic by a group without members is found.
    pub(super) fn offset_queries(
        &self,
        groups: &[ConsumerGroup],
        partitions_of: &HashMap<String, Vec<i32>>,
    ) -> Vec<wire::OffsetQuery> {
        let cache = self.committed_topics.lock().unwrap_or_else(|p| p.into_inner());
        let turns = (self.config_refresh_interval.as_millis()
            / self.poll_interval.as_millis().max(1))
        .max(1) as u64;
        let turn = cache.polls % turns;
        groups
            .iter()
            .map(|g| {
                let due = spread(&g.name) % turns == turn;
                let known = (!due).then(|| cache.by_group.get(&g.name)).flatten();
                let topics = known.map(|known| {
                    let assigned =
                        g.members.iter().flat_map(|m| m.assignment.iter().map(|(t, _)| t));
                    let mut topics: Vec<&String> = known.iter().chain(assigned).collect();
                    topics.sort();
                    topics.dedup();
                    topics
                        .into_iter()
                        .filter_map(|t| Some((t.clone(), partitions_of.get(t)?.clone())))
                        .collect()
                });
                (g.name.clone(), topics)
            })
            .collect()
    }

    /// Remembers the topics each group committed on, from answers to `queries`.
    pub(super) fn remember_committed_topics(
        &self,
        queries: &[wire::OffsetQuery],
        answers: &[(String, ffi::GroupOffsets)],
    ) {
        let mut cache = self.committed_topics.lock().unwrap_or_else(|p| p.into_inner());
        cache.polls += 1;
        for (group, offsets) in answers {
            if let Ok(offsets) = offsets {
                let mut topics: Vec<String> = offsets.iter().map(|(t, _, _)| t.clone()).collect();
                topics.dedup();
                cache.by_group.insert(group.clone(), topics);
            }
        }
        let listed: std::collections::HashSet<&str> =
            queries.iter().map(|(g, _)| g.as_str()).collect();
        cache.by_group.retain(|g, _| listed.contains(g.as_str()));
    }

    pub(super) async fn groups(
        &self,
        addresses: &HashMap<i32, String>,
        partitions_of: &HashMap<String, Vec<i32>>,
    ) -> Result<Vec<ConsumerGroup>, AdapterError> {
        let timeout = self.timeout;
        let started = Instant::now();
        let listed = self
            .blocking(move |consumer| {
                // SAFETY: the consumer (and so its handle) is kept alive by the Arc for the call.
                unsafe { ffi::list_groups(consumer.client().native_ptr(), timeout) }
            })
            .await?
            .map_err(AdapterError::Protocol)?;
        let listed_ms = started.elapsed().as_millis();
        // Members' assignments are decoded once: the offset queries and the snapshot both use them.
        let mut groups: Vec<ConsumerGroup> = listed
            .into_iter()
            .map(|g| {
                let members = g
                    .members
                    .into_iter()
                    .map(|m| GroupMember {
                        assignment: assignment::decode(&m.assignment).unwrap_or_else(|e| {
                            tracing::debug!(cluster = %self.cluster, group = %g.name, error = %e, "unreadable member assignment");
                            Vec::new()
                        }),
                        member_id: m.member_id,
                        client_id: m.client_id,
                        host: m.host,
                    })
                    .collect();
                ConsumerGroup {
                    offsets_error: g.error,
                    name: g.name,
                    state: g.state,
                    protocol_type: g.protocol_type,
                    protocol: g.protocol,
                    group_type: None,
                    coordinator: (g.coordinator >= 0).then_some(g.coordinator),
                    members,
                    offsets: Vec::new(),
                }
            })
            .collect();
        self.describe_kip848_groups(&mut groups).await;
        let mut answers = None;
        if let Some(pool) = &self.wire {
            let queries = self.offset_queries(&groups, partitions_of);
            let mut pool = pool.lock().await;
            match self.wire_committed_offsets(&mut pool, &queries, addresses).await {
                Ok(found) => {
                    if let Some(found) = &found {
                        self.remember_committed_topics(&queries, found);
                    }
                    answers = found;
                }
                Err(e) => {
                    pool.clear();
                    tracing::debug!(cluster = %self.cluster, error = %e, "wire OffsetFetch failed; asking through librdkafka");
                }
            }
        }
        let answers = match answers {
            Some(answers) => answers,
            None => {
                let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
                self.blocking(move |consumer| {
                    // SAFETY: the consumer (and so its handle) is kept alive by the Arc.
                    unsafe {
                        ffi::committed_offsets(consumer.client().native_ptr(), &names, timeout)
                    }
                })
                .await?
            }
        };
        tracing::debug!(cluster = %self.cluster, listed_ms, offsets_ms = started.elapsed().as_millis() - listed_ms, "group phases");
        let mut offsets: HashMap<String, ffi::GroupOffsets> = answers.into_iter().collect();
        for group in &mut groups {
            match offsets.remove(&group.name) {
                Some(Ok(mut found)) => {
                    found.sort();
                    group.offsets = found
                        .into_iter()
                        .map(|(topic, partition, offset)| CommittedOffset {
                            topic,
                            partition,
                            offset,
                            oldest_unconsumed_at: None,
                        })
                        .collect();
                }
                Some(Err(e)) => group.offsets_error = Some(e),
                None => group.offsets_error = Some("no answer".to_owned()),
            }
        }
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
    }
}
