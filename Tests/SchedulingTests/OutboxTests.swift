import Foundation
import Hummingbird
import HummingbirdTesting
import InternalProtocol
import Logging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Store
import TestSupport
import Testing

/// A service that follows lessons the way broadcast and attendance will: it takes scheduling's
/// `lesson.changed` messages through its inbox and keeps the last state of each lesson.
struct LessonFollower: CloudClassService {
    let settings: ServiceSettings
    let database: Database
    let deactivatedUsers = DeactivatedUsers()
    var deactivationSource: any DeactivationSource { SchedulingClient(settings: settings) }

    /// Its own database, migrated with the kit's tables and one of its own.
    static func prepare(port: Int) async throws -> (ServiceSettings, DatabaseSettings) {
        let settings = try await TestPostgres.shared.freshDatabase(migrated: false)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("follower-\(UUID())")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("attendance"), withIntermediateDirectories: true)
        try """
            CREATE TABLE attendance.followed (lesson_id uuid PRIMARY KEY, state text NOT NULL, starts_at timestamptz NOT NULL, updates int NOT NULL);
            """.write(to: root.appendingPathComponent("attendance/0001_followed.sql"), atomically: true, encoding: .utf8)
        let migrator = try Migrator(root: root, schemas: [ServiceSchema(service: "attendance")])
        let logger = Logger(label: "test.follower")
        try await settings.withClient(logger: logger) { _ = try await migrator.migrate($0, logger: logger) }
        let service = ServiceSettings(
            service: .attendance, port: port, serviceToken: TestApp.serviceToken,
            accessTokenPublicKeyPEM: try AccessTokenKeys.publicKeyPEM(ofSigningKey: TestApp.signingKeyPEM)
        )
        return (service, settings)
    }

    func addRoutes(to routes: RouteTable) {
        Inbox(settings: settings, database: database, handlers: [
            LessonChanged.kind: { envelope, connection, logger in
                let change = try envelope.decode(LessonChanged.self)
                try await connection.query(
                    """
                    INSERT INTO attendance.followed (lesson_id, state, starts_at, updates) VALUES (\(change.lessonID), \(change.state), \(change.startsAt), 1)
                    ON CONFLICT (lesson_id) DO UPDATE SET state = excluded.state, starts_at = excluded.starts_at, updates = followed.updates + 1
                    """,
                    logger: logger
                )
            }
        ]).register(on: routes)
    }
}

/// The follower running on a port of its own, until stopped.
struct RunningFollower {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    /// A new process, as it were: its own pool (a PostgresClient runs once).
    static func start(_ settings: ServiceSettings, _ database: DatabaseSettings) async throws -> RunningFollower {
        let follower = LessonFollower(settings: settings, database: Database(settings: database, logger: Logger(label: "test.follower")))
        let (ready, continuation) = AsyncStream.makeStream(of: Void.self)
        let application = try await follower.buildApplication(logger: Logger(label: "test.follower")) { _ in continuation.yield() }
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: Logger(label: "test.follower"))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        // A follower that cannot start (its port taken) fails the test instead of leaving it
        // waiting for a server that never listens.
        var iterator = ready.makeAsyncIterator()
        guard await iterator.next() != nil else {
            try await task.value
            throw TestFailure("the follower stopped before it listened")
        }
        return RunningFollower(group: group, task: task)
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }
}

@Suite(.serialized) struct OutboxTests {
    struct Followed: Equatable {
        var state: String
        var startsAt: Date
        var updates: Int
    }

    func followed(_ database: DatabaseSettings) async throws -> [UUID: Followed] {
        try await database.withConnection(logger: Logger(label: "test.follower")) { connection in
            var rows: [UUID: Followed] = [:]
            for try await (id, state, startsAt, updates) in try await connection.query(
                "SELECT lesson_id, state, starts_at, updates FROM attendance.followed", logger: Logger(label: "test.follower")
            ).decode((UUID, String, Date, Int32).self) {
                rows[id] = Followed(state: state, startsAt: startsAt, updates: Int(updates))
            }
            return rows
        }
    }

