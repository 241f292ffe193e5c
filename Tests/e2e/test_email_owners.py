"""`owners = true` end to end (SPEC §5 E-mail, issue 20 point 5): the real connwatchd against
the simulator, mailing through a real SMTP server (aiosmtpd on loopback, STARTTLS, AUTH).

One `[[email]]` sink (`to = SecOps <secops@example.com>`, `owners = true`,
`min_severity = "critical"`) and three connectors whose client secret expires in three days (one of them lacks a permission instead):
- own: an exchange connector holding its own secret (in a tenant without an observer); its
  app has Directory.Read.All (Zscaler's exchange, onedrive, sharepoint and teams apps do),
  which reads apps and users, so its owners are read with its own token. Four owners over two pages of the
  simulator's three: ana@ (mailed), gone@ (the SMTP server refuses it with 550: only that
  recipient is dropped), a user without a mailbox, a service principal. Its firing mail and
  its resolution go to secops@ and ana@; the resolution threads under the firing mail.
- seen: observed by a `[[tenant]]` observer (no secret held): its owners are read by the
  observer; one of them is secops@ again in other case (mailed once).
- locked: observed, its owners read refused (`owners_forbidden`): mail to secops@ only,
  and the delivery says the observer may not read owners.
- both: a mip connector holding its own secret in the observer's tenant; its app may not
  read apps (no Directory or Application permission), so the observer reads its owners (SPEC §5: "read by the observer, or by the connector's
  token when it may").
Each delivery records `to` and owners apart, as `connwatchctl deliveries --json` shows."""
import json
import os
import subprocess
import time

from harness import BIN, GRAPH, Daemon, NotifySocket, Simulator, iso, new_secret, permissions, query
from mailsink import MailSink, email_sink_toml
from test_observer import observer_certificate
from test_webhooks import ca_bundle, deliveries, wait_for

