//! A poll of a RocketMQ cluster: the name server's broker table and topic list, each master's
//! topic configs, offsets, subscription groups, consume stats and clients, every broker's
//! runtime stats, and the exact lag seconds of lagging queues, mapped onto the generic snapshot.

use super::*;

impl RocketAdapter {
    /// Reads the whole cluster: the RocketMQ view and its generic mapping.
    pub async fn read(&self, now: Millis) -> Result<ClusterSnapshot, AdapterError> {
        let started = std::time::Instant::now();
        let (namesrv, mut brokers) = self.brokers().await?;
        let (_, topic_list) =
            self.namesrv_call(Command::request(code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER)).await?;
        let topic_names: Vec<String> =
            body::<TopicList>("topic list", &topic_list.body)?.topic_list;

        // Runtime stats of every broker; one that does not answer keeps its error.
        let runtimes = in_order(brokers.iter().map(|b| self.runtime(&b.address)).collect()).await;
        for (broker, runtime) in brokers.iter_mut().zip(runtimes) {
            match runtime {
                Ok(runtime) => broker.runtime = Some(runtime),
                Err(e) => broker.error = Some(e.to_string()),
            }
        }
        if brokers.is_empty() {
            // Brokers that stop (or lose the name server) are dropped from its table at once.
            return Err(AdapterError::Unreachable(format!(
                "no broker is registered with the name server {namesrv}"
            )));
        }
        let masters: Vec<(String, String)> = brokers
            .iter()
            .filter(|b| b.is_master() && b.error.is_none())
            .map(|b| (b.name.clone(), b.address.clone()))
            .collect();
        if masters.is_empty() {
            return Err(AdapterError::Unreachable(format!(
                "no master broker could be read: {}",
                brokers.iter().filter_map(|b| b.error.as_deref()).collect::<Vec<_>>().join("; ")
            )));
        }

        // Topic configs per master: queue counts and permissions (the route of each topic).
        let configs: Vec<BTreeMap<String, TopicConfig>> =
            in_order(masters.iter().map(|(_, address)| self.topic_configs(address)).collect())
                .await
                .into_iter()
                .collect::<Result<_, _>>()?;
        let mut routes: BTreeMap<String, Vec<QueueRoute>> = BTreeMap::new();
        for ((broker, _), topics) in masters.iter().zip(&configs) {
            for (topic, config) in topics {
                routes.entry(topic.clone()).or_default().push(QueueRoute {
                    broker: broker.clone(),
                    master: masters.iter().find(|(name, _)| name == broker).map(|(_, a)| a.clone()),
                    read_queues: config.read_queue_nums,
                    write_queues: config.write_queue_nums,
                    perm: config.perm,
                });
            }
        }
        let mut names: Vec<String> = topic_names;
        names.extend(routes.keys().cloned());
        names.sort();
        names.dedup();

        // Offsets of every queue: one request per topic and master that hosts it.
        let requests: Vec<(&str, &str)> = masters
            .iter()
            .zip(&configs)
            .flat_map(|((_, address), topics)| {
                topics.keys().map(move |topic| (address.as_str(), topic.as_str()))
            })
            .collect();
        let offsets: Vec<Vec<(MessageQueueKey, TopicOffset)>> = in_order(
            requests.iter().map(|(address, topic)| self.topic_offsets(address, topic)).collect(),
        )
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
        let mut queue_offsets: BTreeMap<(String, String, i32), TopicOffset> = BTreeMap::new();
        for (key, offset) in offsets.into_iter().flatten() {
            queue_offsets.insert((key.topic, key.broker_name, key.queue_id), offset);
        }

        let infrastructure: Vec<&str> =
            brokers.iter().flat_map(|b| [b.cluster.as_str(), b.name.as_str()]).collect();
        let broker_ids = broker_ids(&brokers);
        let master_ids: HashMap<&str, i32> = brokers
            .iter()
            .zip(&broker_ids)
            .filter(|(b, _)| b.is_master())
            .map(|(b, id)| (b.name.as_str(), *id))
            .collect();
        let mut topics = Vec::with_capacity(names.len());
        let mut rocket_topics = Vec::with_capacity(names.len());
        for name in names {
            let route = routes.remove(&name).unwrap_or_default();
            let queues: Vec<((String, i32), Option<&TopicOffset>)> = queue_offsets
                .range((name.clone(), String::new(), i32::MIN)..)
                .take_while(|((topic, _, _), _)| *topic == name)
                .map(|((_, broker, queue), offset)| ((broker.clone(), *queue), Some(offset)))
                .collect();
            let partitions = queues
                .iter()
                .enumerate()
                .map(|(index, ((broker, _), offset))| {
                    let leader = master_ids.get(broker.as_str()).copied();
                    Partition {
                        id: i32::try_from(index).unwrap_or(i32::MAX),
                        leader,
                        replicas: leader.into_iter().collect(),
                        isr: leader.into_iter().collect(),
                        earliest_offset: offset.map(|o| o.min_offset),
                        latest_offset: offset.map(|o| o.max_offset),
                    }
                })
                .collect();
            let class = TopicClass::of(&name, &infrastructure);
            topics.push(Topic {
                canary: false,
                name: name.clone(),
                internal: class != TopicClass::Normal,
                partitions,
                configs: None,
                messages_in_per_sec: None,
            });
            rocket_topics.push(RocketTopic {
                name,
                class,
                queues: queues
                    .iter()
                    .map(|((broker, queue_id), offset)| MessageQueue {
                        broker: broker.clone(),
                        queue_id: *queue_id,
                        last_update: offset.and_then(|o| timestamp(o.last_update_timestamp)),
                    })
                    .collect(),
                route,
            });
        }

        let (groups, rocket_groups, groups_error) =
            self.groups(&masters, &topics, &rocket_topics).await;
        let mut generic_brokers: Vec<Broker> = brokers
            .iter()
            .zip(&broker_ids)
            .filter(|(b, _)| b.error.is_none())
            .map(|(b, id)| {
                let (host, port) = split_host_port(&b.address);
                Broker { id: *id, host, port, rack: Some(format!("{}/{}", b.cluster, b.name)) }
            })
            .collect();
        generic_brokers.sort_by_key(|b| b.id);
        let cluster_id = {
            let mut clusters: Vec<&str> = brokers.iter().map(|b| b.cluster.as_str()).collect();
            clusters.dedup();
            Some(clusters.join(",")).filter(|c| !c.is_empty())
        };
        Ok(ClusterSnapshot {
            cluster: self.cluster.clone(),
            kind: crate::domain::ClusterKind::Rocketmq,
            taken_at: now,
            poll_millis: crate::brokers::millis_since(started),
            cluster_id,
            controller_id: None,
            brokers: generic_brokers,
            topics,
            groups,
            groups_error,
            queues: None,
            rocket: Some(Arc::new(RocketSnapshot {
                namesrv,
                brokers,
                topics: rocket_topics,
                groups: rocket_groups,
            })),
            log_sizes: None,
            quorum: None,
            zookeeper: None,
            protocol_version: None,
        })
    }

