"""The demo as a user runs it (`DEMO_ONCE=1 ./scripts/demo.sh`): the status table, the alert
mails caught by the local SMTP catcher (owners included), the report page and a digest sent on
request — each where the demo says it is."""
import email
import email.policy
import os
import pathlib
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_demo_mails_report_and_digest(tmp_path):
    out = tmp_path / "demo-out"
    env = dict(os.environ, DEMO_ONCE="1", DEMO_OUT=str(out))
    r = subprocess.run(["./scripts/demo.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    said = r.stdout
    assert f"mails are kept in {out}/mail/" in said, said
    assert f"The report: {out}/report.html" in said, said
    mails = {}
    for f in sorted((out / "mail").glob("*.eml")):
        mails[f.name] = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
    alerts = {n: m for n, m in mails.items() if not m["X-Connwatch-Digest"]}
    assert len(alerts) >= 10, list(mails)
    assert f"The first cycle's alert mails: " in said
    for m in alerts.values():
        assert m.get_content_type() == "multipart/alternative" and m["Message-ID"], m
    # owners = true: the expired Fabrikam secret's mail also went to its app's owner (read by
    # the observer), the service-principal owner skipped.
    fab = [m for m in alerts.values() if "fabrikam-exchange" in m["Subject"] and "expired" in m["Subject"]]
    assert fab and "femi@fabrikam.example" in fab[0]["X-Envelope-To"], [m["Subject"] for m in alerts.values()]
    # The digest sent on request, named by the demo, is the report.
    [manual] = [n for n, m in mails.items() if m["X-Connwatch-Digest"] == "manual"]
    assert f"{out}/mail/{manual}" in said, said
    digest = mails[manual]
    assert digest["Subject"].startswith("[connwatch] Daily digest: 10 connectors"), digest["Subject"]
    assert "<svg" in digest.get_body(("html",)).get_content()
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count('class="credential"') >= 8, page[:200]
