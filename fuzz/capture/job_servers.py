"""Records seeds for the job_server_text fuzz target from real servers: beanstalkd's `stats`,
`list-tubes` and `stats-tube` bodies and gearmand's `status` and `workers` answers, after a few
jobs and a worker give them something to say. Run by hand when the adapters learn a command:

    python3 fuzz/capture/job_servers.py BEANSTALKD_HOST:PORT GEARMAN_HOST:PORT

(scripts/peers.sh starts both: OSPREY_TEST_BEANSTALKD, OSPREY_TEST_GEARMAN.) The target reads
the first byte as which decoder to use: b'b' beanstalkd dictionary, b'l' beanstalkd list,
b's' Gearman status, b'w' Gearman workers.
"""
import pathlib
import socket
import sys

SEEDS = pathlib.Path(__file__).resolve().parent.parent / "seeds" / "job_server_text"


def beanstalkd_body(sock, command):
    sock.sendall(command + b"\r\n")
    reader = sock.makefile("rb")
    status = reader.readline()
    length = int(status.split()[-1])
    return reader.read(length + 2)[:length]


def gearman_listing(sock, command):
    sock.sendall(command + b"\n")
    reader = sock.makefile("rb")
    lines = []
    while (line := reader.readline()) != b".\n":
        lines.append(line)
    return b"".join(lines)


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    beanstalkd, gearman = (address(a) for a in sys.argv[1:3])
    SEEDS.mkdir(parents=True, exist_ok=True)
    with socket.create_connection(beanstalkd) as b:
        b.sendall(b"use fuzz-seed\r\nput 1 0 60 3\r\nabc\r\n")
        b.recv(64)
        seeds = {
            "beanstalkd-stats": b"b" + beanstalkd_body(b, b"stats"),
            "beanstalkd-tubes": b"l" + beanstalkd_body(b, b"list-tubes"),
            "beanstalkd-stats-tube": b"b" + beanstalkd_body(b, b"stats-tube fuzz-seed"),
        }
    with socket.create_connection(gearman) as worker, socket.create_connection(gearman) as g:
        function = b"fuzz-seed"
        worker.sendall(b"\0REQ" + (1).to_bytes(4, "big") + len(function).to_bytes(4, "big") + function)
        seeds["gearman-status"] = b"s" + gearman_listing(g, b"status")
        seeds["gearman-workers"] = b"w" + gearman_listing(g, b"workers")
    for name, data in seeds.items():
        (SEEDS / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
