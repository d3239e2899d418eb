import Foundation
import Hummingbird
import PostgresNIO
import ServiceKit
import Store

/// Administrators create single users and hand out activation codes.
struct UsersController: Sendable {
    let database: Database
    let hasher: PasswordHasher

    struct NewUser: Decodable {
        var username: String
        var display_name: String
        var role: Role
        var school_id: UUID?
        var class_id: UUID?
        var password: String?
    }

    struct CreatedUser: ResponseEncodable {
        var id: String
        var username: String
        var display_name: String
        var role: Role
        var school_id: String?
        var class_id: String?
        var active: Bool
        /// Only when the user has no password yet; shown this once.
        var activation_code: String?
        var activation_expires_at: Date?
    }

    struct IssuedCode: ResponseEncodable {
        var user_id: String
        var username: String
        var activation_code: String
        var activation_expires_at: Date
    }

    func register(on routes: RouteTable) {
        routes.post("/api/v1/users", for: .users(.admin), use: create)
        routes.post("/api/v1/users/:id/activation-code", for: .users(.admin), use: issueCode)
    }

    @Sendable func create(_ request: Request, context: CallerContext<Identity>) async throws -> EditedResponse<CreatedUser> {
        let body = try await request.decodeJSON(as: NewUser.self, context: context)
        var errors: [Problem.FieldError] = []
        let username = UserStore.username.check(body.username, field: "username", into: &errors) ?? ""
        let displayName = UserStore.displayName.check(body.display_name, field: "display_name", into: &errors) ?? ""
        if let password = body.password, !Passwords.isAcceptable(password) {
            errors.append(.init(field: "password", message: Passwords.rule))
        }
        if body.role == .student && body.school_id == nil && body.class_id == nil {
            errors.append(.init(field: "school_id", message: "is required for a student (or give class_id)"))
        }
        if body.role != .student && body.class_id != nil {
            errors.append(.init(field: "class_id", message: "only students belong to a class"))
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }

        var passwordHash: String?
        if let password = body.password { passwordHash = try await hasher.hash(password) }
        var account = NewAccount(username: username, displayName: displayName, role: body.role, schoolID: body.school_id, classID: body.class_id, passwordHash: passwordHash)
        do {
            try await database.withTransaction(logger: context.logger) { connection in
                if let classID = body.class_id {
                    let schools = try await connection.query("SELECT school_id FROM scheduling.classes WHERE id = \(classID)", logger: context.logger)
                    var classSchool: UUID?
                    for try await school in schools.decode(UUID.self) { classSchool = school }
                    guard let classSchool else { throw Problem.invalid(field: "class_id", "names no class") }
                    if let schoolID = body.school_id, schoolID != classSchool {
                        throw Problem.invalid(field: "class_id", "is a class of another school than school_id")
                    }
                    account.schoolID = classSchool
                }
                try await UserStore.insert([account], on: connection, logger: context.logger)
            }
        } catch where error.isUniqueViolation {
            throw Problem(.conflict, detail: "The username \"\(username)\" is taken.", errors: [.init(field: "username", message: "is taken")])
        } catch where error.isForeignKeyViolation {
            throw Problem.invalid(field: "school_id", "names no school")
        }
        context.logger.notice("user created", metadata: ["target": "\(account.id.lowercased)", "role": "\(account.role.rawValue)"])
        return EditedResponse(
            status: .created,
            response: CreatedUser(
                id: account.id.lowercased, username: account.username, display_name: account.displayName, role: account.role,
                school_id: account.schoolID?.lowercased, class_id: account.classID?.lowercased, active: true,
                activation_code: account.activationCode,
                activation_expires_at: account.activationCode.map { _ in Date().addingTimeInterval(ActivationCode.lifetime) }
            )
        )
    }

    /// A new code for a user who lost theirs or locked it: the old one stops working, and a
    /// password they set is cleared only when they activate with the new code.
    @Sendable func issueCode(_ request: Request, context: CallerContext<Identity>) async throws -> IssuedCode {
        let id = try context.parameters.uuid("id")
        let code = ActivationCode.generate()
        let username: String? = try await database.withTransaction(logger: context.logger, idempotent: true) { connection in
            var username: String?
            let rows = try await connection.query("SELECT username FROM scheduling.users WHERE id = \(id) AND active", logger: context.logger)
            for try await name in rows.decode(String.self) { username = name }
            guard username != nil else { return nil }
            try await UserStore.storeActivationCodes([(id, code)], on: connection, logger: context.logger)
            return username
        }
        guard let username else { throw Problem.notFound("No active user has id \(id.lowercased).") }
        return IssuedCode(user_id: id.lowercased, username: username, activation_code: code, activation_expires_at: Date().addingTimeInterval(ActivationCode.lifetime))
    }
}

/// What a password must be.
enum Passwords {
    static let rule = "must be 8 to 256 bytes, without NUL characters"
    /// bcrypt reads its input as a C string: everything after a NUL would be ignored.
    static func isAcceptable(_ password: String) -> Bool { (8...256).contains(password.utf8.count) && !password.utf8.contains(0) }
}
