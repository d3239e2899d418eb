import Foundation
import Platform
import ServiceKit
import Testing

/// `up` knows services only through their descriptors: the gateway's table and the secrets each
/// process gets come from them.
@Suite struct PlatformDescriptorTests {
    static func descriptor(
        _ name: ServiceName, routes: [ServiceDescriptor.GatewayRoute], secrets: [ServiceDescriptor.Secret] = []
    ) -> ServiceDescriptor {
        ServiceDescriptor(name: name, gatewayRoutes: routes, secrets: secrets) { _, _, _ in
            throw CancellationError()  // never started here
        }
    }

    static let signing = ServiceDescriptor.Secret(name: "signing-key.pem", variable: "CLOUDCLASS_SIGNING_KEY", kind: .accessTokenSigningKey)
    static let sessionKey = ServiceDescriptor.Secret(name: "session-token-key", variable: "CLOUDCLASS_SESSION_TOKEN_KEY")
    static let pepper = ServiceDescriptor.Secret(name: "edge-report-pepper", variable: "CLOUDCLASS_EDGE_REPORT_PEPPER")

    static let services = [
        descriptor(.scheduling, routes: [.init("^/api/v1(/|$)", isFallback: true), .init("^/api/v1/schools/[^/]+/roster$", maximumBodyBytes: 32 << 20)], secrets: [signing]),
        descriptor(.broadcast, routes: [.init("^/api/v1/lessons/[^/]+/(join|live)$")], secrets: [sessionKey]),
        descriptor(.attendance, routes: [.init("^/api/v1/sessions(/|$)")], secrets: [sessionKey]),
        descriptor(.bandwidth, routes: [.init("^/api/v1/fleet(/|$)", streaming: true)], secrets: [pepper]),
    ]

    @Test func theGatewayTriesEveryServicesRoutesBeforeTheFallback() {
        let gateway = GatewayRoutes(services: Self.services)
        #expect(gateway.routes.last?.route.isFallback == true)
        #expect(gateway.service(for: "/api/v1/lessons/abc/join") == .broadcast)
        #expect(gateway.service(for: "/api/v1/lessons/abc") == .scheduling)
        #expect(gateway.service(for: "/api/v1/sessions/s1/heartbeat") == .attendance)
        #expect(gateway.service(for: "/api/v1/fleet") == .bandwidth)
        #expect(gateway.service(for: "/api/v1/fleetwide") == .scheduling)
        #expect(gateway.service(for: "/api/v1/schools/x/roster") == .scheduling)
        #expect(gateway.service(for: "/internal/v1/users/1") == nil)
        #expect(gateway.service(for: "/api/v2/x") == nil)
    }

    @Test func theGatewayConfigurationStreamsEventsAndRaisesOnlyTheDeclaredBodyLimit() throws {
        let upstreams = Dictionary(uniqueKeysWithValues: Self.services.map { ($0.name, URL(string: $0.name.defaultURL)!) })
        let config = GatewayConfig(port: 8080, routes: GatewayRoutes(services: Self.services), upstreams: upstreams, prefix: "/tmp/x", logFolder: "/tmp/x/logs", workerUser: nil)
            .render()
        func block(_ pattern: String) throws -> Substring {
            let start = try #require(config.range(of: "location ~ \(pattern) {"))
            let end = try #require(config[start.upperBound...].range(of: "}"))
            return config[start.upperBound..<end.lowerBound]
        }
        let fleet = try? block("^/api/v1/fleet(/|$)")
        #expect(fleet?.contains("proxy_buffering off;") == true && fleet?.contains("proxy_read_timeout 24h;") == true)
        #expect(fleet?.contains("proxy_pass http://bandwidth;") == true)
        #expect((try? block("^/api/v1/schools/[^/]+/roster$"))?.contains("client_max_body_size 33554432;") == true)
        #expect((try? block("^/api/v1/sessions(/|$)"))?.contains("proxy_buffering") == false)
        for service in ServiceName.allCases { #expect(config.contains("upstream \(service.rawValue) {")) }
        // A school's NAT may hold 4096 connections; beyond, a 429 problem that says when to retry.
        #expect(config.contains("limit_conn per_address 4096;") && config.contains("limit_conn_status 429;"))
        let tooMany = try #require(config.range(of: "location @problem429 {"))
        #expect(config[tooMany.upperBound...].prefix(300).contains("add_header Retry-After 1 always;"))
        // The fallback is the last route block.
        let fallback = config.range(of: "location ~ ^/api/v1(/|$) {")!.lowerBound
        #expect(config.range(of: "location ~ ^/api/v1/sessions(/|$) {")!.lowerBound < fallback)
    }

    @Test func eachProcessGetsOnlyTheSecretsItDeclares() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID())").path
        let secrets = try Secrets(dataFolder: data)
        try secrets.ensure(for: Self.services)
        // A shared secret is made once: both services read the same file.
        let sessionKey = try secrets.read(secrets.file(Self.sessionKey))
        #expect(sessionKey.count == 32)
        for secret in [Self.signing, Self.sessionKey, Self.pepper] {
            let attributes = try FileManager.default.attributesOfItem(atPath: secrets.file(secret))
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(secret.name)")
        }
        // The public key beside the signing key is its public half.
        let signingKey = try secrets.read(secrets.file(Self.signing))
        let publicHalf = try AccessTokenKeys.publicKeyPEM(ofSigningKey: signingKey).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try secrets.read(secrets.publicKeyFile) == publicHalf)
        // Made once: a second run keeps them.
        try secrets.ensure(for: Self.services)
        #expect(try secrets.read(secrets.file(Self.signing)) == signingKey)

        // Inline values in up's own environment never leak to a process that did not declare them.
        let inherited = ["CLOUDCLASS_SIGNING_KEY": "leaked", "CLOUDCLASS_EDGE_REPORT_PEPPER_FILE": "/elsewhere", "PATH": "/usr/bin"]
        let attendance = secrets.environment(for: Self.services[2], among: Self.services, base: inherited)
        #expect(attendance["PATH"] == "/usr/bin")
        #expect(attendance["CLOUDCLASS_SESSION_TOKEN_KEY_FILE"] == secrets.file(Self.sessionKey))
        #expect(attendance["CLOUDCLASS_SERVICE_TOKEN_FILE"] != nil)
        #expect(attendance["CLOUDCLASS_ACCESS_TOKEN_PUBLIC_KEY_FILE"] == secrets.publicKeyFile)
        for absent in ["CLOUDCLASS_SIGNING_KEY", "CLOUDCLASS_SIGNING_KEY_FILE", "CLOUDCLASS_EDGE_REPORT_PEPPER_FILE", "CLOUDCLASS_EDGE_REPORT_PEPPER"] {
            #expect(attendance[absent] == nil, "\(absent)")
        }
        let scheduling = secrets.environment(for: Self.services[0], among: Self.services, base: inherited)
        #expect(scheduling["CLOUDCLASS_SIGNING_KEY_FILE"] == secrets.file(Self.signing))
        #expect(scheduling["CLOUDCLASS_SIGNING_KEY"] == nil)
        #expect(scheduling["CLOUDCLASS_SESSION_TOKEN_KEY_FILE"] == nil)
        try? FileManager.default.removeItem(atPath: data)
    }
}
