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
    /// The canonical lower-case text form every CloudClass response uses. Written directly:
    /// `uuidString.lowercased()` formats and then case-maps, several times per response.
    public var lowercased: String {
        let digits: StaticString = "0123456789abcdef"
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                digits.withUTF8Buffer { hex in
                    var position = 0
                    for (index, byte) in bytes.enumerated() {
                        if index == 4 || index == 6 || index == 8 || index == 10 {
                            out[position] = UInt8(ascii: "-")
                            position += 1
                        }
                        out[position] = hex[Int(byte >> 4)]
                        out[position + 1] = hex[Int(byte & 0x0F)]
                        position += 2
                    }
                    return position
                }
            }
        }
    }
}
