import CSV
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Store

/// `POST /api/v1/schools/{id}/roster`: a school's whole roster from its spreadsheet, all rows or
/// none. Re-importing updates people by username; nobody missing from the file is touched.
struct RosterController: Sendable {
    /// The largest roster file accepted (about 300,000 rows); the gateway allows the same on
    /// this path only.
    static let maximumBodyBytes = 32 << 20

    let database: Database
    let idempotency: Idempotency

    struct Issued: Codable, Sendable {
        var username: String
        var display_name: String
        var class_name: String?
        var activation_code: String
    }

    struct Outcome: ResponseEncodable, Decodable {
        /// New users and their one-time activation codes, shown this once.
        var items: [Issued]
        var created: Int
        var updated: Int
        var unchanged: Int
        /// Active people of the school the file did not list (left as they are).
        var not_in_file: Int
    }

    private struct Existing {
        var id: UUID
        var schoolID: UUID?
        var role: String
        var displayName: String
        var classID: UUID?
    }

    func register(on routes: RouteTable) {
        routes.post("/api/v1/schools/:id/roster", for: .users(.admin), use: importRoster)
    }

    @Sendable func importRoster(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let schoolID = try context.parameters.uuid("id")
        let upload = try await request.csvUpload(upTo: Self.maximumBodyBytes, expected: "the roster with the header \(RosterFile.columns.joined(separator: ","))")
        let (body, text) = (upload.bytes, upload.text)
        let file = try RosterFile(csv: text)
        guard !file.entries.isEmpty || !file.errors.isEmpty else {
            throw Problem.invalid(field: "body", "the file lists nobody")
        }
        let started = ContinuousClock.now
        // With an Idempotency-Key, a file re-sent after an unclear outcome (a 503 after the
        // commit, a dropped connection) gets the first import's answer, codes included, instead
        // of creating its blank-username pupils twice. The stored answer lives one day.
        let answer = try await idempotency.answer(request, body: body, caller: context.caller.userID, logger: context.logger) { connection in
            try Idempotency.answer(.ok, try await apply(file, schoolID: schoolID, on: connection, logger: context.logger))
        }
        let outcome = try JSONDecoder().decode(Outcome.self, from: answer.body)
        context.logger.notice(
            "roster imported",
            metadata: [
                "school_id": "\(schoolID.lowercased)", "created": "\(outcome.created)", "updated": "\(outcome.updated)",
                "seconds": "\((ContinuousClock.now - started).inSeconds)",
            ]
        )
        if request.acceptsCSV {
            return csvResponse(outcome.items)
        }
        return Idempotency.response(answer)
    }

