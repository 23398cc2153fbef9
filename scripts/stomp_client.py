"""A real ActiveMQ producer and consumer for Osprey's tests (stomp.py, over STOMP, which both
ActiveMQ Classic and Artemis speak).

    stomp_client.py send    --server HOST:PORT --queue QUEUE --count N [--flavor classic|artemis]
    stomp_client.py consume --server HOST:PORT --queue QUEUE [--flavor classic|artemis]

`send` sends N persistent text messages and prints "sent N". `consume` subscribes to QUEUE with
client acknowledgement, prints "consuming", then acknowledges each message until it is killed.
The login is OSPREY_TEST_ACTIVEMQ_USER / OSPREY_TEST_ACTIVEMQ_PASSWORD.
"""
import argparse
import os
import signal
import sys
import time

import stomp


def destination(queue: str, flavor: str) -> tuple[str, dict]:
    # Classic names queues /queue/NAME; Artemis takes the name with its routing type.
    if flavor == "artemis":
        return queue, {"destination-type": "ANYCAST"}
    return f"/queue/{queue}", {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["send", "consume"])
    parser.add_argument("--server", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--flavor", choices=["classic", "artemis"], default="classic")
    args = parser.parse_args()
    host, port = args.server.rsplit(":", 1)
    connection = stomp.Connection([(host, int(port))], heartbeats=(0, 0))
    user = os.environ.get("OSPREY_TEST_ACTIVEMQ_USER", "osprey")
    password = os.environ.get("OSPREY_TEST_ACTIVEMQ_PASSWORD", "")
    connection.connect(user, password, wait=True)
    name, headers = destination(args.queue, args.flavor)
    if args.action == "send":
        for i in range(args.count):
            connection.send(name, f"message {i}", headers={"persistent": "true", **headers})
        connection.disconnect()
        print(f"sent {args.count}", flush=True)
        return

    class Acknowledger(stomp.ConnectionListener):
        def on_message(self, frame):
            connection.ack(frame.headers["message-id"], frame.headers["subscription"])

    connection.set_listener("ack", Acknowledger())
    connection.subscribe(name, id="osprey-test", ack="client-individual", headers=headers)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("consuming", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
