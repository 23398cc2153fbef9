"""An SMTP server that keeps every message it accepts, one file each, in MAILDIR/new.

Osprey's tests start one per test (real SMTP, optionally with AUTH PLAIN/LOGIN) and read the
messages back. Runs until killed.

    smtp_sink.py --port 12525 --maildir DIR [--user U --password P]
"""
import argparse
import signal
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        # handled=False lets aiosmtpd answer 535 itself; True would leave the client hanging.
        return AuthResult(success=ok, handled=False)

    auth = {}
    if args.user:
        auth = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    controller = Controller(Mailbox(args.maildir), hostname="127.0.0.1", port=args.port, **auth)
    controller.start()
    print(f"smtp sink on 127.0.0.1:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
