import ArgumentParser
import EdgeAgent
import Foundation
import Logging
import Platform
import ServiceKit
import ServiceLifecycle

/// `cloudclass edge-agent`: beside an edge's nginx, reports what it served to the fleet.
struct EdgeAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge-agent",
        abstract: "Measure an edge's nginx access log and post its load report to the fleet every second."
    )

    @Option(help: "The edge's access log (log_format edge of Deploy/nginx/edge.conf).") var accessLog: String
    @Option(help: "The bandwidth service, or the gateway in front of it.") var bandwidthURL: String
    @Option(help: "The edge's id in the fleet.") var edge: String
    @Option(help: "A file holding the edge's report token (shown once when the edge was added).") var tokenFile: String
    @Option(help: "Seconds between reports.") var interval: Double = 1

    func run() async throws {
        JSONLogHandler.bootstrap()
        guard let id = UUID(uuidString: edge) else { throw ValidationError("--edge must be the edge's id (a UUID).") }
        guard (0.1...60).contains(interval) else { throw ValidationError("--interval must be from 0.1 to 60 seconds.") }
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var settings = EdgeAgent.Settings(accessLog: accessLog, bandwidthURL: bandwidthURL, edgeID: id, reportToken: token)
        settings.interval = .milliseconds(Int(interval * 1000))
        let logger = Logger(label: "cloudclass.edge-agent")
        let agent = EdgeAgent(settings: settings, logger: logger)
        // SIGTERM (how up stops its children) and SIGINT end it.
        let group = ServiceGroup(configuration: .init(services: [Reporting(agent: agent)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    struct Reporting: Service {
        let agent: EdgeAgent
        func run() async throws {
            await cancelWhenGracefulShutdown { await agent.run() }
        }
    }
}

/// `cloudclass edge-config`: an edge's nginx configuration from the deployment's template.
struct EdgeConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge-config",
        abstract: "Print an edge's nginx configuration, rendered from Deploy/nginx/edge.conf."
    )

    @Option(help: "host:port to listen on.") var listen = "0.0.0.0:80"
    @Option(help: "The HLS origin.") var origin: String
    @Option(help: "A file holding the playback signing secret.") var secretFile: String
    @Option(help: "Folder for pid, temp files, cache and error log.") var prefix = "/var/lib/cloudclass-edge"
    @Option(help: "The access log the agent reads.") var accessLog = "/var/log/cloudclass-edge/access.log"
    @Option(help: "Cache size in MiB.") var cacheMegabytes = 10_240
    @Option(help: "The user nginx's workers run as.") var user = "www-data"
    @Option(help: "The template.") var template = "Deploy/nginx/edge.conf"

    func run() throws {
        let secret = try String(contentsOfFile: secretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var config = EdgeNginxConfig(listen: listen, origin: origin, secret: secret, prefix: prefix, accessLog: accessLog, workerUser: user)
        config.cacheMegabytes = cacheMegabytes
        print(try config.render(template: try String(contentsOfFile: template, encoding: .utf8)), terminator: "")
    }
}
