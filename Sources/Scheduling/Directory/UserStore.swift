import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Store

/// A user about to be created, by the user API or a roster import.
struct NewAccount: Sendable {
    var id = UUID()
    var username: String
    var displayName: String
    var role: Role
    var schoolID: UUID?
    var classID: UUID?
    var passwordHash: String?
    /// Set for users without a password: returned once to the administrator, stored hashed.
    var activationCode: String?

    init(username: String, displayName: String, role: Role, schoolID: UUID?, classID: UUID?, passwordHash: String?) {
        self.username = username
        self.displayName = displayName
        self.role = role
        self.schoolID = schoolID
        self.classID = classID
        self.passwordHash = passwordHash
        self.activationCode = passwordHash == nil ? ActivationCode.generate() : nil
    }
}

/// Writes users in bulk (one statement for any number of rows, inside the caller's transaction).
enum UserStore {
    /// The database's `users_username_check`, checked before any use of the name.
    static let username = IdentifierRule(
        first: IdentifierRule.lowercaseLetters + IdentifierRule.digits,
        rest: IdentifierRule.lowercaseLetters + IdentifierRule.digits + "._-",
        length: 2...64,
        describe: "must be 2 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
    )
    static let displayName = TextRule.name(upTo: 200)

    static func insert(_ accounts: [NewAccount], on connection: PostgresConnection, logger: Logger) async throws {
        guard !accounts.isEmpty else { return }
        // Optional values travel as '' in text arrays: PostgresNIO binds no arrays of optionals.
        try await connection.query(
            """
            INSERT INTO scheduling.users (id, username, display_name, role, school_id, class_id, password_hash)
            SELECT id, username, display_name, role, NULLIF(school, '')::uuid, NULLIF(class, '')::uuid, NULLIF(hash, '')
            FROM unnest(\(accounts.map(\.id))::uuid[], \(accounts.map(\.username))::text[], \(accounts.map(\.displayName))::text[],
                        \(accounts.map(\.role.rawValue))::text[], \(accounts.map { $0.schoolID?.lowercased ?? "" })::text[],
                        \(accounts.map { $0.classID?.lowercased ?? "" })::text[], \(accounts.map { $0.passwordHash ?? "" })::text[])
                 AS t(id, username, display_name, role, school, class, hash)
            """,
            logger: logger
        )
        let pending = accounts.filter { $0.activationCode != nil }
        try await storeActivationCodes(pending.map { ($0.id, $0.activationCode!) }, on: connection, logger: logger)
    }

    /// Replaces the users' pending codes (a fresh code also clears the count of wrong tries).
    static func storeActivationCodes(_ codes: [(userID: UUID, code: String)], on connection: PostgresConnection, logger: Logger) async throws {
        guard !codes.isEmpty else { return }
        let hashes = codes.map { ActivationCode.hash($0.code, userID: $0.userID).hexString }
        let expiresAt = Date().addingTimeInterval(ActivationCode.lifetime)
        try await connection.query(
            """
            INSERT INTO scheduling.activation_codes (user_id, code_hash, expires_at)
            SELECT id, decode(h, 'hex'), \(expiresAt) FROM unnest(\(codes.map(\.userID))::uuid[], \(hashes)::text[]) AS t(id, h)
            ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, expires_at = excluded.expires_at,
                failed_attempts = 0, created_at = now()
            """,
            logger: logger
        )
    }
}

extension Data {
    /// Lower-case hex, fast enough for a hundred thousand hashes.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(count * 2)
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
