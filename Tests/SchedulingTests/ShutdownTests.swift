import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@Suite struct ShutdownTests {
    @Test func gracefulShutdownFinishesARequestInFlight() async throws {
        // bcrypt cost 14 makes a login take most of a second: long enough to shut down
        // while it runs.
        let app = try await TestApp.make { $0.bcryptCost = 14 }
        try await app.addUser("late.pupil")
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = try await app.service.buildApplication(logger: Logger(label: "test.shutdown")) { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
        }
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: Logger(label: "test.shutdown"))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        let login = Task {
            try await ConcurrentRequests(port: port).post("/api/v1/auth/login", count: 1, headers: { _ in [:] }) { _ in
                #"{"username":"late.pupil","password":"\#(TestApp.password)"}"#
            }[0]
        }
        try await Task.sleep(for: .milliseconds(300))
        await group.triggerGracefulShutdown()

        let answer = try await login.value
        #expect(answer.status == 200)
        #expect(String(decoding: answer.body, as: UTF8.self).contains("refresh_token"))
        try await running.value
    }
}
