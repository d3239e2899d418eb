import Scheduling
import Synchronization
import Testing

@Suite struct LoginThrottleTests {
    final class Clock: Sendable {
        let now = Mutex<Double>(1_000_000)
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    func throttle(_ clock: Clock, maximumEntries: Int = 100_000) -> LoginThrottle {
        var policy = LoginThrottle.Policy()
        policy.maximumEntries = maximumEntries
        return LoginThrottle(policy: policy) { clock.now.withLock { $0 } }
    }

    @Test func delaysGrowAfterFiveFailuresAndAreCapped() {
        let clock = Clock()
        let throttle = throttle(clock)
        var waits: [Double] = []
        for _ in 0..<12 {
            if let wait = throttle.waitBeforeAttempt("teacher") { clock.advance(wait) }
            throttle.recordFailure("teacher")
            waits.append(throttle.waitBeforeAttempt("teacher") ?? 0)
        }
        #expect(waits == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60])
    }

    @Test func aSuccessOrQuietTimeClearsTheSlowDown() {
        let clock = Clock()
        let throttle = throttle(clock)
        for _ in 0..<7 { throttle.recordFailure("a") }
        #expect(throttle.waitBeforeAttempt("a") != nil)
        throttle.recordSuccess("a")
        #expect(throttle.waitBeforeAttempt("a") == nil)

        for _ in 0..<7 { throttle.recordFailure("b") }
        clock.advance(16 * 60)
        throttle.recordFailure("b")
        #expect(throttle.waitBeforeAttempt("b") == nil)
    }

    @Test func memoryStaysBoundedWhateverUsernamesAreTried() {
        let clock = Clock()
        let throttle = throttle(clock, maximumEntries: 1000)
        for index in 0..<20_000 {
            throttle.recordFailure("random-\(index)")
            clock.advance(0.001)
        }
        #expect(throttle.trackedUsernames <= 1000)
        // The most recent are the ones kept.
        for _ in 0..<6 { throttle.recordFailure("random-19999") }
        #expect(throttle.waitBeforeAttempt("random-19999") != nil)
    }
}
