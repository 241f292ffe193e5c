"""A reply that cannot be understood is never a verdict (SPEC §3, §9): the three replies that
used to page on their first occurrence — a malformed Graph body, a malformed token-endpoint
body, an ARM reply over the body cap — now count as transient failures: the healthy
verdict stays through the first ones, `unknown` `bad_response` comes only at
`failure_threshold`, never `warning` or `critical`, and clearing the fault restores `ok`.
Real binaries (`connwatchd --once`, state kept in the SQLite file between runs) against the
simulator's fault injection."""
import json
import subprocess

import pytest

from harness import BIN, Simulator
from test_daemon import World

FAULTS = [
    ("graph malformed", {"service": "graph", "mode": "malformed"}),
    ("token endpoint malformed", {"service": "login", "mode": "malformed"}),
    ("arm oversized", {"service": "arm", "mode": "oversized", "size_mb": 12}),
    ("graph wrong types", {"service": "graph", "mode": "wrong_types"}),
]


def once(w):
    r = subprocess.run([BIN / "connwatchd", "--once", "--json", "--config", w.config, "--credentials-dir", w.creds],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode in (0, 3), r.stdout[-2000:] + r.stderr[-2000:]
    return {c["name"]: c for c in json.loads(r.stdout)["connectors"]}


@pytest.mark.parametrize("label,fault", FAULTS, ids=[f[0] for f in FAULTS])
def test_a_reply_that_cannot_be_understood_is_never_a_verdict(tmp_path, label, fault):
    w = World(tmp_path)
    sim = Simulator(tmp_path, w.scenario())
    try:
        w.write_config(sim.base, sim.ca, include=("od", "blob"), extra="")
        text = w.config.read_text().replace('check_interval = "10s"', 'check_interval = "10s"\nfailure_threshold = 3')
        w.config.write_text(text)
        first = once(w)
        assert {n: c["status"] for n, c in first.items()} == {w.names["od"]: "ok", w.names["blob"]: "ok"}, first

        sim.put_faults([fault])
        seen = []
        for run in range(1, 4):
            now = once(w)
            seen.append({n: (c["status"], c["reason"]) for n, c in now.items()})
            for name, c in now.items():
                assert c["status"] not in ("warning", "critical"), (label, run, name, c["reason"], c["summary"])
                for check in c["checks"]:
                    assert check["status"] not in ("warning", "critical"), (label, run, name, check)
            if run < 3:
                # Below the threshold the last verdict stays.
                assert all(c["status"] == "ok" for c in now.values()), (label, run, seen)
        # At the threshold the affected connectors are unknown, for a reason that says so.
        assert any(s == "unknown" for s, _ in seen[-1].values()), (label, seen)
        assert all(r in ("ok", "bad_response", "unreachable") for _, r in seen[-1].values()), (label, seen)

        sim.put_faults([])
        again = once(w)
        assert {n: c["status"] for n, c in again.items()} == {w.names["od"]: "ok", w.names["blob"]: "ok"}, again
    finally:
        sim.stop()
