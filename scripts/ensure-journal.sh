#!/usr/bin/env bash
# Makes sure the journal works for the tests: an entry sent to /run/systemd/journal/socket must
# come back from journalctl. A fresh machine (PID 1 not systemd) has no journald, may have a
# stale socket file nobody listens on, or a socket whose journal files live elsewhere; in each
# case start our own journald. Prints what it found, so a CI log shows why the journal failed.
set -uo pipefail
probe() {
  local tag="connwatch-ci-probe-$$-$RANDOM"
  echo "probe" | systemd-cat -t "$tag" 2>/dev/null || return 1
  for _ in $(seq 50); do
    journalctl --no-pager -q -t "$tag" 2>/dev/null | grep -q probe && return 0
    sleep 0.1
  done
  return 1
}
if probe; then
  echo "journal: working (entries written to the socket are read back)"
  exit 0
fi
if [ ! -x /lib/systemd/systemd-journald ]; then
  echo "journal: not working and /lib/systemd/systemd-journald is missing (apt-get install systemd)" >&2
  exit 1
fi
echo "journal: not working$( [ -S /run/systemd/journal/socket ] && echo ' (a socket exists, but its entries are not readable here)'); starting systemd-journald"
# A socket file left behind by a journald that is gone (or belongs to another namespace):
# journald binds its own sockets, so clear the old ones first.
mkdir -p /run/systemd/journal
rm -f /run/systemd/journal/socket /run/systemd/journal/stdout /run/systemd/journal/dev-log
[ -s /etc/machine-id ] || systemd-machine-id-setup >/dev/null 2>&1 || true
nohup /lib/systemd/systemd-journald >/tmp/connwatch-test-journald.log 2>&1 &
for _ in $(seq 50); do [ -S /run/systemd/journal/socket ] && break; sleep 0.1; done
if probe; then
  echo "journal: working (systemd-journald pid $!)"
  exit 0
fi
echo "journal: still not working after starting systemd-journald; what is there:" >&2
ls -la /run/systemd/journal /run/log/journal /var/log/journal 2>&1 >&2
echo "machine-id: $(cat /etc/machine-id 2>&1)" >&2
pgrep -a systemd-journal >&2
cat /tmp/connwatch-test-journald.log >&2
exit 1
