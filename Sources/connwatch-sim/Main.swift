@main
struct ConnwatchSimMain {
    static func main() async {
        print("connwatch-sim: not built yet")
    }
}
