import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite struct ShutdownTests {
    @Test func gracefulShutdownFinishesARequestInFlight() async throws {
        // bcrypt cost 14 makes a login take most of a second: long enough to shut down
        // while it runs.
        let app = try await TestApp.make { $0.bcryptCost = 14 }
        try await app.addUser("late.pupil")
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = app.service.application(logger: Logger(label: "test.shutdown")) { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
        }
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: Logger(label: "test.shutdown"))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())

        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v1/auth/login")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"username":"late.pupil","password":"\#(TestApp.password)"}"#.utf8)
        let login = Task { try await URLSession.shared.data(for: request) }
        try await Task.sleep(for: .milliseconds(300))
        await group.triggerGracefulShutdown()

        let (body, response) = try await login.value
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains("refresh_token"))
        try await running.value
    }
}
