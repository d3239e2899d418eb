import Foundation
import ServiceKit

// The messages of CloudClass's internal protocol (docs/internal-protocol.md). Both sides use
// these types, so a change to a message is a compile error on both.

/// `GET /internal/v1/users/{id}` (scheduling): a user as other services need to know them.
public struct UserInfo: Codable, Sendable, Equatable {
    public var id: UUID
    public var username: String
    public var displayName: String
    public var role: Role
    public var schoolID: UUID?
    public var active: Bool

    public init(id: UUID, username: String, displayName: String, role: Role, schoolID: UUID?, active: Bool) {
        self.id = id
        self.username = username
        self.displayName = displayName
        self.role = role
        self.schoolID = schoolID
        self.active = active
    }

    enum CodingKeys: String, CodingKey {
        case id, username, role, active
        case displayName = "display_name"
        case schoolID = "school_id"
    }
}

/// The paths of the internal protocol: the server registers the patterns, the client builds
/// the concrete paths, from one place.
public enum InternalRoutes {
    public static let userPattern = "/internal/v1/users/:id"

    public static func user(_ id: UUID) -> String { "/internal/v1/users/\(id.lowercased)" }
}
