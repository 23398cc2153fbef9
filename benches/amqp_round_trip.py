"""The reference for benches/canary.rs: pika (the Python AMQP client RabbitMQ's tutorials use)
timing the canary's path on the same node — a publish to a queue through the default exchange,
timed to the publisher confirm, and its delivery to a consumer on the same channel. Prints one
JSON line: every round's produce and end-to-end milliseconds.

    amqp_round_trip.py --url amqp://guest:guest@127.0.0.1:5682/%2F --queue Q --rounds 300
"""
import argparse
import json
import time

import pika


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    channel.queue_declare(queue=args.queue, durable=True)
    channel.confirm_delivery()
    delivered = []
    channel.basic_consume(
        queue=args.queue, on_message_callback=lambda *a: delivered.append(1), auto_ack=True
    )
    produce, end_to_end = [], []
    for round_ in range(args.rounds):
        delivered.clear()
        started = time.perf_counter()
        # With confirms on, basic_publish returns once the broker confirmed (or raises).
        channel.basic_publish("", args.queue, f"marker {round_}".encode(), mandatory=True)
        produce.append((time.perf_counter() - started) * 1000)
        while not delivered:
            connection.process_data_events(time_limit=0.001)
        end_to_end.append((time.perf_counter() - started) * 1000)
    connection.close()
    print(json.dumps({"produce_ms": produce, "end_to_end_ms": end_to_end}))


if __name__ == "__main__":
    main()
