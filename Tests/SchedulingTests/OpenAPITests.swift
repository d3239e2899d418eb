import Foundation
import Logging
import Platform
import Scheduling
import ServiceCatalog
import ServiceKit
import Store
import TestSupport
import Testing
import Yams

/// docs/openapi.yaml and the routers must describe the same public API, both ways, and every
/// public path must reach the service that serves it through the gateway.
@Suite struct OpenAPITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Open to everyone but not public API: probes, served on each service's own port.
    static let operational: Set<String> = ["/health", "/ready", "/metrics"]

    static func documented() throws -> Set<String> {
        let text = try String(contentsOf: repository.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var routes: Set<String> = []
        let methods: Set<String> = ["get", "put", "post", "delete", "patch"]
        for (path, item) in paths {
            let operations = try #require(item as? [String: Any])
            for method in operations.keys where methods.contains(method) {
                routes.insert("\(method.uppercased()) \(path)")
            }
        }
        return routes
    }

    /// Every public route of every service in the catalog, with the service that serves it;
    /// each built the way `serve` builds it, from its descriptor.
    static func served() async throws -> [String: ServiceName] {
        let database = try await TestPostgres.shared.freshDatabase()
        let environment = ConfigReader([
            "CLOUDCLASS_SIGNING_KEY": TestKeys.signingKeyPEM, "CLOUDCLASS_BCRYPT_COST": "4", "CLOUDCLASS_SESSION_TOKEN_KEY": "test-session-token-key-0123456789",
            "CLOUDCLASS_PLAYBACK_SIGNING_KEY": "test-playback-signing-key-0123",
        ])
        var served: [String: ServiceName] = [:]
        for descriptor in ServiceCatalog.all {
            let pool = Database(settings: TestPostgres.asService(descriptor.name.rawValue, database), logger: Logger(label: "test.openapi"))
            let service = try await descriptor.make(TestKeys.settings(for: descriptor.name), environment, pool)
            for route in try await service.buildRoutes().routes where !operational.contains(route.path) && !route.path.hasPrefix("/internal/") {
                #expect(served[route.description] == nil, "\(route) is served twice")
                served[route.description] = descriptor.name
            }
        }
        return served
    }

    @Test func theDocumentAndTheRoutersAgree() async throws {
        let served = Set(try await Self.served().keys)
        let documented = try Self.documented()
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
    }

    @Test func everyDocumentedPathReachesTheServiceThatServesItThroughTheGateway() async throws {
        let gateway = GatewayRoutes(services: ServiceCatalog.all)
        let served = try await Self.served()
        for route in try Self.documented() {
            let path = String(route.split(separator: " ")[1]).replacingOccurrences(of: "\\{[^}]+\\}", with: "0f8fad5b-d9cb-469f-a165-70867728950e", options: .regularExpression)
            #expect(gateway.service(for: path) == served[route], "\(route)")
        }
        for hidden in ["/internal/v1/users/1", "/media/v1/secret/on_publish", "/metrics"] {
            #expect(gateway.service(for: hidden) == nil, "\(hidden)")
        }
        #expect(gateway.service(for: "/api/v1forecasting") == nil)
    }
}
