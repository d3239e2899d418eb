import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Store

/// A user as sign-in sees it.
struct Account: Sendable {
    var id: UUID
    var username: String
    var displayName: String
    var role: Role
    var schoolID: UUID?
    var classID: UUID?
    var passwordHash: String?
    var active: Bool
    /// The secret of the user's calendar URL, once made.
    var calendarToken: String? = nil
}

/// What a presented refresh token turned out to be.
enum RefreshOutcome: Sendable {
    case rotated(Account, newToken: String)
    case unknown
    case expired
    case familyRevoked
    case userDeactivated
    /// Spent moments ago: almost surely the same client refreshing twice at once. Refused,
    /// but the family is left alone.
    case justSpent
    /// Spent a while ago and presented again: a stolen copy, or a stolen original. The family
    /// is revoked.
    case reused
}

/// Where an activation attempt stands before the new password is set.
enum ActivationCheck: Sendable {
    case valid(Account)
    case wrongCode(triesLeft: Int)
    case locked
    case expired
    /// No such user, or nothing to activate (already activated, deactivated).
    case nothingPending
}

/// Sign-in's queries. Every multi-row change runs in one transaction.
struct AuthStore: Sendable {
    let database: Database
    let refreshTokenLifetime: TimeInterval
    /// How long after a token is spent a second presentation counts as a concurrent duplicate.
    let reuseGrace: TimeInterval

    func account(username: String, logger: Logger) async throws -> Account? {
        try await accounts(
            "SELECT \(unescaped: Self.accountColumns) FROM scheduling.users WHERE username = \(username)",
            logger: logger
        ).first
    }

    func account(id: UUID, logger: Logger) async throws -> Account? {
        try await database.read(AccountByID(id: id), logger: logger).first.map(Self.account(from:))
    }

    /// `/me` and every signed-in lookup of oneself: the busiest read, prepared once per connection.
    struct AccountByID: PostgresPreparedStatement {
        static let sql = "SELECT \(AuthStore.accountColumns) FROM scheduling.users WHERE id = $1"
        typealias Row = (UUID, String, String, String, UUID?, UUID?, String?, Bool, String?)
        var id: UUID

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(id)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    static func account(from row: AccountByID.Row) -> Account {
        let (id, username, displayName, role, schoolID, classID, hash, active, calendarToken) = row
        return Account(
            id: id, username: username, displayName: displayName, role: Role(rawValue: role) ?? .student,
            schoolID: schoolID, classID: classID, passwordHash: hash, active: active, calendarToken: calendarToken
        )
    }

    static let accountColumns = "id, username, display_name, role, school_id, class_id, password_hash, active, calendar_token"

    private func accounts(_ query: PostgresQuery, logger: Logger) async throws -> [Account] {
        var found: [Account] = []
        for row in try await database.query(query, idempotent: true, logger: logger) {
            found.append(Self.account(from: try row.decode(AccountByID.Row.self)))
        }
        return found
    }

    /// Starts a login family and returns its first refresh token.
    func startFamily(userID: UUID, logger: Logger) async throws -> String {
        let token = TokenIssuer.newRefreshToken()
        let familyID = UUID()
        let expiresAt = Date().addingTimeInterval(refreshTokenLifetime)
        // Fresh ids each time: a retry after an unclear commit leaves at worst an unused family.
        try await database.withTransaction(logger: logger, idempotent: true) { connection in
            try await connection.query(
                "INSERT INTO scheduling.login_families (id, user_id) VALUES (\(familyID), \(userID))",
                logger: logger
            )
            try await connection.query(
                "INSERT INTO scheduling.refresh_tokens (token_hash, family_id, expires_at) VALUES (\(TokenIssuer.hash(refreshToken: token)), \(familyID), \(expiresAt))",
                logger: logger
            )
        }
        return token
    }

    /// Spends `token` and issues its successor in the same family. Of two concurrent calls with
    /// one token exactly one wins: the row lock makes the second see it spent.
    func rotate(token: String, logger: Logger) async throws -> RefreshOutcome {
        let hash = TokenIssuer.hash(refreshToken: token)
        let next = TokenIssuer.newRefreshToken()
        let expiresAt = Date().addingTimeInterval(refreshTokenLifetime)
        // A retry after an unclear commit finds the token spent and answers "just used": the
        // caller signs in again rather than two pairs ever existing.
        let winner: Account? = try await database.withTransaction(logger: logger, idempotent: true) { connection in
            let rows = try await connection.query(
                """
                UPDATE scheduling.refresh_tokens t SET spent_at = now()
                FROM scheduling.login_families f, scheduling.users u
                WHERE t.token_hash = \(hash) AND t.spent_at IS NULL AND t.expires_at > now()
                  AND f.id = t.family_id AND f.revoked_at IS NULL AND u.id = f.user_id AND u.active
                RETURNING f.id, u.id, u.username, u.display_name, u.role, u.school_id, u.class_id
                """,
                logger: logger
            )
            var account: Account?
            var familyID: UUID?
            for try await (family, id, username, displayName, role, schoolID, classID) in rows.decode(
                (UUID, UUID, String, String, String, UUID?, UUID?).self
            ) {
                familyID = family
                account = Account(
                    id: id, username: username, displayName: displayName, role: Role(rawValue: role) ?? .student,
                    schoolID: schoolID, classID: classID, passwordHash: nil, active: true
                )
            }
            guard let familyID else { return nil }
            try await connection.query(
                "INSERT INTO scheduling.refresh_tokens (token_hash, family_id, expires_at) VALUES (\(TokenIssuer.hash(refreshToken: next)), \(familyID), \(expiresAt))",
                logger: logger
            )
            return account
        }
        if let winner { return .rotated(winner, newToken: next) }
        return try await diagnose(hash: hash, logger: logger)
    }

