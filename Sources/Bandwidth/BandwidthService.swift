import Foundation
import Hummingbird
import InternalProtocol
import Logging
import ServiceKit
import ServiceLifecycle
import Store

/// The bandwidth service: the edge fleet and its health, where each viewer is (the network
/// table) and which edge serves them.
public struct BandwidthService: CloudClassService {
    public let settings: ServiceSettings
    public let database: Database
    public let fleet: Fleet
    public let networks = ViewerNetworks()
    public let deactivatedUsers = DeactivatedUsers()
    public var deactivationSource: any DeactivationSource { SchedulingClient(settings: settings) }
    let store: EdgeStore
    let networkStore: NetworkTableStore
    let allocationStore: AllocationStore

    public init(settings: ServiceSettings, database: Database, fleet: Fleet = Fleet()) {
        self.settings = settings
        self.database = database
        self.fleet = fleet
        store = EdgeStore(database: database)
        networkStore = NetworkTableStore(database: database)
        allocationStore = AllocationStore(database: database)
    }

    public var notReadyBecause: String? { fleet.isLoaded ? nil : "The fleet is being loaded." }

    public func addRoutes(to routes: RouteTable) {
        EdgesController(fleet: fleet, store: store).register(on: routes)
        NetworksController(networks: networks, store: networkStore, fleet: fleet).register(on: routes)
        AllocationsController(fleet: fleet, networks: networks).register(on: routes)
    }

    public func backgroundServices(logger: Logger) -> [any Service] {
        [
            FleetLoader(fleet: fleet, store: store, networks: networks, networkStore: networkStore, allocationStore: allocationStore, logger: logger),
            HealthMonitor(fleet: fleet, store: store, logger: logger),
            GroupCommitWriter(journal: fleet.journal, what: "allocations", batchLimit: 5_000, logger: logger) { [allocationStore, logger] in
                try await allocationStore.apply($0, logger: logger)
            },
            LeaseExpiry(fleet: fleet, logger: logger),
        ]
    }

    public var gauges: [ServiceMetrics.SampledGauge] {
        let fleet = self.fleet
        return [
            .init("cloudclass_edges_up", help: "Edges whose reports arrive") { Double(fleet.all.filter { $0.health == .up }.count) },
            .init("cloudclass_edges", help: "Edges in the fleet") { Double(fleet.all.count) },
            .init("cloudclass_allocations", help: "Viewers' allocations held") { Double(fleet.allocationCount) },
            .init("cloudclass_allocation_writes_pending", help: "Allocation changes not yet stored") { Double(fleet.journal.pendingCount) },
        ]
    }
}

extension BandwidthService {
    public static let descriptor = ServiceDescriptor(
        name: .bandwidth,
        schema: ServiceSchema(service: "bandwidth"),
        gatewayRoutes: [.init("^/api/v1/edges(/|$)"), .init("^/api/v1/networks(/|$)", maximumBodyBytes: NetworksController.maximumBodyBytes)],
        make: { settings, _, database in BandwidthService(settings: settings, database: database) },
        seedDemo: DemoFleet.seed,
        demoSummary: [
            "edges: demo-hubei-mobile, demo-beijing-unicom, demo-guangdong-telecom (127.0.0.1:8211-8213), reporting every second",
            "network table: the national table plus 127.0.1.0/24 Hubei mobile, 127.0.2.0/24 Beijing unicom, 127.0.3.0/24 Guangdong telecom",
        ]
    )
}
