import Foundation
import Logging
import ServiceLifecycle

/// Releases allocations nobody renewed in time, once a second.
struct LeaseExpiry: Service {
    let fleet: Fleet
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let expired = fleet.expireLeases(now: Date())
                if expired > 0 { logger.info("allocations expired", metadata: ["count": "\(expired)"]) }
            }
        }
    }
}
