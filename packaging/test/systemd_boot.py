#!/usr/bin/env python3
"""connwatch as packaged, under a real systemd 252 (PID 1 of a Debian 12 container).

Debootstraps (or reuses a cached) Debian 12 root, boots it with systemd-nspawn, installs
the .deb with apt, points connwatchd at the simulated Microsoft cloud running on the host
(nspawn shares the host's network) and checks, on the installed unit unchanged (a drop-in
adds only the LoadCredential= lines an operator adds):

- the postinst's work: system user, state directory, catalog, unit known but not enabled;
- `systemctl enable --now` returns once READY=1 arrived: active (running), STATUS= shown;
- the sandbox is really in force on the running process (no capabilities, seccomp,
  NoNewPrivs, the connwatch user);
- secrets delivered three ways (LoadCredential= from a path, LoadCredential= from
  /etc/credstore, LoadCredentialEncrypted= made with systemd-creds) authenticate;
- alerts are structured journal entries (journalctl CONNWATCH_CONNECTOR=…) and
  journalctl -x renders the catalog text;
- `systemctl reload` returns only after the reload happened; a refused reload fails and
  the daemon keeps running;
- the control socket: connwatchctl status for a connwatch group member, a mutation refused
  to that member and everything refused to an outsider, a reload by an operator;
- a daemon that stops pinging the watchdog (SIGSTOP) is killed and restarted by systemd;
- `systemctl stop` ends it cleanly (exit 0, result success);
- systemd-analyze security on this very unit stays within the threshold;
- apt-get remove stops the daemon and keeps configuration and history, purge removes them.

Usage: systemd_boot.py --deb PATH --cache DIR
CONNWATCH_BIN_DIR: where connwatch-sim is; CONNWATCH_NSPAWN_ARGS: extra systemd-nspawn
arguments (e.g. --bind-ro=<swift runtime dir> to try a package of debug binaries).
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "e2e"))
import harness  # noqa: E402  (the simulator and the permission tables, shared with Tests/e2e)

UNIT = "connwatchd.service"
TENANT = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
EXPIRING = "81fdc26e26fd4bbe9d084cbaacfa4a19"      # MESSAGE_ID connector.secret.expiring
RELOAD_FAILED = "5c6ff3cb8a6649d38f6e390d24ec1852"  # MESSAGE_ID of a refused reload
BASE_PACKAGES = "systemd,dbus,libsystemd0,libsqlite3-0,ca-certificates"
T0 = time.monotonic()


def step(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def fail(msg):
    raise AssertionError(msg)


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, text=True, **kw)


# ---------------------------------------------------------------------------------------
# The root file system and the container

def mirror():
    if os.environ.get("CONNWATCH_DEBIAN_MIRROR"):
        return os.environ["CONNWATCH_DEBIAN_MIRROR"]
    src = Path("/etc/apt/sources.list.d/debian.sources")
    if src.exists():
        for line in src.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return "http://deb.debian.org/debian"


def base_root(cache: Path) -> Path:
    """A debootstrapped Debian 12 minbase with systemd, kept in the cache between runs."""
    root = cache / "bookworm-minbase"
    stamp = root / ".connwatch-debootstrap-complete"
    if stamp.exists() and stamp.read_text() == BASE_PACKAGES:
        step(f"reusing the cached root {root}")
        return root
    shutil.rmtree(root, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    step(f"debootstrap bookworm from {mirror()} into {root}")
    log = cache / "debootstrap.log"
    with open(log, "w") as out:
        r = subprocess.run(["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm",
                            str(root), mirror()], stdout=out, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.stderr.write(log.read_text()[-4000:])
        fail(f"debootstrap failed ({r.returncode})")
    stamp.write_text(BASE_PACKAGES)
    return root


class Container:
    def __init__(self, root: Path, log: Path):
        self.root = root
        self.log = log
        self.proc = None
        self.pid1 = None

    def boot(self):
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-D", str(self.root), "-b", "--register=no", "--keep-unit", "--console=passive"]
            + os.environ.get("CONNWATCH_NSPAWN_ARGS", "").split(),
            stdin=subprocess.DEVNULL, stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        # nspawn's child becomes the container's PID 1 (a short-lived helper may come first):
        # resolve it until systemctl answers inside.
        deadline = time.time() + 90
        state = ""
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail(f"systemd-nspawn exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
            if kids:
                self.pid1 = int(kids[0])
                state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
                if state in ("running", "degraded"):
                    break
            time.sleep(0.2)
        if state not in ("running", "degraded"):
            fail(f"the container did not finish booting: {state!r}\n{self.log.read_text()[-3000:]}")
        if state == "degraded":
            step("container degraded: " + self.run("systemctl", "--failed", "--no-legend", check=False).stdout.strip())

    def run(self, *cmd, check=True, user=None, input=None, timeout=120):
        """Runs a command inside the container (all its namespaces), optionally as a user."""
        argv = ["nsenter", "-t", str(self.pid1), "-a", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "DEBIAN_FRONTEND=noninteractive"]
        if user:
            argv += ["runuser", "-u", user, "--"]
        argv += [str(c) for c in cmd]
        r = subprocess.run(argv, capture_output=True, text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            fail(f"in the container: {' '.join(map(str, cmd))} -> {r.returncode}\n{r.stdout}{r.stderr}")
        return r

    def popen(self, *cmd):
        return subprocess.Popen(["nsenter", "-t", str(self.pid1), "-a", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                 "SYSTEMD_PAGER="] + [str(x) for x in cmd],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def show(self, prop):
        return self.run("systemctl", "show", "-P", prop, UNIT).stdout.strip()

    def poweroff(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if self.pid1:
                self.run("systemctl", "poweroff", check=False, timeout=30)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                # Killing the container's PID 1 ends its whole PID namespace; then nspawn.
                kids = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
                for pid in {int(k) for k in kids} | ({self.pid1} if self.pid1 else set()):
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
                self.proc.kill()
                self.proc.wait(30)
        # nspawn without a systemd host leaves empty cgroups behind.
        for d in ("/sys/fs/cgroup/systemd/payload", "/sys/fs/cgroup/unified/payload", "/sys/fs/cgroup/payload"):
            if os.path.isdir(d):
                subprocess.run(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"],
                               stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------
# The world: three connectors in the simulator, their secrets, connwatch's configuration

class World:
    def __init__(self):
        run = os.urandom(3).hex()
        self.names = {"a": f"file-{run}", "b": f"encrypted-{run}", "c": f"credstore-{run}"}
        self.kinds = {"a": "exchange", "b": "onedrive", "c": "onedrive"}
        self.secrets = {k: harness.new_secret() for k in self.names}
        # Connector a's secret expires in 10 days: a warning alert with a catalog entry.
        self.apps = {k: self.app(i + 1, k, end=harness.iso(10) if k == "a" else harness.iso(300))
                     for i, k in enumerate(self.names)}

    def app_id(self, n):
        return f"d0000000-0000-4000-8000-{n:012d}"

    def app(self, n, k, end):
        return {"app_id": self.app_id(n), "display_name": f"Zscaler {k}",
                "secrets": [{"display_name": "zscaler", "value": self.secrets[k], "start": harness.iso(-30),
                             "end": end}],
                "app_roles": harness.permissions(self.kinds[k])}

    def scenario(self):
        return {"tenants": [{"id": TENANT, "domains": ["contoso.onmicrosoft.com"], "display_name": "Contoso",
                             "subscriptions": [], "missing_resources": [], "apps": list(self.apps.values())}]}

    def connector(self, k):
        n = list(self.names).index(k) + 1
        return (f'\n[[connector]]\nname = "{self.names[k]}"\nkind = "{self.kinds[k]}"\n'
                f'tenant_id = "{TENANT}"\nclient_id = "{self.app_id(n)}"\n'
                f'client_secret_credential = "{self.names[k]}"\n')

    def main_config(self, base):
        return f'''# written by packaging/test/systemd_boot.py
[daemon]
check_interval = "1h"
concurrency = 4
ca_file = "/etc/connwatch/sim-ca.pem"
operators = ["carol"]

[cloud]
login_endpoint = "{base}/login"
graph_endpoint = "{base}/graph"
management_endpoint = "{base}/arm"
office_management_endpoint = "{base}/office"
sharepoint_endpoint = "{base}/sharepoint"
''' + self.connector("a") + self.connector("b")


# ---------------------------------------------------------------------------------------

class DB:
    def __init__(self, path: Path):
        self.path = path

    def q(self, sql, *args):
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def events(self, kind):
        return self.q("SELECT count(*) FROM daemon_event WHERE kind = ?", kind)[0][0]

    def wait_results(self, connector, timeout=60):
        deadline = time.time() + timeout
        rows = []
        while time.time() < deadline:
            if self.path.exists():
                rows = self.q("SELECT check_kind, status, reason FROM latest_result WHERE connector = ?", connector)
                if rows and any(r[0] == "credential" for r in rows) and len(rows) >= 3:
                    return {r[0]: (r[1], r[2]) for r in rows}
            time.sleep(0.3)
        fail(f"no check results for {connector} within {timeout}s: {rows}")


def journal_json(c, *match):
    out = c.run("journalctl", "-o", "json", "--no-pager", *match, check=False).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wait_for(what, predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.3)
    fail(f"timed out after {timeout}s waiting for {what}")


def security_score(text):
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", text)
    if not m:
        fail(f"no exposure level in:\n{text[-2000:]}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deb", required=True, type=Path)
    ap.add_argument("--cache", required=True, type=Path, help="where the debootstrapped root is kept")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    deb = args.deb.resolve()
    packaged_unit = REPO / "packaging" / "systemd" / UNIT

    work = Path(tempfile.mkdtemp(prefix="connwatch-boot-"))
    root = work / "root"
    base = base_root(args.cache.resolve())
    # The cached root stays pristine: the container writes to an overlay (or a copy).
    for d in ("upper", "overlay-work", "root"):
        (work / d).mkdir()
    overlay = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                              f"lowerdir={base},upperdir={work / 'upper'},workdir={work / 'overlay-work'}", str(root)],
                             capture_output=True, text=True).returncode == 0
    if overlay:
        step(f"root: overlay on {base}")
    else:
        step(f"overlayfs unavailable: copying {base}")
        root.rmdir()
        sh("cp", "-a", "--reflink=auto", base, root)

    w = World()
    sim = harness.Simulator(work, w.scenario())
    step(f"simulator on the host: {sim.base}")
    c = Container(root, work / "nspawn.log")
    ok = False
    try:
        c.boot()
        step("container booted: " + c.run("systemctl", "--version").stdout.splitlines()[0])

        # --- install the package as an operator would ----------------------------------
        shutil.copy(deb, root / "root" / deb.name)
        t = time.monotonic()
        c.run("apt-get", "install", "-y", "--no-install-recommends", f"/root/{deb.name}", timeout=300)
        step(f"apt-get install ./{deb.name}: {time.monotonic() - t:.1f}s")
        pw = c.run("getent", "passwd", "connwatch").stdout.strip().split(":")
        uid, gid = int(pw[2]), int(pw[3])
        if pw[5] != "/var/lib/connwatch" or not pw[6].endswith("nologin") or uid >= 1000:
            fail(f"unexpected connwatch account: {pw}")
        st = (root / "var/lib/connwatch").stat()
        if (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (uid, gid, 0o750):
            fail(f"/var/lib/connwatch: {st.st_uid}:{st.st_gid} {oct(st.st_mode)}")
        st = (root / "etc/connwatch/connwatch.toml").stat()
        if (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (0, gid, 0o640):
            fail(f"/etc/connwatch/connwatch.toml: {st.st_uid}:{st.st_gid} {oct(st.st_mode)}, expected 0:{gid} 0o640")
        if EXPIRING not in c.run("journalctl", "--list-catalog").stdout:
            fail("the catalog was not compiled by the postinst")
        if c.run("systemctl", "is-enabled", UNIT, check=False).stdout.strip() != "disabled":
            fail("a fresh install must not enable the service")
        installed_unit = root / "usr/lib/systemd/system" / UNIT
        if installed_unit.read_bytes() != packaged_unit.read_bytes():
            fail("the installed unit differs from packaging/systemd/connwatchd.service")
        step(f"postinst: user connwatch ({uid}), /var/lib/connwatch 0750, connwatch.toml 0640 root:connwatch, "
             "catalog, unit disabled")

        # --- secrets: three ways an operator delivers them -------------------------------
        secrets_dir = root / "etc/connwatch/secrets"
        secrets_dir.mkdir(mode=0o700)
        (secrets_dir / w.names["a"]).write_text(w.secrets["a"] + "\n")
        os.chmod(secrets_dir / w.names["a"], 0o600)
        c.run("mkdir", "-m", "0700", "-p", "/etc/credstore", "/etc/credstore.encrypted")
        (root / "etc/credstore" / w.names["c"]).write_text(w.secrets["c"])
        os.chmod(root / "etc/credstore" / w.names["c"], 0o600)
        c.run("systemd-creds", "setup")
        c.run("systemd-creds", "encrypt", f"--name={w.names['b']}", "-", f"/etc/credstore.encrypted/{w.names['b']}",
              input=w.secrets["b"])
        if w.secrets["b"].encode() in (root / "etc/credstore.encrypted" / w.names["b"]).read_bytes():
            fail("systemd-creds left the secret in plain text")
        dropin = root / "etc/systemd/system/connwatchd.service.d/credentials.conf"
        dropin.parent.mkdir(parents=True)
        dropin.write_text(f"""[Service]
