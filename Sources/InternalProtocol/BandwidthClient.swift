import Foundation
import Logging
import ServiceKit

/// The bandwidth service's allocation endpoints, typed.
public struct BandwidthClient: Sendable {
    let client: InternalClient
    let base: URL

    public init(client: InternalClient, base: URL) {
        self.client = client
        self.base = base
    }

    public init(settings: ServiceSettings) {
        let (client, base) = InternalClient.toward(.bandwidth, settings: settings)
        self.init(client: client, base: base)
    }

    /// Idempotent when the request carries its own `allocationID` (then it is retried).
    public func allocate(_ request: AllocationRequest, requestID: String?, logger: Logger) async throws -> AllocationAnswer {
        try await client.post(
            base, InternalRoutes.allocations, body: request, as: AllocationAnswer.self, idempotent: request.allocationID != nil, requestID: requestID,
            logger: logger
        ).message
    }

    public func renew(_ ids: [UUID], requestID: String?, logger: Logger) async throws -> [Renewal] {
        try await client.post(base, InternalRoutes.renewals, body: AllocationIDs(ids), as: Renewals.self, idempotent: true, requestID: requestID, logger: logger)
            .message.renewals
    }

    @discardableResult
    public func release(_ ids: [UUID], requestID: String?, logger: Logger) async throws -> Int {
        try await client.post(base, InternalRoutes.releases, body: AllocationIDs(ids), as: Releases.self, idempotent: true, requestID: requestID, logger: logger)
            .message.released
    }
}
