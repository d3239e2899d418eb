import Foundation
import Hummingbird
import InternalProtocol
import Logging
import ServiceKit
import ServiceLifecycle
import Store

/// The bandwidth service: the edge fleet and its health (and, with the next steps, where each
/// viewer is and which edge serves them).
public struct BandwidthService: CloudClassService {
    public let settings: ServiceSettings
    public let database: Database
    public let fleet: Fleet
    public let deactivatedUsers = DeactivatedUsers()
    public var deactivationSource: any DeactivationSource { SchedulingClient(settings: settings) }
    let store: EdgeStore

    public init(settings: ServiceSettings, database: Database, fleet: Fleet = Fleet()) {
        self.settings = settings
        self.database = database
        self.fleet = fleet
        store = EdgeStore(database: database)
    }

    public var notReadyBecause: String? { fleet.isLoaded ? nil : "The fleet is being loaded." }

    public func addRoutes(to routes: RouteTable) {
        EdgesController(fleet: fleet, store: store).register(on: routes)
    }

    public func backgroundServices(logger: Logger) -> [any Service] {
        [FleetLoader(fleet: fleet, store: store, logger: logger), HealthMonitor(fleet: fleet, store: store, logger: logger)]
    }

    public var gauges: [ServiceMetrics.SampledGauge] {
        let fleet = self.fleet
        return [
            .init("cloudclass_edges_up", help: "Edges whose reports arrive") { Double(fleet.all.filter { $0.health == .up }.count) },
            .init("cloudclass_edges", help: "Edges in the fleet") { Double(fleet.all.count) },
        ]
    }
}

extension BandwidthService {
    public static let descriptor = ServiceDescriptor(
        name: .bandwidth,
        schema: ServiceSchema(service: "bandwidth"),
        gatewayRoutes: [.init("^/api/v1/edges(/|$)")],
        make: { settings, _, database in BandwidthService(settings: settings, database: database) }
    )
}
