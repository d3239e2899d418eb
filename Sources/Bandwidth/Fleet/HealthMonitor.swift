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

