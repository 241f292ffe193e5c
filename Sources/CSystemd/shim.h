#ifndef CONNWATCH_CSYSTEMD_SHIM_H
#define CONNWATCH_CSYSTEMD_SHIM_H

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <malloc.h>  /* mallopt(M_ARENA_MAX): connwatchd's main */
#include <sys/prctl.h>

/// Same layout as Linux `struct ucred` (glibc hides it behind _GNU_SOURCE,
/// so Swift cannot see it). Filled by getsockopt(SO_PEERCRED).
struct connwatch_ucred {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

/// prctl(PR_SET_DUMPABLE, 0): no core dump of this process, no ptrace attach and no
/// /proc/PID/{mem,environ,…} for other processes of the same user; the /proc/PID files
/// become root's. prctl(2) is variadic, which Swift cannot call: hence this wrapper.
/// Returns 0, or -1 with errno set.
static inline int connwatch_set_nondumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

#endif
