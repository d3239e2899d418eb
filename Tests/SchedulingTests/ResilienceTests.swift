import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import TestSupport
import Testing

/// The service rides out a PostgreSQL restart: reads wait and retry, writes that cannot be
/// retried safely answer 503 (never 500), and everything acknowledged is still there afterwards.
@Suite struct ResilienceTests {
    final class Box<Value: Sendable>: Sendable {
        let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
    }

    struct Outcome: Sendable {
        var at: Double
        var status: Int
        var createdCode: String?
    }

    @Test func requestsRecoverAfterAPostgreSQLRestartAndNothingAcknowledgedIsLost() async throws {
        let postgres = TestPostgres()
        let app = try await TestApp.make(on: postgres)
        try await app.addUser("root", role: .admin)
        let outcomes = Box<[Outcome]>([])
        let restartedAt = Box<[Double]>([0, 0])
        try await app.testLive { client async throws in
            let token = try await client.token("root")
            let origin = ContinuousClock.now
            let now: @Sendable () -> Double = { (ContinuousClock.now - origin).inSeconds }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var index = 0
                        while now() < 7 {
                            index += 1
                            let response: TestResponse
                            var code: String?
                            if index.isMultiple(of: 2) {
                                code = "w\(worker)-\(index)"
                                response = try await client.json(
                                    .post, "/api/v1/schools", body: #"{"name":"S","code":"\#(code!)","region":"420000"}"#, token: token)
                            } else {
                                response = try await client.json(.get, "/api/v1/regions", token: token)
                            }
                            let status = Int(response.status.code)
                            outcomes.value.withLock { $0.append(Outcome(at: now(), status: status, createdCode: status == 201 ? code : nil)) }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(1.5))
                    let down = now()
                    try await postgres.restart(downFor: .seconds(1))
                    restartedAt.value.withLock { $0 = [down, now()] }
                }
                try await group.waitForAll()
            }
        }
        let all = outcomes.value.withLock { $0 }
        let (down, up) = restartedAt.value.withLock { ($0[0], $0[1]) }
        #expect(all.count > 40)
        // Nothing but successes and honest "try again" answers.
        #expect(all.allSatisfy { [200, 201, 503].contains($0.status) }, "\(Set(all.map(\.status)))")
        #expect(all.contains { $0.at > up && ($0.status == 200 || $0.status == 201) }, "no success after the restart")
        // Within two seconds of the server being back, everything succeeds again.
        let settled = all.filter { $0.at > up + 2 }
        #expect(!settled.isEmpty && settled.allSatisfy { $0.status == 200 || $0.status == 201 })
        let successes = all.filter { $0.status < 300 }.map(\.at).sorted()
        let longestGap = zip(successes, successes.dropFirst()).map { $1 - $0 }.max() ?? 0
        let recovery = (successes.first { $0 > up } ?? .infinity) - up
        print("resilience: PostgreSQL stopped at \(down) s, started again at \(up) s; first success \(recovery) s after the start; longest time without a success \(longestGap) s; \(all.filter { $0.status == 503 }.count) of \(all.count) answers were 503")

        // Every school acknowledged with 201 is in the database.
        let acknowledged = Set(all.compactMap(\.createdCode))
        let stored = try await app.database.withClient(logger: Logger(label: "test")) { client in
            var codes = Set<String>()
            for try await code in try await client.query("SELECT code FROM scheduling.schools", logger: Logger(label: "test")).decode(String.self) {
                codes.insert(code)
            }
            return codes
        }
        #expect(acknowledged.isSubset(of: stored), "lost: \(acknowledged.subtracting(stored))")
    }
}
