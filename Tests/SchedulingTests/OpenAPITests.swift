import Foundation
import Platform
import Scheduling
import ServiceCatalog
import ServiceKit
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

    @Test func theDocumentAndTheRoutersAgree() async throws {
        let app = try await TestApp.make()
        let served = Set(try await app.service.buildRoutes().routes.filter { !Self.operational.contains($0.path) && !$0.path.hasPrefix("/internal/") }.map(\.description))
        let documented = try Self.documented()
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
    }

    @Test func everyDocumentedPathReachesItsServiceThroughTheGateway() throws {
        let gateway = GatewayRoutes(services: ServiceCatalog.all)
        for route in try Self.documented() {
            let path = String(route.split(separator: " ")[1]).replacingOccurrences(of: "\\{[^}]+\\}", with: "0f8fad5b-d9cb-469f-a165-70867728950e", options: .regularExpression)
            #expect(gateway.service(for: path) == .scheduling, "\(route)")
        }
        for hidden in ["/internal/v1/users/1", "/media/v1/secret/on_publish", "/metrics"] {
            #expect(gateway.service(for: hidden) == nil, "\(hidden)")
        }
        #expect(gateway.service(for: "/api/v1forecasting") == nil)
    }
}
