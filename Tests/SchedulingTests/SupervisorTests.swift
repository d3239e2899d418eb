import Foundation
@testable import Platform
import TestSupport
import Testing

@Suite struct SupervisorTests {
    @Test func restartsBackOffAndGiveUpWhenAProcessKeepsDying() {
        let supervisor = Supervisor(onExit: { _ in })
        let start = Date()
        let plans = (0..<6).map { supervisor.plan(afterExitOf: "scheduling", now: start.addingTimeInterval(Double($0))) }
        #expect(plans == [.restart(afterSeconds: 1), .restart(afterSeconds: 2), .restart(afterSeconds: 4),
                          .restart(afterSeconds: 8), .restart(afterSeconds: 16), .giveUp])
        // Long after, a new death starts over; other processes have their own count.
        #expect(supervisor.plan(afterExitOf: "scheduling", now: start.addingTimeInterval(1000)) == .restart(afterSeconds: 1))
        #expect(supervisor.plan(afterExitOf: "gateway", now: start) == .restart(afterSeconds: 1))
    }
}
