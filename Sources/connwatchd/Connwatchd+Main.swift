import CSystemd
import ConnwatchDaemon
import Foundation

@main
struct ConnwatchdMain {
    static func main() async {
        // Before anything reads a secret: this process holds client secrets, private keys and
        // signing keys. Not dumpable: no core file (whatever LimitCORE= or ulimit say), no
        // ptrace or /proc/PID/mem by other processes of the user. umask 077: what it creates
        // (the database and its -wal/-shm, a cron `--once` outside systemd's UMask=) is 0600.
        _ = connwatch_set_nondumpable()
        umask(0o077)
        // A SIGHUP right after exec would kill the process before handlers exist.
        signal(SIGHUP, SIG_IGN)
        // One malloc arena instead of one per thread that ever contended: the event loops,
        // Swift's pool and SQLite's queue each kept their own, ~25 MiB more peak RSS at
        // 10,000 connectors (BENCHMARKS.md), for no measurable CPU. MALLOC_ARENA_MAX wins.
        if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil { _ = mallopt(M_ARENA_MAX, 1) }
        await ConnwatchdCommand.main()
    }
}
