"""A real beanstalkd producer and worker for Osprey's tests (greenstalk, a client operators use).

    beanstalk_client.py put  --server HOST:PORT --tube TUBE --count N [--delay S]
    beanstalk_client.py work --server HOST:PORT --tube TUBE [--bury]

`put` puts N jobs and prints "put N". `work` watches TUBE (and no other), prints "working",
then reserves each job and deletes it (or, with --bury, buries it) until it is killed.
"""
import argparse
import signal
import sys

import greenstalk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["put", "work"])
    parser.add_argument("--server", required=True)
    parser.add_argument("--tube", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--delay", type=int, default=0)
    parser.add_argument("--bury", action="store_true")
    args = parser.parse_args()
    host, port = args.server.rsplit(":", 1)
    client = greenstalk.Client((host, int(port)), use=args.tube, watch=args.tube)
    if args.action == "put":
        for i in range(args.count):
            client.put(f"job {i}", delay=args.delay, ttr=60)
        print(f"put {args.count}", flush=True)
        client.close()
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("working", flush=True)
    while True:
        try:
            job = client.reserve(timeout=1)
        except greenstalk.TimedOutError:
            continue
        if args.bury:
            client.bury(job)
        else:
            client.delete(job)


if __name__ == "__main__":
    main()
