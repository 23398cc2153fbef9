#!/usr/bin/env python3
"""Turns a loopback capture of Osprey (and the Java clients of the tests) talking to Apache Kafka
and Apache RocketMQ into seed corpora for the fuzz targets (fuzz/seeds/<target>/).

Usage: split.py CAPTURE.pcapng SEEDS_DIR KAFKA_PORTS ROCKETMQ_PORTS (ports comma-separated).
Reads the capture with tshark, joins each connection's bytes per direction, cuts them into
length-prefixed frames (both protocols prefix a frame with its length, 4 bytes big-endian),
pairs answers with requests (Kafka by correlation id, RocketMQ by opaque) and keeps a few answers
of every API and version so the seeds cover each decoder without a thousand copies of one.
"""
import hashlib
import json
import os
import subprocess
import sys
from collections import defaultdict

KAFKA_WIRE_APIS = {18, 10, 9, 2, 35, 55}  # what osprey's wire client asks (fuzzing::kafka_response)
KAFKA_SYNC_GROUP = 14
PER_KIND = 3
MAX_SEED = 64 * 1024


def streams(capture, ports):
    """(stream, client→server bytes, server→client bytes) of every connection to `ports`."""
    fields = ["tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.payload"]
    out = subprocess.run(
        ["tshark", "-r", capture, "-Y", "tcp.len > 0", "-T", "fields"]
        + [a for f in fields for a in ("-e", f)],
        check=True, capture_output=True, text=True).stdout
    data = defaultdict(lambda: [bytearray(), bytearray()])
    for line in out.splitlines():
        stream, src, dst, payload = line.split("\t")
        if int(dst) in ports:
            data[stream][0] += bytes.fromhex(payload)
        elif int(src) in ports:
            data[stream][1] += bytes.fromhex(payload)
    return data.values()


def frames(blob):
    at = 0
    while at + 4 <= len(blob):
        size = int.from_bytes(blob[at:at + 4], "big")
        if size <= 0 or at + 4 + size > len(blob):
            return
        yield bytes(blob[at + 4:at + 4 + size])
        at += 4 + size


def uvarint(b, at):
    value = shift = 0
    while True:
        byte = b[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def sync_group_assignment(frame, version):
    """The member assignment in a SyncGroup answer (the consumer protocol's bytes)."""
    at = 4  # correlation id
    flexible = version >= 4
    if flexible:
        tags, at = uvarint(frame, at)
    if version >= 1:
        at += 4  # throttle
    at += 2  # error code
    if version >= 5:
        for _ in range(2):  # protocol type and name, compact nullable strings
            length, at = uvarint(frame, at)
            at += max(length - 1, 0)
    if flexible:
        length, at = uvarint(frame, at)
        length -= 1
    else:
        length = int.from_bytes(frame[at:at + 4], "big", signed=True)
        at += 4
    return frame[at:at + length] if length > 0 else None


class Seeds:
    def __init__(self, root):
        self.root, self.kept = root, defaultdict(int)

    def add(self, target, kind, data):
        if not data or len(data) > MAX_SEED or self.kept[(target, kind)] >= PER_KIND:
            return
        self.kept[(target, kind)] += 1
        directory = os.path.join(self.root, target)
        os.makedirs(directory, exist_ok=True)
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def kafka(capture, ports, seeds):
    for requests, answers in streams(capture, ports):
        asked = {}
        for frame in frames(requests):
            key, version, correlation = (int.from_bytes(frame[0:2], "big"),
                                         int.from_bytes(frame[2:4], "big"),
                                         int.from_bytes(frame[4:8], "big"))
            asked[correlation] = (key, version)
        for frame in frames(answers):
            key, version = asked.get(int.from_bytes(frame[0:4], "big"), (None, None))
            if key in KAFKA_WIRE_APIS:
                seeds.add("kafka_response", (key, version, len(frame).bit_length() // 4),
                          key.to_bytes(2, "big") + version.to_bytes(2, "big") + frame)
            elif key == KAFKA_SYNC_GROUP:
                try:
                    assignment = sync_group_assignment(frame, version)
                except IndexError:
                    assignment = None
                seeds.add("member_assignment", (version, len(assignment or b"")), assignment)


def rocketmq(capture, ports, seeds):
    for requests, answers in streams(capture, ports):
        asked = {}
        for frame in frames(requests):
            try:
                header = json.loads(frame[4:4 + (int.from_bytes(frame[0:4], "big") & 0xFFFFFF)])
                asked[header["opaque"]] = header["code"]
            except (ValueError, KeyError):
                continue
        for frame in frames(answers):
            header_length = int.from_bytes(frame[0:4], "big") & 0xFFFFFF
            try:
                opaque = json.loads(frame[4:4 + header_length]).get("opaque")
            except ValueError:
                opaque = None
            code = asked.get(opaque)
            body = frame[4 + header_length:]
            seeds.add("rocketmq_frame", (code, len(frame).bit_length() // 4), frame)
            seeds.add("rocketmq_body", (code, len(body).bit_length() // 4), body)


def main():
    capture, root, kafka_ports, rocketmq_ports = sys.argv[1:5]
    seeds = Seeds(root)
    kafka(capture, {int(p) for p in kafka_ports.split(",")}, seeds)
    rocketmq(capture, {int(p) for p in rocketmq_ports.split(",")}, seeds)
    for (target, kind), count in sorted(seeds.kept.items(), key=str):
        print(target, kind, count)


if __name__ == "__main__":
    main()
