"""Records seeds for the amqp_frames fuzz target from a real RabbitMQ: what its AMQP listener
sends a client that logs in, opens a channel in confirm mode, consumes a queue and publishes to
it (confirmed, delivered) and to no queue (returned), and what it sends a wrong password.

    python3 fuzz/capture/amqp.py HOST:PORT USER PASSWORD fuzz/seeds/amqp_frames

Run by hand against scripts/peers.sh's RabbitMQ when the canary's AMQP session learns a method.
"""

import socket
import struct
import sys
import time
from pathlib import Path

END = b"\xce"


def frame(kind, channel, payload):
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + END


def method(channel, class_id, method_id, arguments=b""):
    return frame(1, channel, struct.pack(">HH", class_id, method_id) + arguments)


def short(text):
    data = text.encode()
    return struct.pack(">B", len(data)) + data


def long(data):
    return struct.pack(">I", len(data)) + data


def publish(queue, body):
    header = struct.pack(">HHQH", 60, 0, len(body), 0)
    bodies = b"".join(frame(3, 1, body[i : i + 131064]) for i in range(0, len(body), 131064))
    return (
        method(1, 60, 40, struct.pack(">H", 0) + short("") + short(queue) + b"\x01")
        + frame(2, 1, header)
        + bodies
    )


def read_for(sock, seconds):
    sock.settimeout(0.2)
    received, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        received += chunk
    return received


def session(addr, user, password):
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"AMQP\x00\x00\x09\x01")
    start = read_for(sock, 0.5)
    response = b"\x00" + user.encode() + b"\x00" + password.encode()
    capabilities = short("authentication_failure_close") + b"t\x01"
    properties = short("capabilities") + b"F" + long(capabilities)
    sock.sendall(method(0, 10, 11, long(properties) + short("PLAIN") + long(response) + short("en_US")))
    return sock, start


def main():
    addr, user, password, out = sys.argv[1:5]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    sock, start = session(addr, user, password)
    tune = read_for(sock, 0.5)
    sock.sendall(method(0, 10, 31, struct.pack(">HIH", 1, 131072, 0)))
    sock.sendall(method(0, 10, 40, short("/") + short("") + b"\x00"))
    sock.sendall(method(1, 20, 10, short("")))
    sock.sendall(method(1, 85, 10, b"\x00"))
    queue = "osprey.fuzz.capture"
    # queue.declare: reserved, name, passive/durable/exclusive/auto-delete/no-wait, arguments
    sock.sendall(method(1, 50, 10, struct.pack(">H", 0) + short(queue) + b"\x08" + long(b"")))
    setup = read_for(sock, 0.5)
    sock.sendall(method(1, 60, 20, struct.pack(">H", 0) + short(queue) + short("") + b"\x02" + long(b"")))
    sock.sendall(publish(queue, b"osprey-canary token 1 0"))
    sock.sendall(publish("osprey.fuzz.nowhere", b"unroutable"))
    sock.sendall(publish(queue, b"x" * 131_100))
    traffic = read_for(sock, 1.5)
    sock.sendall(method(1, 20, 40, struct.pack(">H", 200) + short("bye") + struct.pack(">HH", 0, 0)))
    closing = read_for(sock, 0.5)
    sock.close()

    refused_sock, _ = session(addr, user, password + "-wrong")
    refused = read_for(refused_sock, 1.0)
    refused_sock.close()

    for name, data in [
        ("start", start),
        ("tune", tune),
        ("setup", setup),
        ("traffic", traffic),
        ("closing", closing),
        ("refused", refused),
        ("handshake", start + tune + setup),
    ]:
        (out / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
