"""A real AMQP consumer for Osprey's tests: consumes QUEUE and acknowledges every message until
it is killed. It prints one line once it is consuming.

    amqp_consumer.py --url amqp://guest:guest@127.0.0.1:5682/VHOST --queue QUEUE
"""
import argparse
import signal
import sys

import pika


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True)
    args = parser.parse_args()
    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=50)

    def on_message(ch, method, properties, body):
        ch.basic_ack(delivery_tag=method.delivery_tag)

    channel.basic_consume(queue=args.queue, on_message_callback=on_message)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("consuming", flush=True)
    try:
        channel.start_consuming()
    finally:
        try:
            connection.close()
        except Exception:
            pass


if __name__ == "__main__":
    main()
