import Foundation

public enum Role: String, Codable, Sendable, CaseIterable {
    case admin, teacher, student
}

/// Who is calling, as proven by a verified access token.
public struct Identity: Sendable, Equatable {
    public var userID: UUID
    public var role: Role

    public init(userID: UUID, role: Role) {
        self.userID = userID
        self.role = role
    }
}

extension UUID {
    /// The canonical lower-case text form every CloudClass response uses.
    public var lowercased: String { uuidString.lowercased() }
}
