#!/usr/bin/env python3
"""The demo's mail catcher: a real SMTP server (aiosmtpd, from Tests/requirements.txt) on
loopback that takes every message and keeps it as a numbered `.eml` file, so the demo's alert
mails and digests can be read without a mail server. Loopback plain `smtp://` is what
connwatch allows for a local MTA (SPEC §4); nothing here leaves the machine.

    smtp-catcher.py --dir DIR [--port 0]

Prints `smtp-catcher listening on 127.0.0.1:PORT` once it accepts connections, then one line
per message (file, envelope, subject). Stops on SIGTERM/SIGINT."""
import argparse
import email
import email.policy
import os
import signal
import socket
import threading

from aiosmtpd.controller import Controller


class Catcher:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.count += 1
            path = os.path.join(self.directory, f"{self.count:03d}.eml")
        # The envelope is not in the message: keep it in front, as an MTA's Return-Path and
        # X-Original-To would, so the file shows who the mail was for.
        head = f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.replace(path + ".tmp", path)
        print(f"mail {os.path.basename(path)}: {envelope.mail_from} -> {', '.join(envelope.rcpt_tos)}: "
              f"{msg['Subject']}", flush=True)
        return "250 2.0.0 caught"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="where the .eml files go")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    port = args.port
    if port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    controller = Controller(Catcher(args.dir), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"smtp-catcher listening on 127.0.0.1:{port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
