import AsyncHTTPClient
import Bandwidth
import Crypto
import EdgeAgent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Platform
import ServiceKit
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A real edge: nginx rendered from Deploy/nginx/edge.conf in front of an HLS origin, checking
/// signed playback URLs, caching once for every viewer, logging sessions but never tokens — and
/// the edge agent turning that log into the fleet's load reports.
@Suite struct EdgeTests {
    static let secret = "edge-test-secret-\(UUID().uuidString.prefix(8))"
    static let template = TestPostgres.migrationsFolder.deletingLastPathComponent().appendingPathComponent("Deploy/nginx/edge.conf")

    /// base64url-without-padding(MD5("<expires>/<session>/<stream> <secret>")), as broadcast signs.
    static func playbackPath(session: UUID, stream: String, file: String, expires: Int, secret: String = secret) -> String {
        let session = session.uuidString.lowercased()
        let digest = Insecure.MD5.hash(data: Data("\(expires)/\(session)/\(stream) \(secret)".utf8))
        let token = Data(digest).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "/s/\(token)/\(expires)/\(session)/\(stream)/\(file)"
    }

    /// An HLS origin: a playlist and a 100 kB segment per stream; counts what it served.
    final class Hits: Sendable {
        let count = Mutex(0)
    }

    static func origin(hits: Hits) -> some ApplicationProtocol {
        let router = Router()
        router.get("/hls/:stream/:file") { request, context -> Response in
            hits.count.withLock { $0 += 1 }
            let file = context.parameters.get("file") ?? ""
            if file.hasSuffix(".m3u8") {
                return Response(status: .ok, headers: [.contentType: "application/vnd.apple.mpegurl", .cacheControl: "max-age=1"],
                                body: .init(byteBuffer: ByteBuffer(string: "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n0.ts\n")))
            }
            return Response(status: .ok, headers: [.contentType: "video/mp2t", .cacheControl: "max-age=60"], body: .init(byteBuffer: ByteBuffer(repeating: 0x47, count: 100_000)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    struct RunningEdge {
        let child: ChildProcess
        let base: String
        let accessLog: String
        let folder: String

        func stop() {
            child.stop()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    static func startEdge(origin: String) async throws -> RunningEdge {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cc-edge-\(UUID().uuidString)").path
        for sub in ["tmp", "cache", "logs"] { try FileManager.default.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true) }
        let worker: String? = getuid() == 0 ? "www-data" : nil
        if let worker { try Shell.run(["chown", "-R", worker, "\(folder)/tmp", "\(folder)/cache"]) }
        let port = TestPorts.reserve()
        let accessLog = "\(folder)/logs/access.log"
        let config = EdgeNginxConfig(listen: "127.0.0.1:\(port)", origin: origin, secret: secret, prefix: folder, accessLog: accessLog, workerUser: worker)
        try config.render(template: try String(contentsOf: template, encoding: .utf8)).write(toFile: "\(folder)/nginx.conf", atomically: true, encoding: .utf8)
        let nginx = try Shell.resolve("nginx")
        let child = try ChildProcess(
            name: "edge", arguments: [nginx, "-p", folder, "-e", "\(folder)/error.log", "-c", "\(folder)/nginx.conf"], environment: [:],
            logFile: "\(folder)/logs/nginx.log", onExit: { _ in }
        )
        let base = "http://127.0.0.1:\(port)"
        for _ in 0..<100 {
            if let status = try? await get(base + "/health").status, status == 204 { return RunningEdge(child: child, base: base, accessLog: accessLog, folder: folder) }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.stop()
        throw TestFailure("the edge did not start: \(child.lastLogLines())")
    }

    static func get(_ url: String) async throws -> (status: Int, cache: String?, bytes: Int) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers.first(name: "X-Cache"), body.readableBytes)
    }

    @Test func theEdgeChecksSignaturesCachesOnceForEveryoneAndLogsSessionsNotTokens() async throws {
        let hits = Hits()
        let origin = Self.origin(hits: hits)
        try await origin.test(.live) { originClient in
            let edge = try await Self.startEdge(origin: "http://127.0.0.1:\(originClient.port!)")
            defer { edge.stop() }
            let expires = Int(Date().timeIntervalSince1970) + 3600
            let (alice, bob) = (UUID(), UUID())
            let first = try await Self.get(edge.base + Self.playbackPath(session: alice, stream: "lesson_720p", file: "0.ts", expires: expires))
            #expect(first.status == 200 && first.cache == "MISS" && first.bytes == 100_000)
            let second = try await Self.get(edge.base + Self.playbackPath(session: bob, stream: "lesson_720p", file: "0.ts", expires: expires))
            #expect(second.status == 200 && second.cache == "HIT", "another viewer's token, the same cached copy")
            #expect(hits.count.withLock { $0 } == 1, "the origin served the segment once")
            let playlist = try await Self.get(edge.base + Self.playbackPath(session: alice, stream: "lesson_720p", file: "index.m3u8", expires: expires))
            #expect(playlist.status == 200)

            let forged = Self.playbackPath(session: alice, stream: "lesson_720p", file: "0.ts", expires: expires, secret: "guess")
            #expect(try await Self.get(edge.base + forged).status == 403)
            let otherStream = Self.playbackPath(session: alice, stream: "lesson_720p", file: "0.ts", expires: expires)
                .replacingOccurrences(of: "lesson_720p", with: "lesson_1080p")
            #expect(try await Self.get(edge.base + otherStream).status == 403, "a token is for its own stream")
            let otherSession = Self.playbackPath(session: alice, stream: "lesson_720p", file: "0.ts", expires: expires)
                .replacingOccurrences(of: alice.uuidString.lowercased(), with: bob.uuidString.lowercased())
            #expect(try await Self.get(edge.base + otherSession).status == 403, "and for its own session")
            let expired = Self.playbackPath(session: alice, stream: "lesson_720p", file: "0.ts", expires: Int(Date().timeIntervalSince1970) - 5)
            #expect(try await Self.get(edge.base + expired).status == 410)
            #expect(try await Self.get(edge.base + "/hls/lesson_720p/0.ts").status == 404, "nothing unsigned")

            try await Task.sleep(for: .milliseconds(1100))  // nginx writes its access log as requests end
            let log = try String(contentsOfFile: edge.accessLog, encoding: .utf8)
            #expect(log.contains(alice.uuidString.lowercased()) && log.contains(bob.uuidString.lowercased()))
            let token = String(Self.playbackPath(session: alice, stream: "lesson_720p", file: "0.ts", expires: expires).split(separator: "/")[1])
            #expect(token.count == 22 && !log.contains(token), "the log never holds a token")
        }
    }

    @Test func theAgentReportsWhatTheEdgeServedAndTheFleetSeesItUp() async throws {
        let hits = Hits()
        let origin = Self.origin(hits: hits)
        let harness = try await FleetTests.harness()
        let admin = try await TestKeys.accessToken(user: UUID(), role: .admin)
        try await origin.test(.live) { originClient in
            let edge = try await Self.startEdge(origin: "http://127.0.0.1:\(originClient.port!)")
            defer { edge.stop() }
            try await harness.testLive { client async throws in
                try await FleetTests.ready(client)
                let added = try await FleetTests().add(client, admin, body: AllocationTests.edge("agent-edge", network: "mobile", region: "420000", capacity: 1000))
                var settings = EdgeAgent.Settings(accessLog: edge.accessLog, bandwidthURL: "http://127.0.0.1:\(client.port!)", edgeID: added.id, reportToken: added.report_token!)
                settings.interval = .milliseconds(300)
                let agent = Task { await EdgeAgent(settings: settings, logger: Logger(label: "test.agent")).run() }
                defer { agent.cancel() }
                let expires = Int(Date().timeIntervalSince1970) + 3600
                let viewers = [UUID(), UUID(), UUID()]
                let watching = ContinuousClock.now
                while ContinuousClock.now - watching < .seconds(2) {
                    for viewer in viewers {
                        _ = try await Self.get(edge.base + Self.playbackPath(session: viewer, stream: "lesson_480p", file: "0.ts", expires: expires))
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                struct Shown: Decodable {
                    struct Report: Decodable { var egress_mbps: Double; var viewers: Int }
                    var health: String
                    var last_report: Report?
                }
                let shown = try await client.json(.get, "/api/v1/edges/\(added.id)", token: admin).decode(Shown.self)
                #expect(shown.health == "up")
                #expect(shown.last_report?.viewers == 3, "three playback sessions")
                // 3 viewers × 100 kB every ~0.1 s is ~20 Mbit/s; the bound only says it was measured.
                #expect((shown.last_report?.egress_mbps ?? 0) > 1)
            }
        }
    }

    @Test func theMeterFollowsPartialLinesRotationAndTruncation() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cc-meter-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/access.log"
        var meter = AccessLogMeter(path: path, viewerWindow: 10)
        #expect(meter.read(now: 100) == .init(bytes: 0, requests: 0, viewers: 0), "no log yet")
        try "100.0 a 1000 200 s HIT\n100.5 b 500 200 s MISS\n100.7 c 20".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(meter.read(now: 101) == .init(bytes: 1500, requests: 2, viewers: 2), "a line still being written waits")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("0 403 s -\n101.0 d 300 200 s HIT\n".utf8))
        try handle.close()
        #expect(meter.read(now: 102) == .init(bytes: 500, requests: 2, viewers: 3), "a refused request's bytes count, its session does not watch")
        #expect(meter.read(now: 110.8) == .init(bytes: 0, requests: 0, viewers: 1), "sessions silent for the window have left")
        // Rotated by copy and truncation (as up rotates logs): read again from the start.
        try "112.0 e 700 200 s HIT\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(meter.read(now: 112) == .init(bytes: 700, requests: 1, viewers: 1))
        // Replaced by a new file (which may reuse the old one's inode).
        try FileManager.default.removeItem(atPath: path)
        try "113.0 f 10 200 s HIT\n113.1 g 10 200 s HIT\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(meter.read(now: 113.2) == .init(bytes: 20, requests: 2, viewers: 3), "e, f and g")
    }
}
