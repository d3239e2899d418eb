import Foundation

// The bandwidth service's allocation messages (docs/internal-protocol.md, "Allocations").

extension InternalRoutes {
    public static let allocations = "/internal/v1/allocations"
    public static let renewals = "/internal/v1/allocations/renew"
    public static let releases = "/internal/v1/allocations/release"
    /// Ids per renewal or release call.
    public static let mostAllocationsPerCall = 10_000
}

/// `POST /internal/v1/allocations`: a place for one viewer of a lesson. Where the viewer is comes
/// from their address (the network table), else from the hints, else the roomiest place.
public struct AllocationRequest: Codable, Sendable, Equatable {
    /// The caller's id for this allocation: sending the same request again (after a lost
    /// answer) returns the same allocation instead of a second one.
    public var allocationID: UUID?
    public var lessonID: UUID
    /// The viewer's IP address as the gateway saw it.
    public var viewerAddress: String?
    /// Used when the address says nothing: the viewer's network and region (GB/T 2260 code,
    /// e.g. the school's).
    public var network: String?
    public var region: String?
    /// The rendition asked for (default: the best); the answer may step it down.
    public var rendition: String?

    public init(allocationID: UUID? = nil, lessonID: UUID, viewerAddress: String? = nil, network: String? = nil, region: String? = nil, rendition: String? = nil) {
        self.allocationID = allocationID
        self.lessonID = lessonID
        self.viewerAddress = viewerAddress
        self.network = network
        self.region = region
        self.rendition = rendition
    }

    enum CodingKeys: String, CodingKey {
        case network, region, rendition
        case allocationID = "allocation_id"
        case lessonID = "lesson_id"
        case viewerAddress = "viewer_address"
    }
}

/// One viewer's place: the edge and the rendition they pull, until `expiresAt` unless renewed.
public struct Allocation: Codable, Sendable, Equatable {
    public var allocationID: UUID
    public var lessonID: UUID
    public var edgeID: UUID
    public var edgeName: String
    public var baseURL: String
    public var rendition: String
    public var bitrateMbps: Double
    /// The edge's network and region.
    public var network: String
    public var region: String
    public var crossNetwork: Bool
    public var crossRegion: Bool
    /// Served below the rendition asked for.
    public var downgraded: Bool
    public var expiresAt: Date

    public init(
        allocationID: UUID, lessonID: UUID, edgeID: UUID, edgeName: String, baseURL: String, rendition: String, bitrateMbps: Double, network: String,
        region: String, crossNetwork: Bool, crossRegion: Bool, downgraded: Bool, expiresAt: Date
    ) {
        self.allocationID = allocationID
        self.lessonID = lessonID
        self.edgeID = edgeID
        self.edgeName = edgeName
        self.baseURL = baseURL
        self.rendition = rendition
        self.bitrateMbps = bitrateMbps
        self.network = network
        self.region = region
        self.crossNetwork = crossNetwork
        self.crossRegion = crossRegion
        self.downgraded = downgraded
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case rendition, network, region, downgraded
        case allocationID = "allocation_id"
        case lessonID = "lesson_id"
        case edgeID = "edge_id"
        case edgeName = "edge_name"
        case baseURL = "base_url"
        case bitrateMbps = "bitrate_mbps"
        case crossNetwork = "cross_network"
        case crossRegion = "cross_region"
        case expiresAt = "expires_at"
    }
}

/// No edge the ladder may use has room: ask again after `retryAfterSeconds` (a join answers
/// 503 with that Retry-After).
public struct AllocationRefusal: Codable, Sendable, Equatable {
    public var reason: String
    public var retryAfterSeconds: Double

    public init(reason: String, retryAfterSeconds: Double) {
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case retryAfterSeconds = "retry_after_seconds"
    }
}

/// The answer to an allocation: exactly one of the two. A refusal is an answer, not an error:
/// the call worked and there is no room.
public struct AllocationAnswer: Codable, Sendable, Equatable {
    public var placed: Allocation?
    public var refused: AllocationRefusal?

    public init(placed: Allocation) {
        self.placed = placed
        refused = nil
    }

    public init(refused: AllocationRefusal) {
        placed = nil
        self.refused = refused
    }
}

/// `POST /internal/v1/allocations/renew` and `…/release`: allocations by id.
public struct AllocationIDs: Codable, Sendable, Equatable {
    public var allocationIDs: [UUID]

    public init(_ ids: [UUID]) { allocationIDs = ids }

    enum CodingKeys: String, CodingKey {
        case allocationIDs = "allocation_ids"
    }
}

/// Per allocation renewed: still there, moved (switch to `movedTo`), lost (moved but nowhere
/// had room: join again after `retryAfterSeconds`) or unknown (expired, released, never was).
public struct Renewal: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case renewed, moved, lost, unknown
    }

    public var allocationID: UUID
    public var state: State
    public var expiresAt: Date?
    public var movedTo: Allocation?
    public var retryAfterSeconds: Double?

    public init(allocationID: UUID, state: State, expiresAt: Date? = nil, movedTo: Allocation? = nil, retryAfterSeconds: Double? = nil) {
        self.allocationID = allocationID
        self.state = state
        self.expiresAt = expiresAt
        self.movedTo = movedTo
        self.retryAfterSeconds = retryAfterSeconds
    }

    enum CodingKeys: String, CodingKey {
        case state
        case allocationID = "allocation_id"
        case expiresAt = "expires_at"
        case movedTo = "moved_to"
        case retryAfterSeconds = "retry_after_seconds"
    }
}

public struct Renewals: Codable, Sendable, Equatable {
    public var renewals: [Renewal]
    public init(_ renewals: [Renewal]) { self.renewals = renewals }
}

public struct Releases: Codable, Sendable, Equatable {
    /// How many of the ids were held (the rest were already gone).
    public var released: Int
    public init(released: Int) { self.released = released }
}
