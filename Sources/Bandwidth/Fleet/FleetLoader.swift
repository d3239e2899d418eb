import Foundation
import Logging
import ServiceLifecycle

/// Loads the fleet from the database once the pool runs (every edge starts down until it
/// reports), retrying while the database is not there yet; `/ready` and the fleet's routes
/// answer 503 until then. A shutdown stops the retrying: a loader still waiting for its database
/// once held every test's (and `up`'s) shutdown forever.
struct FleetLoader: Service {
    let fleet: Fleet
    let store: EdgeStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let edges = try await store.all(logger: logger)
                    for (edge, hash) in edges { fleet.put(edge, tokenHash: hash) }
                    fleet.markLoaded()
                    logger.info("fleet loaded", metadata: ["edges": "\(edges.count)"])
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
