import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceKit

/// `cloudclass edge-agent`: beside an edge's nginx, measures what it really served (its access
/// log's bytes and playback sessions, the machine's CPU) and posts the fleet's load report
/// every interval with the edge's report token. Three missed reports and the fleet marks the
/// edge down, so the agent keeps going whatever the answer: it logs failures, never stops.
public struct EdgeAgent: Sendable {
    public struct Settings: Sendable {
        public var accessLog: String
        /// Where reports go: the bandwidth service, or the gateway in front of it.
        public var bandwidthURL: String
        public var edgeID: UUID
        public var reportToken: String
        public var interval: Duration = .seconds(1)
        public var viewerWindow: Double = 10

        public init(accessLog: String, bandwidthURL: String, edgeID: UUID, reportToken: String) {
            self.accessLog = accessLog
            self.bandwidthURL = bandwidthURL
            self.edgeID = edgeID
            self.reportToken = reportToken
        }
    }

    public struct Report: Codable, Sendable, Equatable {
        public var egress_mbps: Double
        public var viewers: Int
        public var cpu: Double
    }

    let settings: Settings
    let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Reports until the task is cancelled.
    public func run(http: HTTPClient = .shared) async {
        var meter = AccessLogMeter(path: settings.accessLog, viewerWindow: settings.viewerWindow)
        var cpu = CPUMeter()
        _ = meter.read(now: Date().timeIntervalSince1970)  // what was served before the agent started is not this second's
        _ = cpu.read()
        var lastRead = ContinuousClock.now
        var failing = false
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.interval)
            let now = ContinuousClock.now
            let reading = meter.read(now: Date().timeIntervalSince1970)
            let seconds = max((now - lastRead).inSeconds, 0.001)
            lastRead = now
            let report = Report(egress_mbps: Double(reading.bytes) * 8 / 1_000_000 / seconds, viewers: reading.viewers, cpu: min(cpu.read(), 100_000))
            do {
                try await send(report, http: http)
                if failing { logger.notice("reports arrive again") }
                failing = false
            } catch {
                if !failing { logger.warning("report not accepted; retrying every interval", metadata: ["error": "\(error)"]) }
                failing = true
            }
        }
    }

    struct Refused: Error, CustomStringConvertible {
        var status: UInt
        var body: String
        var description: String { "\(status): \(body)" }
    }

    func send(_ report: Report, http: HTTPClient) async throws {
        let base = settings.bandwidthURL.hasSuffix("/") ? String(settings.bandwidthURL.dropLast()) : settings.bandwidthURL
        var request = HTTPClientRequest(url: "\(base)/api/v1/edges/\(settings.edgeID.uuidString.lowercased())/report")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(settings.reportToken)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(report)))
        let response = try await http.execute(request, timeout: .milliseconds(900))
        let body = try await response.body.collect(upTo: 64 << 10)
        guard response.status.code == 204 else { throw Refused(status: response.status.code, body: String(buffer: body)) }
    }
}