LoadCredential={w.names['a']}:/etc/connwatch/secrets/{w.names['a']}
LoadCredentialEncrypted={w.names['b']}
LoadCredential={w.names['c']}
""")
        shutil.copy(sim.ca, root / "etc/connwatch/sim-ca.pem")
        os.chmod(root / "etc/connwatch/sim-ca.pem", 0o644)
        (root / "etc/connwatch/connwatch.toml").write_text(w.main_config(sim.base))

        # Users: alice and carol in the connwatch group (carol an operator), bob outside it.
        (root / "etc/sysusers.d").mkdir(exist_ok=True)
        (root / "etc/sysusers.d/connwatch-test.conf").write_text(
            'u alice - "connwatch group member" / /usr/sbin/nologin\nm alice connwatch\n'
            'u carol - "connwatch operator" / /usr/sbin/nologin\nm carol connwatch\n'
            'u bob - "not in the connwatch group" / /usr/sbin/nologin\n')
        c.run("systemd-sysusers", "/etc/sysusers.d/connwatch-test.conf")

        # --- start: READY=1 under the full hardened unit ----------------------------------
        c.run("systemctl", "daemon-reload")
        t = time.monotonic()
        c.run("systemctl", "enable", "--now", UNIT)
        step(f"systemctl enable --now: {time.monotonic() - t:.1f}s")
        status = c.run("systemctl", "status", "--no-pager", UNIT, check=False).stdout
        if "active (running)" not in status:
            fail(f"not active (running):\n{status}")
        wait_for("a STATUS= line", lambda: "connectors" in c.show("StatusText"), 15)
        step("active (running); Status: " + c.show("StatusText"))

        pid = c.show("MainPID")
        proc = c.run("cat", f"/proc/{pid}/status").stdout
        fields = dict(line.split(":", 1) for line in proc.splitlines() if ":" in line)
        expect = {"NoNewPrivs": "1", "Seccomp": "2", "CapEff": "0000000000000000", "CapBnd": "0000000000000000"}
        for k, v in expect.items():
            if fields.get(k, "").strip() != v:
                fail(f"/proc/{pid}/status {k}: {fields.get(k)!r}, expected {v}")
        if fields["Uid"].split()[0] != str(uid):
            fail(f"connwatchd runs as uid {fields['Uid']}, not connwatch ({uid})")
        # No core file (LimitCORE=0), and not dumpable (prctl at start): the kernel then gives
        # its /proc/PID files to root although it runs as connwatch.
        limits = c.run("cat", f"/proc/{pid}/limits").stdout
        core = next((line.split()[4:6] for line in limits.splitlines() if line.startswith("Max core file size")), None)
        if core != ["0", "0"]:
            fail(f"/proc/{pid}/limits: Max core file size {core}, expected 0 0 (LimitCORE=0)")
        owner = c.run("stat", "-c", "%u", f"/proc/{pid}/status").stdout.strip()
        if owner != "0":
            fail(f"/proc/{pid}/status is owned by {owner}: connwatchd is dumpable")
        # Its mount namespace: the system read-only (even for root), the state directory not.
        r = c.run("nsenter", "-t", pid, "-m", "sh", "-c", "touch /usr/connwatch-probe", check=False)
        if r.returncode == 0 or "Read-only file system" not in r.stderr:
            fail(f"ProtectSystem=strict not in force: {r.returncode} {r.stderr}")
        c.run("nsenter", "-t", pid, "-m", "sh", "-c", "touch /var/lib/connwatch/probe && rm /var/lib/connwatch/probe")
        step("sandbox in force: NoNewPrivs, seccomp filter, no capabilities, uid connwatch, no core, not dumpable, "
             "read-only /usr, writable state directory")

        # --- the credentials were used ---------------------------------------------------
        db = DB(root / "var/lib/connwatch/connwatch.sqlite")
        for k in ("a", "b"):
            res = db.wait_results(w.names[k])
            if res["credential"] != ("ok", "ok"):
                fail(f"{w.names[k]}: credential check {res['credential']}; the delivered secret was not accepted")
        step("LoadCredential= (path) and LoadCredentialEncrypted= secrets authenticate against the simulator")

        # --- the journal: structured entries and the catalog --------------------------------
        name_a = w.names["a"]
        entries = wait_for("the expiring-secret alert",
                           lambda: journal_json(c, f"CONNWATCH_CONNECTOR={name_a}", f"MESSAGE_ID={EXPIRING}"), 30)
        e = entries[0]
        if (e.get("_SYSTEMD_UNIT"), e.get("CONNWATCH_REASON"), e.get("SYSLOG_IDENTIFIER")) != (
                UNIT, "secret_expiring", "connwatchd"):
            fail(f"unexpected alert entry: {e}")
        x = c.run("journalctl", "-x", "--no-pager", f"CONNWATCH_CONNECTOR={name_a}", f"MESSAGE_ID={EXPIRING}").stdout
        if f"Subject: Connector {name_a}: client secret expires in" not in x:
            fail(f"journalctl -x shows no catalog text:\n{x}")
        logs = c.run("journalctl", "--no-pager", "-o", "cat", "-u", UNIT).stdout
        if "connwatchd 0.1.0 starting with 2 connectors" not in logs and "starting with 2 connectors" not in logs:
            fail(f"connwatchd's own log is not in the journal:\n{logs[-2000:]}")
        step("journal: CONNWATCH_* fields on the alert, catalog text with journalctl -x")

        # --- reload: synchronous, and refused when the configuration is bad ----------------
        # The daemon is frozen while `systemctl reload` runs: a reload that does not wait
        # for the daemon (a bare kill -HUP) returns at once; ours must wait for the thaw.
        before = db.events("reload")
        (root / "etc/connwatch/connectors.d/30-credstore.toml").write_text(w.connector("c"))
        c.run("sh", "-c", f"kill -STOP {pid}")
        t = time.monotonic()
        reload = c.popen("systemctl", "reload", UNIT)
        time.sleep(2)
        if reload.poll() is not None:
            c.run("sh", "-c", f"kill -CONT {pid}")
            fail(f"systemctl reload returned ({reload.returncode}) while the daemon could not reload")
        if db.events("reload") != before:
            fail("a frozen daemon reloaded?")
        c.run("sh", "-c", f"kill -CONT {pid}")
        rc = reload.wait(60)
        took = time.monotonic() - t
        after = db.events("reload")
        if rc != 0:
            fail(f"systemctl reload failed: {rc}")
        if after != before + 1:
            fail(f"systemctl reload returned before the daemon reloaded: reload events {before} -> {after}")
        if c.show("MainPID") != pid or c.show("SubState") != "running":
            fail("the daemon did not stay up through the reload")
        res = db.wait_results(w.names["c"])
        if res["credential"] != ("ok", "ok"):
            fail(f"{w.names['c']}: credential {res['credential']} (LoadCredential= from /etc/credstore)")
        step(f"systemctl reload waited for the (frozen for 2s) daemon: returned after {took:.1f}s with the "
             "reload done; the new connector authenticates with its /etc/credstore credential")

        bad = root / "etc/connwatch/connectors.d/40-broken.toml"
        bad.write_text('[[connector]]\nname = "Broken Name"\n')
        failed_before = db.events("reload_failed")
        r = c.run("systemctl", "reload", UNIT, check=False)
        if r.returncode == 0:
            fail("systemctl reload of a broken configuration succeeded")
        if db.events("reload_failed") != failed_before + 1:
            fail("the refused reload is not recorded")
        if c.show("MainPID") != pid or c.show("ActiveState") != "active":
            fail("a refused reload took the daemon down")
        if not journal_json(c, f"MESSAGE_ID={RELOAD_FAILED}", f"_SYSTEMD_UNIT={UNIT}"):
            fail("no reload-refused entry in the journal")
        bad.unlink()
        c.run("systemctl", "reload", UNIT)
        step("a refused reload fails systemctl reload, keeps the daemon and the old configuration running")

        # --- the control socket: group members read, operators change, others are refused --
        st = c.run("stat", "-c", "%a %U %G", "/run/connwatch", "/run/connwatch/connwatch.sock").stdout.split("\n")
        if st[:2] != ["750 connwatch connwatch", "660 connwatch connwatch"]:
            fail(f"/run/connwatch and its socket: {st}")

        def ctl(user, *args):
            return c.run("connwatchctl", *args, user=user, check=False)

        r = ctl("alice", "status", "--json")
        if r.returncode != 0:
            fail(f"connwatchctl status as a connwatch group member: {r.returncode}\n{r.stdout}{r.stderr}")
        listed = {x["name"] for x in json.loads(r.stdout)["connectors"]}
        if listed != set(w.names.values()):
            fail(f"connwatchctl status lists {listed}, expected {set(w.names.values())}")
        r = ctl("alice", "reload")
        if r.returncode != 77:
            fail(f"a group member's reload: exit {r.returncode}, expected 77\n{r.stdout}{r.stderr}")
        r = ctl("bob", "status")
        if r.returncode != 77:
            fail(f"connwatchctl status outside the group: exit {r.returncode}, expected 77\n{r.stdout}{r.stderr}")
        before = db.events("reload")
        r = ctl("carol", "reload")
        if r.returncode != 0 or db.events("reload") != before + 1:
            fail(f"the operator's reload: exit {r.returncode}\n{r.stdout}{r.stderr}")
        step("control socket 0660 connwatch in /run/connwatch 0750: a group member reads (status), cannot "
             "reload (77); an outsider gets 77; the operator (operators = [\"carol\"]) reloads")

        # --- the watchdog: a process that stops pinging is killed and restarted ----------
        restarts = int(c.show("NRestarts"))
        m = re.fullmatch(r"(\d+)s", c.show("WatchdogUSec"))
        if not m:
            fail(f"WatchdogSec is not set in whole seconds: {c.show('WatchdogUSec')!r}")
        watchdog_s = int(m.group(1))
        c.run("sh", "-c", f"kill -STOP {pid}")  # minbase has no /bin/kill
        t = time.monotonic()
        wait_for("a restart by the watchdog",
                 lambda: c.show("MainPID") not in ("0", pid) and c.show("SubState") == "running"
                 and int(c.show("NRestarts")) == restarts + 1, 120)
        took = time.monotonic() - t
        syslog = c.run("journalctl", "--no-pager", "-o", "cat", "_PID=1", f"UNIT={UNIT}").stdout
        if "Watchdog timeout" not in syslog:
            fail(f"the restart was not the watchdog's:\n{syslog[-2000:]}")
        if took < watchdog_s - 1:
            fail(f"restarted after {took:.1f}s, sooner than the watchdog could fire")
        pid = c.show("MainPID")
        r = c.run("connwatchctl", "status", user="alice", check=False)
        if r.returncode != 0:
            fail(f"connwatchctl status after the restart: {r.returncode}\n{r.stderr}")
        step(f"watchdog: SIGSTOP -> killed and restarted after {took:.1f}s (WatchdogSec {watchdog_s}s); "
             "the control socket answers again")

        # --- stop -----------------------------------------------------------------------
        stops = db.events("stop")
        t = time.monotonic()
        c.run("systemctl", "stop", UNIT)
        took = time.monotonic() - t
        state = (c.show("ActiveState"), c.show("Result"), c.show("ExecMainStatus"))
        if state != ("inactive", "success", "0"):
            fail(f"unclean stop: ActiveState, Result, ExecMainStatus = {state}")
        if db.events("stop") != stops + 1:
            fail("the daemon did not record its stop")
        step(f"systemctl stop: {took:.1f}s, exit 0, result success")

        # --- the exposure score of this very unit ------------------------------------------
        online = c.run("systemd-analyze", "security", "--no-pager", UNIT, check=False)
        score_online = security_score(online.stdout + online.stderr)
        offline = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=15",
                                  str(installed_unit)], capture_output=True, text=True)
        score = security_score(offline.stdout + offline.stderr)
        if offline.returncode != 0 or score > 1.5 or score_online > 1.5:
            fail(f"exposure {score} offline (rc {offline.returncode}), {score_online} in the container")
        step(f"systemd-analyze security: {score} offline, {score_online} on the loaded unit in the container")

        # --- apt-get remove stops the daemon, keeps configuration and history --------
        c.run("systemctl", "start", UNIT)
        c.run("apt-get", "remove", "-y", "connwatch")
        if c.run("systemctl", "is-active", UNIT, check=False).stdout.strip() not in ("inactive", "unknown"):
            fail("apt-get remove left connwatchd running")
        gone = [p for p in ("usr/bin/connwatchd", "usr/lib/systemd/system/" + UNIT) if (root / p).exists()]
        kept = [p for p in ("etc/connwatch/connwatch.toml", "var/lib/connwatch/connwatch.sqlite") if (root / p).exists()]
        if gone or len(kept) != 2:
            fail(f"apt-get remove: still there {gone}, kept {kept}")
        c.run("apt-get", "purge", "-y", "connwatch")
        if (root / "var/lib/connwatch").exists() or (root / "etc/connwatch/connwatch.toml").exists():
            fail("apt-get purge left the history or the configuration")
        step("apt-get remove stops the daemon, keeps configuration and history; purge removes them")

        ok = True
    finally:
        if not ok:
            try:
                print("--- journal of the container (last 80 lines) ---", file=sys.stderr)
                print(c.run("journalctl", "--no-pager", "-n", "80", check=False).stdout, file=sys.stderr)
            except Exception as e:  # the container may be gone
                print(f"(no journal: {e})", file=sys.stderr)
        c.poweroff()
        sim.stop()
        if overlay:
            subprocess.run(["umount", str(root)])
            if not ok:
                print(f"the container's changes (its journal: journalctl -D {work}/upper/var/log/journal) "
                      f"are in {work}/upper", file=sys.stderr)
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work directory kept: {work}", file=sys.stderr)
    step("passed")


if __name__ == "__main__":
    main()
