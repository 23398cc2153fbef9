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
                "no master broker answered: {}",
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
        let master_ids: HashMap<&str, i32> = brokers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_master())
            .map(|(i, b)| (b.name.as_str(), i32::try_from(i).unwrap_or(i32::MAX)))
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
        let generic_brokers = brokers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.error.is_none())
            .map(|(i, b)| {
                let (host, port) = split_host_port(&b.address);
                Broker {
                    id: i32::try_from(i).unwrap_or(i32::MAX),
                    host,
                    port,
                    rack: Some(format!("{}/{}", b.cluster, b.name)),
                }
            })
            .collect();
        let cluster_id = {
            let mut clusters: Vec<&str> = brokers.iter().map(|b| b.cluster.as_str()).collect();
            clusters.dedup();
            Some(clusters.join(",")).filter(|c| !c.is_empty())
        };
        Ok(ClusterSnapshot {
            cluster: self.cluster.clone(),
            kind: crate::domain::ClusterKind::Rocketmq,
            taken_at: now,
            poll_millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            cluster_id,
            controller_id: None,
            brokers: generic_brokers,
            topics,
            groups,
            groups_error,
            rabbit: None,
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
        let listed: Result<Vec<Vec<String>>, AdapterError> =
            in_order(masters.iter().map(|(_, address)| self.group_names(address)).collect())
                .await
                .into_iter()
                .collect();
        let names: Vec<String> = match listed {
            Ok(lists) => {
                let mut names: Vec<String> =
                    lists.into_iter().flatten().filter(|g| !is_system_group(g)).collect();
                names.sort();
                names.dedup();
                names
            }
            Err(e) => return (Vec::new(), Vec::new(), Some(e.to_string())),
        };
        let mut rocket_groups: Vec<RocketGroup> =
            in_order(names.iter().map(|name| self.group(masters, name)).collect()).await;
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

    pub(super) async fn group(&self, masters: &[(String, String)], name: &str) -> RocketGroup {
        let mut group = RocketGroup { name: name.to_owned(), ..RocketGroup::default() };
        let mut errors = Vec::new();
        let mut tps = 0.0;
        for (_, address) in masters {
            match self.consume_stats(address, name).await {
                Ok((broker_tps, table)) => {
                    tps += broker_tps;
                    group.queues.extend(table.into_iter().map(|(key, offset)| QueueProgress {
                        topic: key.topic,
                        broker: key.broker_name,
                        queue_id: key.queue_id,
                        broker_offset: offset.broker_offset,
                        consumer_offset: offset.consumer_offset,
                        last_consumed_at: timestamp(offset.last_timestamp),
                        oldest_unconsumed_at: None,
                    }));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        group.queues.sort_by(|a, b| {
            (&a.topic, &a.broker, a.queue_id).cmp(&(&b.topic, &b.broker, b.queue_id))
        });
        group.consume_tps = Some(tps);
        // Clients send heartbeats to every broker; any master knows them.
        for (_, address) in masters {
            match self.connections(address, name).await {
                Ok(Some(connection)) => {
                    let mut clients: Vec<ConsumerClient> = connection
                        .connection_set
                        .into_iter()
                        .map(|c| ConsumerClient {
                            client_id: c.client_id,
                            address: c.client_addr,
                            language: text_of(&c.language),
                            version: text_of(&c.version),
                        })
                        .collect();
                    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
                    group.clients = clients;
                    group.subscriptions = connection
                        .subscription_table
                        .into_iter()
                        .map(|(topic, s)| (topic, s.sub_string))
                        .collect();
                    group.consume_type = connection.consume_type;
                    group.message_model = connection.message_model;
                    break;
                }
                Ok(None) => break,
                Err(e) => errors.push(e.to_string()),
            }
        }
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