    /// Every non-system subscription group with its consume stats and online clients.
    pub(super) async fn groups(
        &self,
        masters: &[(String, String)],
        topics: &[Topic],
        rocket_topics: &[RocketTopic],
    ) -> (Vec<ConsumerGroup>, Vec<RocketGroup>, Option<String>) {
        let listed: Result<Vec<_>, AdapterError> =
            in_order(masters.iter().map(|(_, address)| self.group_settings(address)).collect())
                .await
                .into_iter()
                .collect();
        let mut settings: HashMap<String, GroupSettings> = HashMap::new();
        match listed {
            Ok(lists) => {
                for (name, found) in lists.into_iter().flatten() {
                    if !is_system_group(&name) {
                        settings.entry(name).or_insert(found);
                    }
                }
            }
            Err(e) => return (Vec::new(), Vec::new(), Some(e.to_string())),
        }
        let mut names: Vec<String> = settings.keys().cloned().collect();
        names.sort();
        // Which topics each master hosts (its queues), by broker name.
        let mut hosted: HashMap<&str, HashSet<&str>> = HashMap::new();
        for topic in rocket_topics {
            for queue in &topic.queues {
                hosted.entry(queue.broker.as_str()).or_default().insert(topic.name.as_str());
            }
        }
        let mut rocket_groups: Vec<RocketGroup> =
            in_order(names.iter().map(|name| self.group(masters, &hosted, name)).collect()).await;
        for group in &mut rocket_groups {
            group.settings = settings.remove(&group.name);
        }
        self.probe_oldest_unconsumed(masters, &mut rocket_groups).await;

        // Generic mapping: partition index of (topic, broker, queue) as in the topic list.
        let topic_index: HashMap<&str, usize> =
            topics.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
        let partition_of = |topic: &str, broker: &str, queue_id: i32| -> Option<i32> {
            let queues = &rocket_topics.get(*topic_index.get(topic)?)?.queues;
            let index = queues.iter().position(|q| q.broker == broker && q.queue_id == queue_id)?;
            i32::try_from(index).ok()
        };
        let groups = rocket_groups
            .iter()
            .map(|group| {
                let offsets = group
                    .queues
                    .iter()
                    .filter_map(|q| {
                        Some(CommittedOffset {
                            topic: q.topic.clone(),
                            partition: partition_of(&q.topic, &q.broker, q.queue_id)?,
                            offset: q.consumer_offset,
                            oldest_unconsumed_at: q.oldest_unconsumed_at,
                        })
                    })
                    .collect();
                ConsumerGroup {
                    name: group.name.clone(),
                    state: if group.clients.is_empty() { "Offline" } else { "Online" }.into(),
                    protocol_type: group.consume_type.clone().unwrap_or_default(),
                    protocol: group.message_model.clone().unwrap_or_default(),
                    group_type: None,
                    coordinator: None,
                    members: members(group, topics, rocket_topics, &topic_index),
                    offsets,
                    offsets_error: group.error.clone(),
                }
            })
            .collect();
        (groups, rocket_groups, None)
    }

