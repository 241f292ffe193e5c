import ConnwatchCLI

@main
struct ConnwatchctlMain {
    static func main() async {
        await Connwatchctl.main(Connwatchctl.hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
    }
}
