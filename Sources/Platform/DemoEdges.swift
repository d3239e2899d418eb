import Foundation
import ServiceKit

/// The edges `up --demo` runs on this machine, so the demo's fleet is alive: one per demo
/// network and region (the network table's loopback rows put a viewer from 127.0.1.x in Hubei
/// on China Mobile, and so on), each an nginx cache rendered from `Deploy/nginx/edge.conf` in
/// front of the media origin, with `cloudclass edge-agent` beside it posting its load reports.
public enum DemoEdges {
    struct Site {
        var id: UUID
        var name: String
        var offset: Int
        var network: Network
        var region: String
    }

    static let sites = [
        Site(id: UUID(uuidString: "d1e00000-0000-4000-8000-000000000001")!, name: "demo-hubei-mobile", offset: 0, network: .mobile, region: "420000"),
        Site(id: UUID(uuidString: "d1e00000-0000-4000-8000-000000000002")!, name: "demo-beijing-unicom", offset: 1, network: .unicom, region: "110000"),
        Site(id: UUID(uuidString: "d1e00000-0000-4000-8000-000000000003")!, name: "demo-guangdong-telecom", offset: 2, network: .telecom, region: "440000"),
    ]

    /// A demo laptop's edge: enough for a classroom at 1080p, not a country.
    static let capacityMbps = 1_000.0

    static func reportTokenSecret(_ name: String) -> String { "edge-\(name)-report-token" }

    /// The demo edges with their report tokens (made once into the secrets folder).
    static func edges(secrets: Secrets, firstPort: Int) throws -> [ServiceDescriptor.DemoEdge] {
        try sites.map { site in
            ServiceDescriptor.DemoEdge(
                id: site.id, name: site.name, baseURL: "http://127.0.0.1:\(firstPort + site.offset)", network: site.network, region: site.region,
                capacityMbps: capacityMbps, reportToken: try secrets.named(reportTokenSecret(site.name))
            )
        }
    }
}

extension PlatformRunner {
    /// How to run one demo edge's nginx and its agent.
    func edgeSpecs(_ edge: ServiceDescriptor.DemoEdge, secrets: Secrets, bandwidth: URL, logs: String) throws -> [ChildSpec] {
        let prefix = "\(options.dataFolder)/edges/\(edge.name)"
        for folder in ["tmp", "cache"] { try FileManager.default.createDirectory(atPath: "\(prefix)/\(folder)", withIntermediateDirectories: true) }
        let workerUser: String? = Shell.isRoot ? "www-data" : nil
        if let workerUser { try Shell.run(["chown", "-R", workerUser, "\(prefix)/tmp", "\(prefix)/cache"]) }
        let accessLog = "\(logs)/edge-\(edge.name)-access.log"
        try LogFiles.prepare(accessLog)
        let template = try String(contentsOf: options.deployFolder.appendingPathComponent("nginx/edge.conf"), encoding: .utf8)
        let config = EdgeNginxConfig(
            listen: String(edge.baseURL.dropFirst("http://".count)), origin: options.mediaOriginURL, secret: try secrets.named(ServiceDescriptor.Secret.playbackSigningKey.name),
            prefix: prefix, accessLog: accessLog, workerUser: workerUser
        )
        let configFile = "\(prefix)/nginx.conf"
        // It holds the playback secret.
        guard FileManager.default.createFile(atPath: configFile, contents: Data(try config.render(template: template).utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: configFile])
        }
        let nginx = try Shell.resolve("nginx")
        try Shell.run([nginx, "-t", "-q", "-p", prefix, "-e", "\(prefix)/error.log", "-c", configFile])
        let tokenFile = "\(secrets.folder)/\(DemoEdges.reportTokenSecret(edge.name))"
        return [
            ChildSpec(
                name: "edge \(edge.name) (nginx)", arguments: [nginx, "-p", prefix, "-e", "\(prefix)/error.log", "-c", configFile], environment: options.environment,
                logFile: "\(logs)/edge-\(edge.name).log", readyURL: URL(string: "\(edge.baseURL)/health"), readyStatus: 204
            ),
            ChildSpec(
                name: "edge \(edge.name) (agent)",
                arguments: [
                    options.executable, "edge-agent", "--access-log", accessLog, "--bandwidth-url", bandwidth.absoluteString, "--edge", edge.id.uuidString.lowercased(),
                    "--token-file", tokenFile,
                ],
                environment: options.environment, logFile: "\(logs)/edge-\(edge.name)-agent.log", readyURL: nil, readyStatus: 0
            ),
        ]
    }
}
