#ifndef CONNWATCH_CSYSTEMD_SHIM_H
#define CONNWATCH_CSYSTEMD_SHIM_H

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <malloc.h>  /* mallopt(M_ARENA_MAX): connwatchd's main */

/// Same layout as Linux `struct ucred` (glibc hides it behind _GNU_SOURCE,
/// so Swift cannot see it). Filled by getsockopt(SO_PEERCRED).
struct connwatch_ucred {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

#endif
