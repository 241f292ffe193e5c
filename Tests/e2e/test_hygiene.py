"""Process hygiene of connwatchd, which holds every watched tenant's secrets: what it creates
is private whatever umask it was started with (a cron `--once` gets no systemd UMask=), and
the running process is not dumpable (no core file, no ptrace or /proc/PID/mem for the
user's other processes; the kernel then gives its /proc/PID files to root)."""
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from harness import BIN, Simulator, iso, new_secret, permissions

TENANT = "5f1b6c0e-8a3d-4f4e-9c2a-1d7e3b9a6c41"
APP = "e0000000-0000-4000-8000-000000000001"
NOBODY = 65534


def scenario(secret):
    return {"tenants": [{
        "id": TENANT, "domains": ["contoso.onmicrosoft.com"], "display_name": "Contoso", "subscriptions": [],
        "apps": [{"app_id": APP, "display_name": "ex",
                  "secrets": [{"value": secret, "start": iso(-1), "end": iso(100)}],
                  "app_roles": permissions("exchange")}],
    }]}


def write_config(path, db, sim=None):
    cloud = connector = ""
    if sim is not None:
        cloud = f'''
[cloud]
login_endpoint = "{sim.base}/login"
graph_endpoint = "{sim.base}/graph"
management_endpoint = "{sim.base}/arm"
office_management_endpoint = "{sim.base}/office"
'''
        connector = f'''
[[connector]]
name = "ex"
kind = "exchange"
tenant_id = "{TENANT}"
client_id = "{APP}"
client_secret_credential = "ex"
'''
    ca = f'ca_file = "{sim.ca}"' if sim is not None else ""
    path.write_text(f'[daemon]\ndatabase = "{db}"\n{ca}\n{cloud}{connector}')


def umask_022():
    os.umask(0o022)


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_once_run_with_umask_022_creates_a_private_database(tmp_path):
    secret = new_secret()
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "ex").write_text(secret)
    (creds / "ex").chmod(0o600)
    sim = Simulator(tmp_path, scenario(secret))
    try:
        db = tmp_path / "fresh" / "connwatch.sqlite"
        db.parent.mkdir()
        cfg = tmp_path / "connwatch.toml"
        write_config(cfg, db, sim)
        # As cron would start it: umask 022, no systemd around.
        r = subprocess.run([BIN / "connwatchd", "--once", "--config", cfg, "--credentials-dir", creds],
                           capture_output=True, text=True, timeout=120, preexec_fn=umask_022)
        assert r.returncode == 0, r.stderr
        created = sorted(p.name for p in db.parent.iterdir())
        assert "connwatch.sqlite" in created, created
        for name in created:
            assert mode(db.parent / name) == 0o600, f"{name}: {oct(mode(db.parent / name))}"
    finally:
        sim.stop()


def test_running_daemon_is_not_dumpable_and_its_database_wal_and_shm_are_0600():
    # Run as nobody: for root every /proc file is root's anyway; for another user the kernel
    # shows a non-dumpable process's /proc/PID files as root's, a dumpable one's as the user's.
    work = Path(tempfile.mkdtemp(prefix="connwatch-hygiene-"))
    proc = None
    try:
        os.chmod(work, 0o755)
        state = work / "state"
        state.mkdir()
        os.chown(state, NOBODY, NOBODY)
        db = state / "connwatch.sqlite"
        cfg = work / "connwatch.toml"
        write_config(cfg, db)
        cfg.chmod(0o644)
        env = {"PATH": "/usr/bin:/bin", "RUNTIME_DIRECTORY": str(state), "CONNWATCH_LOG_LEVEL": "debug"}
        log = open(work / "connwatchd.log", "w")
        proc = subprocess.Popen([BIN / "connwatchd", "--config", cfg], env=env, stdout=log, stderr=subprocess.STDOUT,
                                user=NOBODY, group=NOBODY, extra_groups=[], preexec_fn=umask_022)
        deadline = time.time() + 60
        while time.time() < deadline and not (db.exists() and Path(f"{db}-wal").exists()):
            assert proc.poll() is None, (work / "connwatchd.log").read_text()
            time.sleep(0.1)
        assert db.exists(), (work / "connwatchd.log").read_text()

        status = Path(f"/proc/{proc.pid}/status").read_text()
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        assert uids[0] == str(NOBODY), status
        for f in ("status", "environ", "mem"):
            owner = os.stat(f"/proc/{proc.pid}/{f}").st_uid
            assert owner == 0, f"/proc/{proc.pid}/{f} is owned by {owner}: the process is dumpable"

        for name in ("connwatch.sqlite", "connwatch.sqlite-wal", "connwatch.sqlite-shm"):
            p = state / name
            if name == "connwatch.sqlite" or p.exists():
                assert mode(p) == 0o600, f"{name}: {oct(mode(p))}"
        assert Path(f"{db}-wal").exists()
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)
