import ConnwatchCLI

@main
struct ConnwatchctlMain {
    static func main() async {
        await Connwatchctl.main()
    }
}