    /// Drains scheduling's outbox on demand until `done` holds (or 20 s pass).
    func drain(_ app: TestApp, until done: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            await app.service.relay.deliverDue()
            if try await done() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the outbox did not drain in time")
    }

    @Test func lessonChangesReachASubscriberAcrossItsRestartEachAppliedOnce() async throws {
        let port = TestPorts.reserve()
        let (followerSettings, followerDatabase) = try await LessonFollower.prepare(port: port)
        let app = try await TestApp.make {
            $0.service.subscribers = [LessonChanged.kind: [.attendance]]
            $0.service.peers[.attendance] = URL(string: "http://127.0.0.1:\(port)")!
        }
        try await app.addUser("teach", role: .teacher)
        try await app.test { client in
            let first = try await RunningFollower.start(followerSettings, followerDatabase)
            let token = try await client.token("teach")
            let course = try await client.course(token)
            var lessons: [UUID] = []
            for hour in [8, 10, 12] {
                let booked = try await client.book(token, course: course, TimetableFixture.at(hour), TimetableFixture.at(hour, 45))
                lessons.append(try booked.decode(LessonBody.self).id)
            }
            // Booking tells nobody; a cancellation does, at once.
            #expect(try await client.json(.post, "/api/v1/lessons/\(lessons[0])/cancel", token: token).status == .ok)
            try await drain(app) { try await followed(followerDatabase)[lessons[0]]?.state == "cancelled" }

            // The follower goes down; scheduling carries on and keeps what it must tell.
            try await first.stop()
            #expect(try await client.json(.post, "/api/v1/lessons/\(lessons[1])/cancel", token: token).status == .ok)
            let moved = TimetableFixture.at(day: 1, 9)
            let patch = try await client.json(
                .patch, "/api/v1/lessons/\(lessons[2])", body: #"{"starts_at":"\#(moved)","ends_at":"\#(TimetableFixture.at(day: 1, 9, 45))"}"#, token: token
            )
            #expect(patch.status == .ok)
            await app.service.relay.deliverDue()
            let waiting = try await app.scalar("SELECT count(*)::int8 FROM scheduling.outbox WHERE attempts > 0", as: Int64.self)
            #expect(waiting == 2)

            // Back up: everything arrives, once.
            let second = try await RunningFollower.start(followerSettings, followerDatabase)
            try await drain(app) { try await app.scalar("SELECT count(*)::int8 FROM scheduling.outbox", as: Int64.self) == 0 }
            let state = try await followed(followerDatabase)
            #expect(state.count == 3)
            #expect(state[lessons[0]]?.state == "cancelled" && state[lessons[1]]?.state == "cancelled")
            #expect(state[lessons[2]] == Followed(state: "scheduled", startsAt: try #require(RFC3339.parse(moved)), updates: 1))
            #expect(state.values.allSatisfy { $0.updates == 1 })

            // A receipt lost on the way: the sender sends a delivered message again; it is
            // acknowledged and not applied twice.
            let delivered = try await followerDatabase.withConnection(logger: Logger(label: "test")) { connection in
                try await connection.query("SELECT message_id FROM attendance.inbox LIMIT 1", logger: Logger(label: "test")).collect()[0].decode(UUID.self)
            }
            try await app.execute(
                """
                INSERT INTO scheduling.outbox (id, destination, kind, payload)
                VALUES (\(delivered), 'attendance', 'lesson.changed', \(#"{"lesson_id":"\#(lessons[1].lowercased)","state":"cancelled","starts_at":"2030-01-01T08:00:00Z","ends_at":"2030-01-01T08:45:00Z"}"#)::jsonb)
                """
            )
            try await drain(app) { try await app.scalar("SELECT count(*)::int8 FROM scheduling.outbox", as: Int64.self) == 0 }
            #expect(try await followed(followerDatabase) == state)
            try await second.stop()
        }
    }
}
