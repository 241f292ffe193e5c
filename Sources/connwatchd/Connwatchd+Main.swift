import ConnwatchDaemon
import Foundation

@main
struct ConnwatchdMain {
    static func main() async {
        // A SIGHUP right after exec would kill the process before handlers exist.
        signal(SIGHUP, SIG_IGN)
        await ConnwatchdCommand.main()
    }
}