    /// Why a token could not be spent; revokes its family when it was reused.
    private func diagnose(hash: Data, logger: Logger) async throws -> RefreshOutcome {
        let rows = try await database.query(
            """
            SELECT t.family_id, t.expires_at < now(), f.revoked_at IS NOT NULL, u.active,
                   extract(epoch FROM now() - t.spent_at)::float8
            FROM scheduling.refresh_tokens t
            JOIN scheduling.login_families f ON f.id = t.family_id
            JOIN scheduling.users u ON u.id = f.user_id
            WHERE t.token_hash = \(hash)
            """,
            idempotent: true,
            logger: logger
        )
        for row in rows {
            let (familyID, expired, revoked, active, spentSecondsAgo) = try row.decode((UUID, Bool, Bool, Bool, Double?).self)
            if revoked { return .familyRevoked }
            if !active { return .userDeactivated }
            if let spentSecondsAgo {
                if spentSecondsAgo <= reuseGrace { return .justSpent }
                try await revokeFamily(familyID, reason: "reuse", logger: logger)
                logger.warning("spent refresh token presented again; login family revoked", metadata: ["family_id": "\(familyID)"])
                return .reused
            }
            if expired { return .expired }
        }
        return .unknown
    }

    func revokeFamily(_ familyID: UUID, reason: String, logger: Logger) async throws {
        try await database.query(
            "UPDATE scheduling.login_families SET revoked_at = now(), revoked_reason = \(reason) WHERE id = \(familyID) AND revoked_at IS NULL",
            idempotent: true,
            logger: logger
        )
    }

    /// Deactivates a user and ends every sign-in of theirs; nil when there is no such user.
    func deactivate(userID: UUID, logger: Logger) async throws -> Account? {
        let found = try await database.withTransaction(logger: logger, idempotent: true) { connection in
            let rows = try await connection.query(
                "UPDATE scheduling.users SET active = false, deactivated_at = coalesce(deactivated_at, now()) WHERE id = \(userID) RETURNING id",
                logger: logger
            ).collect()
            guard !rows.isEmpty else { return false }
            try await connection.query(
                """
                UPDATE scheduling.login_families SET revoked_at = now(), revoked_reason = 'deactivated'
                WHERE user_id = \(userID) AND revoked_at IS NULL
                """,
                logger: logger
            )
            return true
        }
        return found ? try await account(id: userID, logger: logger) : nil
    }

    /// Checks a typed activation code, counting a wrong one against the user's five tries.
    func checkActivation(username: String, code: String, logger: Logger) async throws -> ActivationCheck {
        let rows = try await database.query(
            """
            SELECT u.id, u.display_name, u.role, u.school_id, u.class_id, a.code_hash, a.expires_at < now(), a.failed_attempts
            FROM scheduling.users u JOIN scheduling.activation_codes a ON a.user_id = u.id
            WHERE u.username = \(username) AND u.active
            """,
            idempotent: true,
            logger: logger
        )
        guard let row = rows.first else { return .nothingPending }
        let (id, displayName, role, schoolID, classID, storedHash, expired, failures) = try row.decode(
            (UUID, String, String, UUID?, UUID?, Data, Bool, Int16).self
        )
        if failures >= ActivationCode.maximumAttempts { return .locked }
        if expired { return .expired }
        guard ActivationCode.matches(code, userID: id, storedHash: storedHash) else {
            let counted = try await database.query(
                "UPDATE scheduling.activation_codes SET failed_attempts = failed_attempts + 1 WHERE user_id = \(id) RETURNING failed_attempts",
                idempotent: false,
                logger: logger
            )
            let now = try counted.first?.decode(Int16.self) ?? Int16(ActivationCode.maximumAttempts)
            return .wrongCode(triesLeft: max(0, ActivationCode.maximumAttempts - Int(now)))
        }
        return .valid(
            Account(
                id: id, username: username, displayName: displayName, role: Role(rawValue: role) ?? .student,
                schoolID: schoolID, classID: classID, passwordHash: nil, active: true
            )
        )
    }

    /// Spends the code and sets the password in one transaction; false when the code was spent,
    /// replaced or locked meanwhile (of two concurrent activations, one wins).
    func completeActivation(userID: UUID, code: String, passwordHash: String, logger: Logger) async throws -> Bool {
        try await database.withTransaction(logger: logger) { connection in
            let spent = try await connection.query(
                """
                DELETE FROM scheduling.activation_codes
                WHERE user_id = \(userID) AND code_hash = \(ActivationCode.hash(code, userID: userID))
                  AND failed_attempts < \(Int16(ActivationCode.maximumAttempts)) AND expires_at > now()
                RETURNING user_id
                """,
                logger: logger
            ).collect()
            guard !spent.isEmpty else { return false }
            try await connection.query(
                "UPDATE scheduling.users SET password_hash = \(passwordHash) WHERE id = \(userID)",
                logger: logger
            )
            return true
        }
    }

    /// Ends the login family `token` belongs to. Unknown tokens are ignored: logout is idempotent.
    func logout(token: String, logger: Logger) async throws {
        try await database.query(
            """
            UPDATE scheduling.login_families SET revoked_at = now(), revoked_reason = 'logout'
            WHERE id = (SELECT family_id FROM scheduling.refresh_tokens WHERE token_hash = \(TokenIssuer.hash(refreshToken: token)))
              AND revoked_at IS NULL
            """,
            idempotent: true,
            logger: logger
        )
    }
}
