import Testing

@testable import ConnwatchDaemon

@Suite struct DueQueueTests {
    @Test func popsInDueOrderWithDuplicates() {
        var rng = SystemRandomNumberGenerator()
        var q = DueQueue<Int>()
        var expected: [Int] = []
        for i in 0..<500 {
            let due = Int.random(in: 0..<100, using: &rng)
            q.push(due, "c\(i)")
            expected.append(due)
        }
        var popped: [Int] = []
        while let top = q.first {
            popped.append(top.0)
            q.removeFirst()
        }
        #expect(popped == expected.sorted())
        #expect(q.count == 0)
        q.removeFirst()  // empty: no effect
        #expect(q.first == nil)
    }

    @Test func interleavedPushAndPop() {
        var q = DueQueue<Int>()
        q.push(5, "a")
        q.push(3, "b")
        #expect(q.first?.1 == "b")
        q.removeFirst()
        q.push(1, "c")
        q.push(4, "d")
        var names: [String] = []
        while let top = q.first {
            names.append(top.1)
            q.removeFirst()
        }
        #expect(names == ["c", "d", "a"])
    }
}
