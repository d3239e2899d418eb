import Allocation
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Platform
import PostgresNIO
import ServiceKit
import SessionTokens
import Store
import Synchronization

/// The heartbeat benchmarks' driver, beside a platform `up` runs (`Deploy/scripts/bench-beats`):
/// session tokens minted with the platform's own key, as broadcast mints them.
/// - `--wrk-script`: writes a wrk script that beats `--sessions` sessions round robin.
/// - `--accuracy`: `--pupils` simulated pupils watch a lesson of `--lesson-minutes` that has
///   just ended (a simulated clock: every beat's time is already past, so a lesson plays in
///   minutes), each beating every 30 s of lesson time with what it played since its last
///   acknowledged beat; `--drop` of the beats are lost, half before they arrive and half with
///   their answer. Then the stored minutes are read back and compared with what was played.
struct BenchBeats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-beats", abstract: "Drive heartbeats at a running platform (the heartbeat benchmarks).", shouldDisplay: false
    )

    @Option(help: "The running platform's data folder (its secrets and PostgreSQL).")
    var data: String
    @Option(help: "Where beats go: the gateway or attendance's own port.")
    var url = "http://127.0.0.1:8080"
    @Option(help: "Write a wrk script beating this many sessions to this path, and stop.")
    var wrkScript: String?
    @Option(help: "Sessions in the wrk script.")
    var sessions = 200_000
    @Flag(help: "Run the accuracy simulation.")
    var accuracy = false
    @Option(help: "Simulated pupils.")
    var pupils = 100_000
    @Option(help: "The share of beats lost.")
    var drop = 0.05
    @Option(help: "The lesson's length.")
    var lessonMinutes = 40
    @Option(help: "Beats in flight at once.")
    var connections = 64
    @Option(help: "Seed of the pupils' behaviour.")
    var seed: UInt64 = 2020
    @Flag(help: "Print the database's commits and the rows written to attendance's sessions so far (`commits rows`).")
    var databaseCounts = false

    func run() async throws {
        let secrets = try Secrets(dataFolder: data)
        let key = SessionTokenKey(secret: try secrets.read(secrets.file(.sessionTokenKey)))
        if databaseCounts {
            let (commits, rows) = try await counts(secrets: secrets)
            print("\(commits) \(rows)")
        } else if let wrkScript {
            try writeWrkScript(to: wrkScript, key: key)
        } else if accuracy {
            try await runAccuracy(key: key, secrets: secrets)
        } else {
            throw ValidationError("Say --wrk-script <path> or --accuracy.")
        }
    }

    // MARK: Throughput (wrk)

    /// Sessions of one lesson that started ten minutes ago, each beating the same half minute
    /// again (an upsert per beat all the same); wrk's threads start at different places.
    func writeWrkScript(to path: String, key: SessionTokenKey) throws {
        let now = Date()
        let startsAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - 600).rounded(.down))
        let lesson = UUID()
        // Lua allows 65,536 constants a chunk: the sessions go in a file of their own, read at init.
        var sessionLines = ""
        for _ in 0..<sessions {
            let claims = SessionClaims(
                lesson: lesson, pupil: UUID(), allocation: UUID(), lessonStartsAt: startsAt, lessonEndsAt: startsAt.addingTimeInterval(2700),
                issuedAt: startsAt, expiresAt: now.addingTimeInterval(6 * 3600)
            )
            sessionLines += "/api/v1/sessions/\(claims.session.lowercased)/heartbeat Bearer \(SessionToken.mint(claims, key: key))\n"
        }
        try sessionLines.write(toFile: path + ".sessions", atomically: true, encoding: .utf8)
        let script = """
            local sessions = {}
            for line in io.lines("\(path).sessions") do
              local path, bearer = line:match("^(%S+) (.+)$")
              sessions[#sessions + 1] = {path, bearer}
            end
            local next = 1
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.body = '{"played":[[300,330]]}'
            function init(args)
              next = math.random(#sessions)
            end
            function request()
              local session = sessions[next]
              next = next % #sessions + 1
              wrk.headers["Authorization"] = session[2]
              return wrk.format(nil, session[1])
            end

            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
    }

    // MARK: Accuracy

    /// One simulated pupil: what they really played, and what their player has had acknowledged.
    struct Pupil: Sendable {
        var claims: SessionClaims
        var token: String
        /// The seconds really played, as ranges.
        var played: [Range<Int>]
        /// The player's last acknowledged second: it resends everything after it.
        var acknowledged: Int
        /// The second the player closes (after its last beat).
        var leaves: Int
    }

    func runAccuracy(key: SessionTokenKey, secrets: Secrets) async throws {
        let lessonSeconds = lessonMinutes * 60
        let now = Date()
        // Ended a minute ago: every beat's lesson second is in the past, none past the grace.
        let startsAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 - Double(lessonSeconds) - 60).rounded(.down))
        let lesson = UUID()
        var random = SplitMix64(seed: seed)
        var roster: [Pupil] = []
        roster.reserveCapacity(pupils)
        for _ in 0..<pupils {
            // Most come on time, some late; some leave early; most pause once or twice.
            let joins = random.chance(0.8) ? Int(random.next() % 60) : Int(random.next() % UInt64(lessonSeconds / 3))
            let leaves = random.chance(0.85) ? lessonSeconds : joins + Int(random.next() % UInt64(lessonSeconds - joins))
            var played: [Range<Int>] = []
            var second = joins
            while second < leaves {
                let stretch = 60 + Int(random.next() % 900)
                played.append(second..<min(leaves, second + stretch))
                second += stretch + (random.chance(0.5) ? Int(random.next() % 120) : 0)
            }
            let claims = SessionClaims(
                lesson: lesson, pupil: UUID(), allocation: UUID(), lessonStartsAt: startsAt, lessonEndsAt: startsAt.addingTimeInterval(Double(lessonSeconds)),
                issuedAt: startsAt.addingTimeInterval(Double(joins)), expiresAt: now.addingTimeInterval(6 * 3600)
            )
            roster.append(Pupil(claims: claims, token: SessionToken.mint(claims, key: key), played: played, acknowledged: joins, leaves: leaves))
        }

        let http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections))
        )
        let tally = Tally(roster)
        let started = ContinuousClock.now
        print("bench-beats accuracy: \(pupils) pupils, a \(lessonMinutes)-minute lesson, \(Int(drop * 100))% of beats lost, \(connections) in flight, \(url)")
        // A round is every pupil's beat at one lesson second, 30 s apart; each pupil beats in
        // turn, so no session beats faster than the rate limit allows.
        for at in stride(from: 30, through: lessonSeconds, by: 30) {
            tally.next.store(0, ordering: .relaxed)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<connections {
                    group.addTask { [seed, drop, url, pupils] in
                        var random = SplitMix64(seed: seed &+ UInt64(at * 1000 + worker))
                        while true {
                            let index = tally.next.wrappingAdd(1, ordering: .relaxed).oldValue
                            guard index < pupils else { return }
                            var pupil = tally.roster.withLock { $0[index] }
                            // Open during the last 30 s (joined by `at`, not left before `at - 30`): it beats
                            // what it played up to `at`, or up to its leaving second (its last beat).
                            guard at - 30 < pupil.leaves, pupil.claims.issuedAt <= pupil.claims.lessonStartsAt.addingTimeInterval(Double(at)) else { continue }
                            let upTo = min(at, pupil.leaves)
                            let ranges = pupil.played.compactMap { range -> Range<Int>? in
                                let clipped = range.clamped(to: pupil.acknowledged..<upTo)
                                return clipped.isEmpty ? nil : clipped
                            }
                            tally.beats.add(1, ordering: .relaxed)
                            let losesRequest = random.chance(drop / 2)
                            let losesAnswer = !losesRequest && random.chance(drop / 2 / (1 - drop / 2))
                            if losesRequest || losesAnswer { tally.lost.add(1, ordering: .relaxed) }
                            if !losesRequest {
                                let body = #"{"played":[\#(ranges.map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ","))]}"#
                                var request = HTTPClientRequest(url: "\(url)/api/v1/sessions/\(pupil.claims.session.lowercased)/heartbeat")
                                request.method = .POST
                                request.headers.add(name: "Authorization", value: "Bearer \(pupil.token)")
                                request.headers.add(name: "Content-Type", value: "application/json")
                                request.body = .bytes(ByteBuffer(string: body))
                                let status = try? await http.execute(request, timeout: .seconds(30)).status.code
                                if status == 200 {
                                    if !losesAnswer { pupil.acknowledged = upTo }
                                } else {
                                    tally.refused.add(1, ordering: .relaxed)
                                }
                            }
                            tally.roster.withLock { $0[index] = pupil }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let elapsed = ContinuousClock.now - started
        try await http.shutdown()
        roster = tally.roster.withLock { $0 }

        // What was played, minute by minute, against what the store holds.
        let logger = Logger(label: "bench-beats")
        let stored: [UUID: [Int64]] = try await superuser(secrets).withClient(logger: logger) { client in
            var stored: [UUID: [Int64]] = [:]
            let rows = try await client.query("SELECT session_id, played FROM attendance.sessions WHERE lesson_id = \(lesson)", logger: logger)
            for try await (session, played) in rows.decode((UUID, [Int64]).self) { stored[session] = played }
            return stored
        }
        let watchedSeconds = 30
        var truth = 0
        var recorded = 0
        var falselyRecorded = 0
        for pupil in roster {
            var seconds = [Int](repeating: 0, count: lessonMinutes)
            for range in pupil.played {
                for second in range { seconds[second / 60] += 1 }
            }
            let masks = stored[pupil.claims.session] ?? []
            for minute in 0..<lessonMinutes {
                let really = seconds[minute] >= watchedSeconds
                let kept = minute < masks.count && UInt64(bitPattern: masks[minute]).nonzeroBitCount >= watchedSeconds
                if really { truth += 1 }
                if really && kept { recorded += 1 }
                if kept && !really { falselyRecorded += 1 }
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let sent = tally.beats.load(ordering: .relaxed)
        print("beats: \(sent) (\(tally.lost.load(ordering: .relaxed)) lost on purpose, \(tally.refused.load(ordering: .relaxed)) answered other than 200) in \(String(format: "%.1f", seconds)) s, \(Int(Double(sent) / seconds)) beats/s")
        print("sessions stored: \(stored.count) of \(pupils)")
        print("watched minutes: \(truth) played, \(recorded) recorded (\(String(format: "%.3f", Double(recorded) / Double(max(truth, 1)) * 100))%), \(falselyRecorded) recorded that were not watched")
    }
}

extension BenchBeats {
    func superuser(_ secrets: Secrets) throws -> DatabaseSettings {
        try LocalPostgres(dataFolder: data).settings(password: try secrets.read(secrets.postgresPasswordFile))
    }

    /// Transactions committed in the platform's database, and rows inserted or updated in the
    /// sessions' partitions (PostgreSQL's statistics, which lag by up to half a second).
    func counts(secrets: Secrets) async throws -> (commits: Int64, rows: Int64) {
        let logger = Logger(label: "bench-beats")
        return try await superuser(secrets).withClient(logger: logger) { client in
            let rows = try await client.query(
                """
                SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
                       (SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0)::int8 FROM pg_stat_user_tables WHERE schemaname = 'attendance' AND relname LIKE 'sessions%')
                """,
                logger: logger
            )
            for try await (commits, written) in rows.decode((Int64, Int64).self) { return (commits, written) }
            return (0, 0)
        }
    }
}

/// The simulation's shared state: the pupils, the next one to beat in a round, and counts.
final class Tally: Sendable {
    let roster: Mutex<[BenchBeats.Pupil]>
    let next = Atomic<Int>(0)
    let beats = Atomic<Int>(0)
    let lost = Atomic<Int>(0)
    let refused = Atomic<Int>(0)

    init(_ roster: [BenchBeats.Pupil]) { self.roster = Mutex(roster) }
}
