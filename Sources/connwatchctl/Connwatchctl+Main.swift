import CSystemd
import ConnwatchCLI
import Foundation

@main
struct ConnwatchctlMain {
    static func main() async {
        // `keyfile create` reads a private key, `check-config` reads every configured secret:
        // not dumpable (no core file, no ptrace by the user's other processes), and
        // what it writes (key files) is 0600 whatever the caller's umask.
        _ = connwatch_set_nondumpable()
        umask(0o077)
        await Connwatchctl.main(Connwatchctl.hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
    }
}
