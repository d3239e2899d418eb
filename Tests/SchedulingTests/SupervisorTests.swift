import Foundation
@testable import Platform
import TestSupport
import Testing

@Suite struct SupervisorTests {
    @Test func restartsBackOffToOnceAMinuteAndNeverGiveUp() {
        let supervisor = Supervisor(onExit: { _ in })
        let start = Date()
        let plans = (0..<9).map { supervisor.plan(afterExitOf: "scheduling", now: start.addingTimeInterval(Double($0))) }
        #expect(plans.map(\.afterSeconds) == [1, 2, 4, 8, 16, 30, 60, 60, 60])
        #expect(plans.map(\.keepsDying) == [false, false, false, false, false, false, true, true, true])
        // Long after, a new death starts over; other processes have their own count.
        #expect(supervisor.plan(afterExitOf: "scheduling", now: start.addingTimeInterval(1000)) == .init(afterSeconds: 1, keepsDying: false))
        #expect(supervisor.plan(afterExitOf: "gateway", now: start) == .init(afterSeconds: 1, keepsDying: false))
    }
}
