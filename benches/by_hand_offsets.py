"""What an operator writes by hand to get every partition's offsets: confluent-kafka's metadata
listing and one watermark query per partition. Used by benches/scale.rs as the comparison."""
import sys

from confluent_kafka import Consumer, TopicPartition

bootstrap = sys.argv[1]
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "by-hand-bench", "enable.auto.commit": False})
metadata = consumer.list_topics(timeout=30)
partitions = 0
messages = 0
for name, topic in metadata.topics.items():
    for pid in topic.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(name, pid), timeout=10)
        partitions += 1
        messages += high - low
consumer.close()
print(f"{len(metadata.topics)} topics, {partitions} partitions, {messages} messages")
