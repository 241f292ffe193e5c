import Testing

@testable import ConnwatchDaemon

/// The workers' wakeable sleep: a ring wakes a sleeper early, a ring while nobody sleeps is
/// kept for the next sleep, and without a ring the sleep lasts its time.
@Suite struct DoorbellTests {
    @Test func aRingWakesTheSleeperEarly() async {
        let bell = Doorbell()
        let started = ContinuousClock.now
        async let slept: Void = bell.sleep(for: .seconds(60))
        try? await Task.sleep(for: .milliseconds(50))
        bell.ring()
        await slept
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test func aRingWhileAwakeIsKeptForTheNextSleep() async {
        let bell = Doorbell()
        bell.ring()
        let started = ContinuousClock.now
        await bell.sleep(for: .seconds(60))
        #expect(ContinuousClock.now - started < .seconds(30))
        // Consumed: takeRing sees none now, and a ring is seen once.
        #expect(!bell.takeRing())
        bell.ring()
        #expect(bell.takeRing())
        #expect(!bell.takeRing())
    }

    @Test func withoutARingTheSleepLastsItsTime() async {
        let bell = Doorbell()
        let started = ContinuousClock.now
        await bell.sleep(for: .milliseconds(200))
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }
}
