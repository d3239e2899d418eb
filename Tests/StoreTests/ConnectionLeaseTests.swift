import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

/// A request waits for a connection only so long, and a connection given up on goes back.
@Suite struct ConnectionLeaseTests {
    @Test func aRequestThatFindsNoConnectionIsToldTheDatabaseIsBusyAndThePoolCarriesOn() async throws {
        var settings = try await TestPostgres.shared.freshDatabase()
        settings.maximumConnections = 1
        let logger = Logger(label: "test.lease")
        let client = PostgresClient(configuration: settings.clientConfiguration, backgroundLogger: logger)
        let database = Database(client: client, leaseTimeout: .milliseconds(300))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            // The only connection, held for a while.
            let (holding, released) = AsyncStream.makeStream(of: Void.self)
            let holder = Task {
                try await database.withConnection { connection in
                    released.yield()
                    try await Task.sleep(for: .seconds(2))
                    _ = try await connection.query("SELECT 1", logger: logger).collect()
                }
            }
            var iterator = holding.makeAsyncIterator()
            _ = await iterator.next()

            let started = ContinuousClock.now
            let refused = await #expect(throws: DatabaseBusy.self) {
                try await database.withConnection { _ in }
            }
            #expect(ContinuousClock.now - started < .seconds(1.5), "it waited for the holder instead of its own limit")
            // Transient: a read retries it within its budget, a write answers 503.
            #expect(refused?.isTransientDatabaseFailure == true)
            #expect(database.requestsWaiting == 0)

            // The holder finishes; the connection the refused request had queued for came back
            // to the pool, so the next request gets it.
            try await holder.value
            let one = try await database.withConnection { connection -> Int32? in
                let rows = try await connection.query("SELECT 1::int4", logger: logger)
                for try await value in rows.decode(Int32.self) { return value }
                return nil
            }
            #expect(one == 1)
            #expect(database.connectionsInUse == 0)
            group.cancelAll()
        }
    }
}
