import Foundation
import Logging
import ServiceLifecycle

/// Marks an edge down once it has missed three reports (3 s at one a second; Apache Traffic
/// Control's monitor takes 6–10 s), checking ten times a second; its viewers are moved at once.
struct HealthMonitor: Service {
    let fleet: Fleet
    let store: EdgeStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for id in fleet.markSilentEdgesDown(at: Date()) {
                    logger.warning("edge down: no report", metadata: ["edge": "\(id.lowercased)", "missed": "\(fleet.missedReports)"])
                    try? await store.recordHealth(id, .down, reason: "\(fleet.missedReports) reports missed", logger: logger)
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// Loads the fleet from the database once the pool runs (every edge starts down until it
/// reports), retrying while the database is not there yet; the fleet's routes answer 503 until then.
struct FleetLoader: Service {
    let fleet: Fleet
    let store: EdgeStore
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled {
            do {
                let edges = try await store.all(logger: logger)
                for (edge, hash) in edges { fleet.put(edge, tokenHash: hash) }
                fleet.markLoaded()
                logger.info("fleet loaded", metadata: ["edges": "\(edges.count)"])
                // A service that returns ends the whole process: this one waits for the end.
                try? await gracefulShutdown()
                return
            } catch {
                logger.warning("cannot load the fleet yet", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
