import Foundation
import Logging
import ServiceLifecycle

/// Loads the fleet, the network table and the allocations from the database once the pool
/// runs (every edge starts down until it reports; see `Fleet.restore`), retrying while the database is not there yet; `/ready` and the fleet's routes
/// answer 503 until then. A shutdown stops the retrying: a loader still waiting for its database
/// once held every test's (and `up`'s) shutdown forever.
struct FleetLoader: Service {
    let fleet: Fleet
    let store: EdgeStore
    let networks: ViewerNetworks
    let networkStore: NetworkTableStore
    let allocationStore: AllocationStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let edges = try await store.all(logger: logger)
                    let map = try await networkStore.load(logger: logger)
                    let allocations = try await allocationStore.all(logger: logger)
                    for (edge, hash) in edges { fleet.put(edge, tokenHash: hash) }
                    networks.replace(with: map)
                    let (restored, dropped) = fleet.restore(allocations, now: Date())
                    fleet.markLoaded()
                    logger.info(
                        "fleet loaded",
                        metadata: ["edges": "\(edges.count)", "network_rows": "\(map.entries.count)", "allocations_restored": "\(restored)", "allocations_dropped": "\(dropped)"]
                    )
                    return
                } catch {
                    logger.warning("cannot load the fleet yet", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        // A service that returns ends the whole process: this one waits for the end.
        try? await gracefulShutdown()
    }
}
