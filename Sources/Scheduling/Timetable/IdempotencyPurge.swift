import Logging
import ServiceLifecycle

/// Forgets idempotency answers older than a day, once an hour.
struct IdempotencyPurge: Service {
    let idempotency: Idempotency
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await idempotency.purge(logger: logger)
                } catch {
                    logger.warning("could not purge old idempotency keys", metadata: ["error": "\(String(reflecting: error))"])
                }
                try await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
