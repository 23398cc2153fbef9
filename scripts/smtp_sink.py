"""An SMTP server that keeps every message it accepts, one file each, in MAILDIR/new.

Osprey's tests start one per test (real SMTP, optionally with AUTH PLAIN/LOGIN) and read the
messages back. Runs until killed.

    smtp_sink.py --port 12525 --maildir DIR [--user U --password P]
                 [--tls-cert CERT.pem --tls-key KEY.pem [--implicit-tls]]

With a certificate it requires STARTTLS before MAIL, or with --implicit-tls speaks TLS from the
first byte (as on port 465).
"""
import argparse
import signal
import ssl
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
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
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
    tls = {}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.implicit_tls:
            tls = dict(ssl_context=context)
        else:
            tls = dict(tls_context=context, require_starttls=True)
    controller = Controller(
        Mailbox(args.maildir), hostname="127.0.0.1", port=args.port, **auth, **tls
    )
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
