"""Shared helpers for end-to-end tests that run the real binaries: connwatch-sim,
connwatchd, connwatchctl; the real journald; the real SQLite file."""
import datetime as dt
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CONNWATCH_BIN_DIR", REPO / ".build" / "debug"))

GRAPH = "00000003-0000-0000-c000-000000000000"
OFFICE = "c5393580-f805-4401-95e8-94b7a6ef2fc2"
BLOB_DATA = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ACCOUNT = "17d1049b-9a84-46fb-8f53-869881c3d3ab"


def iso(days):
    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def permissions(kind):
    """Application permissions of a kind, by resource app id, from connwatchctl itself."""
    out = subprocess.run([BIN / "connwatchctl", "permissions", kind, "--json"], check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(out)
    ids = {r["id"]: r["app_id"] for r in data["resources"]}
    roles = {}
    for p in data["permissions"]:
        if p["type"] == "application":
            roles.setdefault(ids[p["resource"]], []).append(p["permission"])
    return roles


def new_secret():
    return "Xq8~" + secrets.token_urlsafe(24)


class Simulator:
    def __init__(self, tmp, scenario):
        self.tmp = Path(tmp)
        self.scenario_path = self.tmp / "scenario.json"
        self.ca = self.tmp / "sim-ca.pem"
        self.scenario_path.write_text(json.dumps(scenario))
        self.proc = subprocess.Popen(
            [BIN / "connwatch-sim", "--scenario", self.scenario_path, "--port", "0", "--ca-out", self.ca],
            stdout=subprocess.PIPE, stderr=open(self.tmp / "sim.log", "w"), text=True)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("connwatch-sim listening on "), line
        self.base = line.rsplit(" ", 1)[1]

    def put_scenario(self, scenario):
        r = requests.put(self.base + "/_sim/scenario", data=json.dumps(scenario), verify=str(self.ca), timeout=10)
        assert r.status_code in (200, 204), r.text

    def put_faults(self, faults):
        r = requests.put(self.base + "/_sim/faults", data=json.dumps(faults), verify=str(self.ca), timeout=10)
        assert r.status_code in (200, 204), r.text

    def stats(self):
        return requests.get(self.base + "/_sim/stats", verify=str(self.ca), timeout=10).json()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class NotifySocket:
    """A fake systemd NOTIFY_SOCKET collecting sd_notify datagrams."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append(data.decode())

    def wait_for(self, predicate, timeout=60, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for i, m in enumerate(self.messages[start:], start):
                    if predicate(m):
                        return i, m
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"no matching notify message; got {self.messages[start:][-10:]}")

    def count(self):
        with self.lock:
            return len(self.messages)

    def close(self):
        self.running = False
        self.sock.close()


class Daemon:
    def __init__(self, tmp, config, creds, notify, extra_env=None, name="connwatchd"):
        env = dict(os.environ)
        env.pop("CREDENTIALS_DIRECTORY", None)
        env["NOTIFY_SOCKET"] = notify.path
        env["WATCHDOG_USEC"] = "2000000"
        env.pop("WATCHDOG_PID", None)
        # As systemd's RuntimeDirectory= would: the control socket goes to the test's own
        # directory unless the configuration names one, so parallel runs never share it.
        env["RUNTIME_DIRECTORY"] = str(tmp)
        env.update(extra_env or {})
        self.log = open(Path(tmp) / f"{name}.log", "a")
        self.proc = subprocess.Popen(
            [BIN / "connwatchd", "--config", config, "--credentials-dir", creds],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout):
        return self.proc.wait(timeout)


def journal(**match):
    args = ["journalctl", "-o", "json", "--no-pager"] + [f"{k}={v}" for k, v in match.items()]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def wait_journal(timeout=60, predicate=lambda e: True, **match):
    deadline = time.time() + timeout
    while time.time() < deadline:
        entries = [e for e in journal(**match) if predicate(e)]
        if entries:
            return entries
        time.sleep(0.3)
    raise AssertionError(f"no journal entry for {match}; {journal_diagnosis()}")


def journal_diagnosis():
    """What the journal looks like when an expected entry is missing, for the CI log."""
    tag = f"connwatch-e2e-probe-{os.getpid()}-{time.time_ns()}"
    subprocess.run(["systemd-cat", "-t", tag], input="probe", text=True)
    time.sleep(1)
    seen = bool(journal(SYSLOG_IDENTIFIER=tag))
    daemons = subprocess.run(["pgrep", "-a", "systemd-journal"], capture_output=True, text=True).stdout.strip()
    return (f"a probe entry {'was' if seen else 'was NOT'} read back; socket exists: "
            f"{os.path.exists('/run/systemd/journal/socket')}; journald: {daemons or 'none running'}")


def query(db, sql, *args):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()