PASSWORD = "Sm7p-own-" + os.urandom(6).hex()
OBSERVED_TENANT = "4c1d7e2a-9b3f-4a58-8e6d-2f7a9c1b5e03"
OWN_TENANT = "7e2b9d4f-1a6c-4e83-b5d0-9c3f2a8e6b14"
OBSERVER = "0b5e0000-0000-4000-8000-0000000a11e1"
OWN, SEEN, LOCKED, BOTH = (f"a11e0000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3, 4))
DENIED = "the observer may not read owners (needs Application.Read.All; User.ReadBasic.All for their addresses)"


def test_alert_mail_reaches_the_app_owners(tmp_path):
    run = os.urandom(3).hex()
    creds = tmp_path / "credentials"
    creds.mkdir()
    cert, pem = observer_certificate(tmp_path)
    own_secret, both_secret = new_secret(), new_secret()

    def app(app_id, name, roles, owners, secret, **extra):
        return {"app_id": app_id, "display_name": name, "app_roles": roles, "owners": owners,
                "secrets": [{"display_name": "zscaler", "value": secret, "start": iso(-300), "end": iso(3)}],
                **extra}

    own = app(OWN, "Zscaler exchange", permissions("exchange"), [
        {"display_name": "Ana Admin", "mail": "ana@contoso.com", "upn": "ana@contoso.com"},
        {"display_name": "Gone Person", "mail": "gone@contoso.com", "upn": "gone@contoso.com"},
        {"display_name": "No Mailbox", "upn": "nomail@contoso.com"},
        {"display_name": "deploy pipeline", "type": "service_principal"},
    ], own_secret)
    seen = app(SEEN, "Zscaler onedrive", permissions("onedrive"), [
        {"display_name": "Bea Owner", "mail": "bea@contoso.com", "upn": "bea@contoso.com"},
        {"display_name": "SecOps", "mail": "SECOPS@example.com", "upn": "secops@example.com"},
    ], new_secret())
    locked = app(LOCKED, "Zscaler teams", permissions("teams"), [
        {"display_name": "Cid Hidden", "mail": "cid@contoso.com", "upn": "cid@contoso.com"},
    ], new_secret(), owners_forbidden=True)
    # Its app cannot read its own secrets' expiry: its alert is a missing permission instead.
    mip_roles = permissions("mip")
    mip_roles[GRAPH] = []
    both = app(BOTH, "Zscaler mip", mip_roles, [
        {"display_name": "Dee Owner", "mail": "dee@contoso.com", "upn": "dee@contoso.com"},
    ], both_secret)
    both["secrets"][0]["end"] = iso(300)
    observer = {"app_id": OBSERVER, "display_name": "connwatch monitor", "sign_ins": "none",
                "certificates": [{"display_name": "monitor", "pem": cert, "start": iso(-1), "end": iso(300)}],
                "app_roles": {GRAPH: ["Application.Read.All", "Directory.Read.All", "AuditLog.Read.All"]}}

    def scenario():
        return {"tenants": [
            {"id": OBSERVED_TENANT, "domains": ["contoso-obs.onmicrosoft.com"], "display_name": "Contoso",
             "premium": True, "subscriptions": [], "apps": [observer, seen, locked, both]},
            {"id": OWN_TENANT, "domains": ["contoso-own.onmicrosoft.com"], "display_name": "Contoso own",
             "subscriptions": [], "apps": [own]}]}

    sim = Simulator(tmp_path, scenario())
    smtp = MailSink(tmp_path, PASSWORD, refuse={"gone@contoso.com"})
    for name, value in (("smtp-pass", PASSWORD), (f"own-{run}", own_secret), (f"both-{run}", both_secret)):
        (creds / name).write_text(value + "\n")
        (creds / name).chmod(0o600)
    db, sock = tmp_path / "connwatch.sqlite", tmp_path / "connwatch.sock"
    names = {OWN: f"own-{run}", SEEN: f"seen-{run}", LOCKED: f"locked-{run}", BOTH: f"both-{run}"}
    config = tmp_path / "connwatch.toml"
    config.write_text(f'''
[daemon]
check_interval = "1h"
concurrency = 4
database = "{db}"
socket = "{sock}"
ca_file = "{ca_bundle(tmp_path, sim.ca, smtp.ca)}"

[cloud]
login_endpoint = "{sim.base}/login"
graph_endpoint = "{sim.base}/graph"
management_endpoint = "{sim.base}/arm"
office_management_endpoint = "{sim.base}/office"

[[tenant]]
tenant_id = "{OBSERVED_TENANT}"
client_id = "{OBSERVER}"
certificate_file = "{pem}"

[[connector]]
name = "{names[OWN]}"
kind = "exchange"
tenant_id = "{OWN_TENANT}"
client_id = "{OWN}"
client_secret_credential = "{names[OWN]}"

[[connector]]
name = "{names[SEEN]}"
kind = "onedrive"
tenant_id = "{OBSERVED_TENANT}"
client_id = "{SEEN}"

[[connector]]
name = "{names[LOCKED]}"
kind = "teams"
tenant_id = "{OBSERVED_TENANT}"
client_id = "{LOCKED}"

[[connector]]
name = "{names[BOTH]}"
kind = "mip"
tenant_id = "{OBSERVED_TENANT}"
client_id = "{BOTH}"
client_secret_credential = "{names[BOTH]}"
''' + email_sink_toml(f"sec-{run}", smtp.url, "smtp-pass", ["SecOps <secops@example.com>"],
                      'owners = true\nmin_severity = "critical"\n'))

    def ctl(*args):
        return subprocess.run([str(BIN / "connwatchctl"), "--socket", str(sock), *args], capture_output=True, text=True,
                              timeout=120)

    def mails(app_id):
        return [m for m in smtp.received() if m["msg"]["X-Connwatch-Connector"] == names[app_id]]

    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(tmp_path, config, creds, notify)
    try:
        notify.wait_for(lambda m: "READY=1" in m, timeout=90)
        firing = {a: wait_for(lambda a=a: mails(a), 60, f"the alert mail about {names[a]}")
                  for a in (OWN, SEEN, LOCKED, BOTH)}
        assert all(len(firing[a]) == 1 for a in (OWN, SEEN, LOCKED)), firing

        # (a)+(d) own secret: owners read with the connector's token; gone@ refused with 550,
        # the others still get it; RCPT order is `to` first.
        m = firing[OWN][0]
        assert m["rcpts"] == ("secops@example.com", "ana@contoso.com"), m["rcpts"]
        assert m["msg"]["Subject"].startswith("[connwatch] CRITICAL"), m["msg"]["Subject"]
        to_header = str(m["msg"]["To"])
        assert "secops@example.com" in to_header and "Ana Admin <ana@contoso.com>" in to_header, to_header
        # (b) observed: read by the observer (the connector's secret is nowhere); secops@ once.
        assert firing[SEEN][0]["rcpts"] == ("secops@example.com", "bea@contoso.com"), firing[SEEN][0]["rcpts"]
        # (c) unreadable owners: `to` only.
        assert firing[LOCKED][0]["rcpts"] == ("secops@example.com",), firing[LOCKED][0]["rcpts"]
        # Its own token may not read owners: the observer did (every alert of it, if several).
        assert all(x["rcpts"] == ("secops@example.com", "dee@contoso.com") for x in firing[BOTH]), firing[BOTH]

        done = wait_for(
            lambda: (lambda ds: {d["connector"] for d in ds} == set(names.values())
                     and all(d["status"] == "delivered" for d in ds) and ds)(deliveries(db)),
            60, "every e-mail delivery delivered")
        rows = {d["connector"]: d for d in done}
        assert all(d["error"].startswith("recipients: secops@example.com (to), dee@contoso.com (owner) — delivered")
                   for d in done if d["connector"] == names[BOTH]), done
        e = rows[names[OWN]]["error"]
        assert e.startswith("recipients: secops@example.com (to), ana@contoso.com (owner), "
                            "gone@contoso.com (owner); owners: 1 of 4 has no mail address, 1 of 4 is not a user"), e
        assert "delivered to secops@example.com, ana@contoso.com" in e and "refused: gone@contoso.com (550" in e, e
        e = rows[names[SEEN]]["error"]
        assert e.startswith("recipients: secops@example.com (to), bea@contoso.com (owner) — delivered"), e
        e = rows[names[LOCKED]]["error"]
        assert e == f"recipients: secops@example.com (to); {DENIED} — delivered to secops@example.com", e

        listing = ctl("deliveries", "--json")
        assert listing.returncode == 0, listing.stderr
        shown = {d["connector"]: d for d in json.loads(listing.stdout)["deliveries"]}
        assert DENIED in shown[names[LOCKED]]["last_error"], shown[names[LOCKED]]
        assert "ana@contoso.com (owner)" in shown[names[OWN]]["last_error"], shown[names[OWN]]

        # The secret is renewed: the resolution goes to the same people, in the thread.
        own["secrets"][0]["end"] = iso(300)
        sim.put_scenario(scenario())
        check = ctl("check", names[OWN])
        assert check.returncode in (0, 1, 2), check.stdout + check.stderr
        both = wait_for(lambda: len(mails(OWN)) == 2 and mails(OWN), 60, "the resolution mail")
        res = both[1]
        assert res["rcpts"] == ("secops@example.com", "ana@contoso.com"), res["rcpts"]
        assert res["msg"]["Subject"].startswith("[connwatch] RESOLVED"), res["msg"]["Subject"]
        assert res["msg"]["In-Reply-To"] == m["mid"], (res["msg"]["In-Reply-To"], m["mid"])
    finally:
        daemon.signal(15)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.proc.kill()
        notify.close()
        sim.stop()
        smtp.stop()

    # Neither secret reached the database or the daemon's output.
    for path in tmp_path.iterdir():
        if path.is_file() and path.suffix in (".sqlite", ".log", ".out", ".err", ".sqlite-wal"):
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and own_secret.encode() not in data, path
            assert both_secret.encode() not in data, path

