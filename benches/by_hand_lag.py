"""What an operator writes by hand for every group's lag: confluent-kafka's admin client lists the
groups and each group's committed offsets, and a consumer reads each partition's watermarks.
Used by benches/groups.rs as the comparison."""
import sys

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})
groups = admin.list_consumer_groups(request_timeout=30).result().valid
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "by-hand-lag", "enable.auto.commit": False})
total_lag = 0
partitions = 0
for listing in groups:
    request = [ConsumerGroupTopicPartitions(listing.group_id)]
    for future in admin.list_consumer_group_offsets(request).values():
        for tp in future.result().topic_partitions:
            if tp.offset < 0:
                continue
            low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
            total_lag += max(high - tp.offset, 0)
            partitions += 1
consumer.close()
print(f"{len(groups)} groups, {partitions} partitions, total lag {total_lag}")