    private func apply(_ file: RosterFile, schoolID: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Outcome {
        // One import per school at a time: generated usernames are numbered from what exists.
        try await connection.query("SELECT pg_advisory_xact_lock(hashtext('roster'), hashtext(\(schoolID.lowercased)))", logger: logger)
        var schoolCode: String?
        for try await code in try await connection.query("SELECT code FROM scheduling.schools WHERE id = \(schoolID)", logger: logger).decode(String.self) {
            schoolCode = code
        }
        guard let schoolCode else { throw Problem.notFound("No school has id \(schoolID.lowercased).") }

        var classes: [String: UUID] = [:]
        for try await (name, id) in try await connection.query("SELECT name, id FROM scheduling.classes WHERE school_id = \(schoolID)", logger: logger).decode((String, UUID).self) {
            classes[name] = id
        }
        let usernames = file.entries.compactMap(\.username)
        var existing: [String: Existing] = [:]
        let found = try await connection.query(
            "SELECT username, id, school_id, role, display_name, class_id FROM scheduling.users WHERE username = ANY(\(usernames)::text[])",
            logger: logger
        )
        for try await (username, id, school, role, displayName, classID) in found.decode((String, UUID, UUID?, String, String, UUID?).self) {
            existing[username] = Existing(id: id, schoolID: school, role: role, displayName: displayName, classID: classID)
        }

        var errors = file.errors
        var creating: [(entry: RosterFile.Entry, classID: UUID?)] = []
        var updating: [(id: UUID, displayName: String, classID: UUID?)] = []
        var unchanged = 0
        for entry in file.entries {
            var classID: UUID?
            if let className = entry.className {
                classID = classes[className]
                if classID == nil {
                    errors.append(.init(row: entry.row, field: "class_name", message: "this school has no class named \"\(className)\"; create it first"))
                    continue
                }
            }
            guard let username = entry.username, let current = existing[username] else {
                creating.append((entry, classID))
                continue
            }
            if current.schoolID != schoolID {
                errors.append(.init(row: entry.row, field: "username", message: "\"\(username)\" is taken by someone outside this school"))
            } else if current.role != entry.role.rawValue {
                errors.append(.init(row: entry.row, field: "role", message: "\"\(username)\" is a \(current.role); an import does not change roles"))
            } else if current.displayName == entry.displayName && current.classID == classID {
                unchanged += 1
            } else {
                updating.append((current.id, entry.displayName, classID))
            }
        }
        guard errors.isEmpty else {
            throw Problem.invalid(errors.sorted { ($0.row ?? 0, $0.field) < ($1.row ?? 0, $1.field) })
        }

        var nextNumber = try await lastGeneratedNumber(schoolCode: schoolCode, on: connection, logger: logger)
        let accounts = creating.map { item -> NewAccount in
            var username = item.entry.username
            if username == nil {
                nextNumber += 1
                username = Self.generatedUsername(schoolCode: schoolCode, number: nextNumber)
            }
            return NewAccount(username: username!, displayName: item.entry.displayName, role: item.entry.role, schoolID: schoolID, classID: item.classID, passwordHash: nil)
        }
        do {
            try await UserStore.insert(accounts, on: connection, logger: logger)
        } catch where error.isUniqueViolation {
            throw Problem.conflict("A username in the file was taken by another import just now; send the file again.")
        }
        if !updating.isEmpty {
            try await connection.query(
                """
                UPDATE scheduling.users u SET display_name = t.display_name, class_id = NULLIF(t.class, '')::uuid
                FROM unnest(\(updating.map(\.id))::uuid[], \(updating.map(\.displayName))::text[], \(updating.map { $0.classID?.lowercased ?? "" })::text[])
                     AS t(id, display_name, class)
                WHERE u.id = t.id
                """,
                logger: logger
            )
        }
        let listed = accounts.map(\.id) + file.entries.compactMap { $0.username.flatMap { existing[$0]?.id } }
        var notInFile = 0
        for try await count in try await connection.query(
            """
            SELECT count(*)::int8 FROM scheduling.users
            WHERE school_id = \(schoolID) AND active AND role IN ('student', 'teacher') AND NOT (id = ANY(\(listed)::uuid[]))
            """,
            logger: logger
        ).decode(Int64.self) {
            notInFile = Int(count)
        }
        let items = zip(accounts, creating).map { account, item in
            Issued(username: account.username, display_name: account.displayName, class_name: item.entry.className, activation_code: account.activationCode!)
        }
        return Outcome(items: items, created: accounts.count, updated: updating.count, unchanged: unchanged, not_in_file: notInFile)
    }

    /// The highest number already used in `<code>-<number>` usernames.
    private func lastGeneratedNumber(schoolCode: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query(
            """
            SELECT coalesce(max(substring(username FROM '^' || \(schoolCode) || '-([0-9]{1,9})$')::int), 0)
            FROM scheduling.users WHERE username LIKE \(schoolCode) || '-%'
            """,
            logger: logger
        )
        var number = 0
        for try await value in rows.decode(Int32.self) { number = Int(value) }
        return number
    }

    static func generatedUsername(schoolCode: String, number: Int) -> String {
        let digits = String(number)
        return schoolCode + "-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// The new users' codes as a spreadsheet the school can print.
    private func csvResponse(_ items: [Issued]) -> Response {
        var csv = SpreadsheetCSV(header: ["username", "display_name", "class_name", "activation_code"])
        for item in items { csv.append([item.username, item.display_name, item.class_name ?? "", item.activation_code]) }
        return csv.response(filename: "activation-codes.csv")
    }
}
