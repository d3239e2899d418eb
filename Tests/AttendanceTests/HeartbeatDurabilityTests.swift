import Foundation
import Logging
import NIOHTTP1
import Platform
import SessionTokens
import Store
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A beat answered 200 is on disk: through a SIGKILL of the service mid-stream, and through a
/// PostgreSQL restart (503 meanwhile, never a 200 for a beat that was not committed).
@Suite struct HeartbeatDurabilityTests {
    typealias Fixture = AttendanceFixture

    /// Pupils beating, each beat claiming the next ten seconds of the lesson; what was answered
    /// 200 is kept per session.
    final class Acknowledged: Sendable {
        private let seconds = Mutex<[UUID: Set<Int>]>([:])
        private let statuses = Mutex<[Int: Int]>([:])
        func record(_ session: UUID, _ range: Range<Int>, status: Int) {
            statuses.withLock { $0[status, default: 0] += 1 }
            if status == 200 { seconds.withLock { $0[session, default: []].formUnion(range) } }
        }
        var bySession: [UUID: Set<Int>] { seconds.withLock { $0 } }
        var byStatus: [Int: Int] { statuses.withLock { $0 } }
    }

    /// When something first happened.
    final class FirstMoment: Sendable {
        private let moment = Mutex<ContinuousClock.Instant?>(nil)
        func mark() { moment.withLock { $0 = $0 ?? .now } }
        var at: ContinuousClock.Instant? { moment.withLock { $0 } }
    }

    struct Pupil: Sendable {
        let claims: SessionClaims
        let token: String
    }