    /// One group: its online clients (from the brokers, and from the proxies for gRPC clients),
    /// then its consume stats from every master. A master that has no offsets of the group for a
    /// topic it hosts leaves that topic out of its answer, so such topics (subscribed, or
    /// consumed on another master) are asked for by name: their queues are behind too.
    pub(super) async fn group(
        &self,
        masters: &[(String, String)],
        hosted: &HashMap<&str, HashSet<&str>>,
        name: &str,
    ) -> RocketGroup {
        let mut group = RocketGroup { name: name.to_owned(), ..RocketGroup::default() };
        let mut errors = Vec::new();
        // Remoting clients send heartbeats to every broker, so any master knows them; gRPC
        // clients are known to the proxy they connect through, and to no broker.
        for (_, address) in masters {
            match self.connections(address, name).await {
                Ok(Some(connection)) => {
                    group.absorb(connection, None);
                    break;
                }
                Ok(None) => break,
                Err(e) => errors.push(e.to_string()),
            }
        }
        for proxy in &self.settings.proxy_addrs {
            match self.connections(proxy, name).await {
                Ok(Some(connection)) => group.absorb(connection, Some(proxy)),
                Ok(None) => {}
                Err(e) => errors.push(format!("proxy {e}")),
            }
        }
        let mut tps = 0.0;
        let mut answered: Vec<(&str, &str, HashSet<String>)> = Vec::new();
        for (broker, address) in masters {
            match self.consume_stats(address, name, None).await {
                Ok((broker_tps, table)) => {
                    tps += broker_tps;
                    let topics = table.iter().map(|(key, _)| key.topic.clone()).collect();
                    group.queues.extend(table.into_iter().map(progress));
                    answered.push((broker, address, topics));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        let mut wanted: HashSet<String> =
            group.subscriptions.iter().map(|(topic, _)| topic.clone()).collect();
        wanted.extend(answered.iter().flat_map(|(_, _, topics)| topics.iter().cloned()));
        wanted.retain(|topic| !topic.starts_with('%'));
        if group.message_model.as_deref() == Some("BROADCASTING") {
            // Its clients keep the offsets: the brokers' zeros would be invented lag.
            wanted.clear();
        }
        for (broker, address, topics) in &answered {
            let missing = wanted.iter().filter(|t| {
                !topics.contains(*t) && hosted.get(broker).is_some_and(|h| h.contains(t.as_str()))
            });
            for topic in missing {
                match self.consume_stats(address, name, Some(topic)).await {
                    Ok((_, table)) => group.queues.extend(table.into_iter().map(progress)),
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
        group.queues.sort_by(|a, b| {
            (&a.topic, &a.broker, a.queue_id).cmp(&(&b.topic, &b.broker, b.queue_id))
        });
        group.consume_tps = Some(tps);
        group.error = (!errors.is_empty()).then(|| errors.join("; "));
        group
    }

    /// Fills `oldest_unconsumed_at` of every lagging queue, from the cache or by pulling the one
    /// message at the consumer offset (bounded per poll). Forgets offsets no longer current.
    pub(super) async fn probe_oldest_unconsumed(
        &self,
        masters: &[(String, String)],
        groups: &mut [RocketGroup],
    ) {
        let addresses: HashMap<&str, &str> =
            masters.iter().map(|(name, address)| (name.as_str(), address.as_str())).collect();
        let key = |group: &str, q: &QueueProgress| -> ProbeKey {
            (group.to_owned(), q.topic.clone(), q.broker.clone(), q.queue_id, q.consumer_offset)
        };
        let lagging: Vec<ProbeKey> = groups
            .iter()
            .flat_map(|g| g.queues.iter().filter(|q| q.lag() > 0).map(|q| key(&g.name, q)))
            .collect();
        let missing: Vec<ProbeKey> = {
            let Ok(cache) = self.oldest_unconsumed.lock() else { return };
            lagging
                .iter()
                .filter(|k| !cache.contains_key(*k))
                .take(MAX_PROBES_PER_POLL)
                .cloned()
                .collect()
        };
        let probes = missing.into_iter().filter_map(|k| {
            let address = (*addresses.get(k.2.as_str())?).to_owned();
            Some(async move {
                let at = self.store_time_at(&address, &k.0, &k.1, k.3, k.4).await.ok().flatten();
                (k, at)
            })
        });
        let probed: Vec<(ProbeKey, Option<Millis>)> = in_order(probes.collect()).await;
        let Ok(mut cache) = self.oldest_unconsumed.lock() else { return };
        for (k, at) in probed {
            if let Some(at) = at {
                cache.insert(k, at);
            }
        }
        let current: HashSet<&ProbeKey> = lagging.iter().collect();
        cache.retain(|k, _| current.contains(k));
        for group in groups {
            for queue in &mut group.queues {
                if queue.lag() > 0 {
                    queue.oldest_unconsumed_at = cache.get(&key(&group.name, queue)).copied();
                }
            }
        }
    }
}

/// A queue's consume progress as a consume-stats entry gives it.
fn progress((key, offset): (MessageQueueKey, OffsetWrapper)) -> QueueProgress {
    QueueProgress {
        topic: key.topic,
        broker: key.broker_name,
        queue_id: key.queue_id,
        broker_offset: offset.broker_offset,
        consumer_offset: offset.consumer_offset,
        last_consumed_at: timestamp(offset.last_timestamp),
        oldest_unconsumed_at: None,
    }
}

/// Runs `futures` with at most [`CONCURRENCY`] in flight; results in order. (Collected first: a
/// lazy iterator of borrowing closures would keep the poll's future from being `Send`.)
pub(super) async fn in_order<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    futures::stream::iter(futures).buffered(CONCURRENCY).collect().await
}

pub(super) fn text_of(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Online clients as group members, each assigned the queues the default allocation gives it
/// (clustering consumption; broadcasting clients each read every queue).
pub(super) fn members(
    group: &RocketGroup,
    topics: &[Topic],
    rocket_topics: &[RocketTopic],
    topic_index: &HashMap<&str, usize>,
) -> Vec<GroupMember> {
    let broadcasting = group.message_model.as_deref() == Some("BROADCASTING");
    let mut members: Vec<GroupMember> = group
        .clients
        .iter()
        .map(|c| GroupMember {
            member_id: c.client_id.clone(),
            client_id: c.client_id.clone(),
            host: c.address.clone(),
            assignment: Vec::new(),
        })
        .collect();
    for (topic, _) in &group.subscriptions {
        let Some(&index) = topic_index.get(topic.as_str()) else { continue };
        let queues = rocket_topics[index].queues.len().min(topics[index].partitions.len());
        let shares = if broadcasting {
            vec![(0..queues).collect(); members.len()]
        } else {
            allocate_averagely(queues, members.len())
        };
        for (member, share) in members.iter_mut().zip(shares) {
            if !share.is_empty() {
                let partitions = share.into_iter().filter_map(|i| i32::try_from(i).ok()).collect();
                member.assignment.push((topic.clone(), partitions));
            }
        }
    }
    members
}

impl crate::brokers::ClusterAdapter for RocketAdapter {
    async fn snapshot(&self, now: Millis) -> Result<ClusterSnapshot, AdapterError> {
        self.read(now).await
    }
}
