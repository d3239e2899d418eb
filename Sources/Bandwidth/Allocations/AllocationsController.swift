import Allocation
import Foundation
import Hummingbird
import InternalProtocol
import Logging
import Reference
import ServiceKit

/// `/internal/v1/allocations`: broadcast places a joining viewer, attendance renews the leases
/// of the sessions it saw and releases those that left.
struct AllocationsController: Sendable {
    let fleet: Fleet
    let networks: ViewerNetworks
    /// How long an allocation waits for its batch to commit before the join is told to retry.
    static let commitTimeout = Duration.seconds(2)

    func register(on routes: RouteTable) {
        routes.post(InternalRoutes.allocations, for: .services, use: fleet.whenLoaded(allocate))
        routes.post(InternalRoutes.renewals, for: .services, use: fleet.whenLoaded(renew))
        routes.post(InternalRoutes.releases, for: .services, use: fleet.whenLoaded(release))
    }

    /// Where the viewer is: their address's row of the network table first (its region, when
    /// blank, from the hint), else the hints.
    func locate(_ request: AllocationRequest) throws -> (network: Network?, region: Int?) {
        var errors: [Problem.FieldError] = []
        var network = request.network.flatMap(Network.init(rawValue:))
        if request.network != nil, network == nil { errors.append(.init(field: "network", message: "must be telecom, unicom, mobile or cernet")) }
        var region = request.region.flatMap(Allocator.regionIndex)
        if request.region != nil, region == nil { errors.append(.init(field: "region", message: "must be one of the 31 region codes")) }
        if let address = request.viewerAddress {
            if IPPrefix.address(address) == nil {
                errors.append(.init(field: "viewer_address", message: "must be an IPv4 or IPv6 address"))
            } else if let entry = networks.locate(address) {
                network = entry.network
                region = entry.region ?? region
            }
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        return (network, region)
    }

    @Sendable func allocate(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<AllocationAnswer> {
        let body = try await request.decodeJSON(as: AllocationRequest.self, context: context, reading: .tolerant)
        let (network, region) = try locate(body)
        let rendition = try body.rendition.map { name in
            guard let index = fleet.policy.renditions.firstIndex(where: { $0.name == name }) else {
                throw Problem.invalid(field: "rendition", "must be one of \(fleet.policy.renditions.map(\.name).joined(separator: ", "))")
            }
            return index
        } ?? 0
        let id = body.allocationID ?? UUID()
        switch fleet.allocate(id: id, lesson: body.lessonID, network: network, region: region, rendition: rendition, now: Date()) {
        case .idTaken:
            throw Problem(.conflict, detail: "Allocation \(id.lowercased) belongs to another lesson.")
        case .refused(let refusal):
            context.logger.info("allocation refused", metadata: ["lesson": "\(body.lessonID.lowercased)", "reason": "\(refusal.reason.rawValue)"])
            return InternalMessage(AllocationAnswer(refused: AllocationRefusal(reason: refusal.reason.rawValue, retryAfterSeconds: refusal.retryAfterSeconds)))
        case .placed(let allocation, let sequence):
            guard await fleet.journal.committed(sequence, within: Self.commitTimeout) else {
                _ = fleet.release([id])
                throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "The allocation could not be stored in time; try again.")
            }
            return InternalMessage(AllocationAnswer(placed: allocation))
        }
    }

    func ids(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> [UUID] {
        let body = try await request.decodeJSON(as: AllocationIDs.self, context: context, reading: .tolerant)
        guard body.allocationIDs.count <= InternalRoutes.mostAllocationsPerCall else {
            throw Problem.invalid(field: "allocation_ids", "at most \(InternalRoutes.mostAllocationsPerCall) a call")
        }
        return body.allocationIDs
    }

    @Sendable func renew(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<Renewals> {
        InternalMessage(Renewals(fleet.renew(try await ids(request, context: context), now: Date())))
    }

    @Sendable func release(_ request: Request, context: CallerContext<ServiceCaller>) async throws -> InternalMessage<Releases> {
        InternalMessage(Releases(released: fleet.release(try await ids(request, context: context))))
    }
}