    static func pupils(_ count: Int) -> [Pupil] {
        let lesson = UUID(), now = Date()
        let startsAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - 600).rounded(.down))
        return (0..<count).map { _ in
            let (claims, token) = Fixture.session(lesson: lesson, issuedAgo: 590, now: now, startsAt: startsAt)
            return Pupil(claims: claims, token: token)
        }
    }

    /// Every pupil beats once for seconds `10 × round …` of the lesson, all at once.
    static func beatRound(_ round: Int, _ pupils: [Pupil], _ send: @escaping @Sendable (Pupil, Range<Int>) async -> Int, into acknowledged: Acknowledged) async {
        await withTaskGroup(of: Void.self) { group in
            for pupil in pupils {
                group.addTask {
                    let range = (20 + 10 * round)..<(30 + 10 * round)
                    acknowledged.record(pupil.claims.session, range, status: await send(pupil, range))
                }
            }
        }
    }

    static func lost(_ acknowledged: Acknowledged, in database: DatabaseSettings) async throws -> Int {
        let stored = try await database.withClient(logger: Logger(label: "test")) { client in
            var stored: [UUID: [Int64]] = [:]
            for try await (session, minutes) in try await client.query("SELECT session_id, played FROM attendance.sessions", logger: Logger(label: "test")).decode((UUID, [Int64]).self) {
                stored[session] = minutes
            }
            return stored
        }
        func isStored(_ second: Int, _ minutes: [Int64]) -> Bool {
            second / 60 < minutes.count && (UInt64(bitPattern: minutes[second / 60]) >> (second % 60)) & 1 == 1
        }
        return acknowledged.bySession.map { session, seconds in seconds.filter { !isStored($0, stored[session] ?? []) }.count }.reduce(0, +)
    }

    @Test func everyBeatAnswered200SurvivesAKillNineOfTheService() async throws {
        let harness = try await Fixture.harness()
        let port = TestPorts.reserve()
        let environment = ServedProcess.environment(
            database: TestPostgres.asService("attendance", harness.database),
            [
                "CLOUDCLASS_ATTENDANCE_URL": "http://127.0.0.1:\(port)", "CLOUDCLASS_SESSION_TOKEN_KEY": Fixture.secret,
                "CLOUDCLASS_PLAYBACK_SIGNING_KEY": "test-playback-signing-key-0123",
            ]
        )
        let (folder, log) = ServedProcess.privateLog(for: .attendance)
        let caller = HTTPCaller(base: "http://127.0.0.1:\(port)")
        var service = try ServedProcess(.attendance, environment: environment, log: log)
        defer {
            service.kill(SIGKILL)
            try? FileManager.default.removeItem(at: folder)
        }
        try #require(await caller.ready(), "the service started (log: \(log))")

        let pupils = Self.pupils(150)
        let acknowledged = Acknowledged()
        let send: @Sendable (Pupil, Range<Int>) async -> Int = { pupil, range in
            let path = "/api/v1/sessions/\(pupil.claims.session.lowercased)/heartbeat"
            return (try? await caller.send(.POST, path, token: pupil.token, body: Fixture.played([range])).status) ?? 0
        }
        await Self.beatRound(0, pupils, send, into: acknowledged)
        // The kill lands while the second round is in flight: some beats are in a batch not yet
        // committed, and are never answered.
        let running = service
        let killing = Task {
            try await Task.sleep(for: .milliseconds(30))
            running.kill(SIGKILL)
        }
        await Self.beatRound(1, pupils, send, into: acknowledged)
        try await killing.value
        service = try ServedProcess(.attendance, environment: environment, log: log)
        try #require(await caller.ready(), "the service came back (log: \(log))")
        await Self.beatRound(2, pupils, send, into: acknowledged)

        let statuses = acknowledged.byStatus
        // 503 is honest too (a commit slower than the service's 2 s while the whole suite runs).
        #expect(Set(statuses.keys).isSubset(of: [0, 200, 503]), "only answers 200, 503 or none at all: \(statuses)")
        #expect(statuses[200, default: 0] >= pupils.count, "beats were acknowledged around the kill: \(statuses)")
        #expect(try await Self.lost(acknowledged, in: harness.database) == 0, "acknowledged seconds lost by the kill")
    }

    @Test func throughAPostgreSQLRestartBeatsAre503UntilItIsBackAndNothingAnswered200IsLost() async throws {
        let postgres = TestPostgres()
        // Allowance enough that no beat here is 429.
        let harness = try await Fixture.harness(on: postgres) {
            $0.beatBurst = 1_000
            $0.commitTimeout = .seconds(2)
        }
        let pupils = Self.pupils(40)
        let acknowledged = Acknowledged()
        let wentDown = FirstMoment(), cameBack = FirstMoment(), firstSuccessAfter = FirstMoment()
        try await harness.testLive { client in
            let send: @Sendable (Pupil, Range<Int>) async -> Int = { pupil, range in
                let answer = try? await client.json(.post, Fixture.beatPath(pupil.claims), body: Fixture.played([range]), token: pupil.token)
                let status = answer.map { Int($0.status.code) } ?? 0
                if status == 200, cameBack.at != nil { firstSuccessAfter.mark() }
                return status
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for round in 0..<20 {
                        await Self.beatRound(round, pupils, send, into: acknowledged)
                        try await Task.sleep(for: .milliseconds(250))
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(1))
                    wentDown.mark()
                    // Down past the commit timeout (2 s), so beats waiting on it are answered 503.
                    try await postgres.restart(downFor: .seconds(3))
                    cameBack.mark()
                }
                try await group.waitForAll()
            }
        }
        let statuses = acknowledged.byStatus
        #expect(Set(statuses.keys).isSubset(of: [200, 503]), "never a 500, never unanswered: \(statuses)")
        #expect(statuses[503, default: 0] > 0, "beats while PostgreSQL was down were refused: \(statuses)")
        #expect(firstSuccessAfter.at != nil, "beats were acknowledged again after the restart")
        #expect(try await Self.lost(acknowledged, in: harness.database) == 0, "acknowledged seconds lost by the restart")
        let (down, up) = (wentDown.at!, cameBack.at!)
        let recovery = firstSuccessAfter.at.map { "\(($0 - up).inSeconds) s" } ?? "never"
        print("attendance resilience: PostgreSQL down for \((up - down).inSeconds) s; first acknowledged beat \(recovery) after it was back; answers \(statuses)")
    }
}
