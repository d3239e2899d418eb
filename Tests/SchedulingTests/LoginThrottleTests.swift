import Scheduling
import Synchronization
import TestSupport
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
        throttle.forget("a")
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

    @Test func aSchoolBehindOneAddressHasRoomAndTheBudgetRefills() {
        let clock = Clock()
        let throttle = LoginThrottle(policy: .perAddress) { clock.now.withLock { $0 } }
        // A burst of 300 mistyped passwords at 08:00 from one school: nobody waits.
        for _ in 0..<300 { throttle.recordFailure("203.0.113.7") }
        #expect(throttle.waitBeforeAttempt("203.0.113.7") == nil)
        // A scripted guesser from the same address runs into the delay…
        for _ in 0..<5 { throttle.recordFailure("203.0.113.7") }
        #expect(throttle.waitBeforeAttempt("203.0.113.7") != nil)
        // …which drains at one failure a second: a minute later there is room again.
        clock.advance(60)
        #expect(throttle.waitBeforeAttempt("203.0.113.7") == nil)
        throttle.recordFailure("203.0.113.7")
        #expect(throttle.waitBeforeAttempt("203.0.113.7") == nil)
        // A steady failure a second, all day, never waits.
        for _ in 0..<3600 {
            clock.advance(1)
            throttle.recordFailure("203.0.113.7")
        }
        #expect(throttle.waitBeforeAttempt("203.0.113.7") == nil)
    }

    @Test func anAttemptCountsWhenAdmittedAndASuccessTakesItBack() {
        let clock = Clock()
        let throttle = throttle(clock)
        for _ in 0..<6 { #expect(throttle.admit("a") == nil) }
        #expect(throttle.admit("a") != nil, "the sixth admitted attempt started the delay")
        throttle.refund("a")
        #expect(throttle.admit("a") == nil, "back under the free five: no wait")
    }

    @Test func aSignInCountsOnAllThreeAndAnAbandonedOneOnNone() throws {
        let signIn = SignInThrottle(perUsernameAndAddress: .init(), perUsername: .perUsername, perAddress: .perAddress)
        for _ in 0..<50 {
            let attempt = try signIn.admit(username: "li", address: "10.0.0.1")
            signIn.abandoned(attempt)
        }
        #expect(signIn.perUsernameAndAddress.waitBeforeAttempt("li 10.0.0.1") == nil)
        for _ in 0..<6 { _ = try signIn.admit(username: "li", address: "10.0.0.1") }
        #expect(throws: SignInThrottle.Refusal.self) { try signIn.admit(username: "li", address: "10.0.0.1") }
        // The refusal by the pair gave the address its attempt back.
        #expect(signIn.perAddress.waitBeforeAttempt("10.0.0.1") == nil)
        let fromSchool = try signIn.admit(username: "li", address: "10.0.0.2")
        signIn.succeeded(fromSchool)
    }
}
