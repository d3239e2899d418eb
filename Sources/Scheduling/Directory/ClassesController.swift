import Foundation
import Hummingbird
import PostgresNIO
import ServiceKit
import Store

/// Classes: a school's groups of pupils. Admins create them; teachers may list them too (to
/// enrol them in courses).
struct ClassesController: Sendable {
    let database: Database

    struct SchoolClass: ResponseEncodable {
        var id: String
        var school_id: String
        var name: String
        var grade: Int
        var created_at: Date
    }

    struct NewClass: Decodable {
        var school_id: UUID
        var name: String
        var grade: Int
    }

    func register(on routes: RouteTable) {
        routes.post("/api/v1/classes", for: .users(.admin), use: create)
        routes.get("/api/v1/classes", for: .users(.admin, .teacher), use: list)
    }

    @Sendable func create(_ request: Request, context: CallerContext<Identity>) async throws -> EditedResponse<SchoolClass> {
        let body = try await request.decodeJSON(as: NewClass.self, context: context)
        var errors: [Problem.FieldError] = []
        let name = TextRule.name(upTo: 100).check(body.name, field: "name", into: &errors) ?? ""
        if !(1...12).contains(body.grade) { errors.append(.init(field: "grade", message: "must be a grade from 1 to 12")) }
        guard errors.isEmpty else { throw Problem.invalid(errors) }

        let created = SchoolClass(id: UUID().lowercased, school_id: body.school_id.lowercased, name: name, grade: body.grade, created_at: Date())
        do {
            try await database.query(
                """
                INSERT INTO scheduling.classes (id, school_id, name, grade, created_at)
                VALUES (\(UUID(uuidString: created.id)!), \(body.school_id), \(name), \(body.grade), \(created.created_at))
                """,
                idempotent: false,
                logger: context.logger
            )
        } catch where error.isUniqueViolation {
            throw Problem(.conflict, detail: "This school already has a class named \"\(name)\".", errors: [.init(field: "name", message: "is taken in this school")])
        } catch where error.isForeignKeyViolation {
            throw Problem.invalid(field: "school_id", "names no school")
        }
        return EditedResponse(status: .created, response: created)
    }

    @Sendable func list(_ request: Request, context: CallerContext<Identity>) async throws -> DirectoryController.Page<SchoolClass> {
        let query = request.uri.queryParameters
        let limit = try DirectoryController.limit(query["limit"].map(String.init))
        var schoolID: UUID?
        if let text = query["school_id"].map(String.init) {
            guard let id = UUID(uuidString: text) else { throw Problem.invalid(field: "school_id", "must be a UUID") }
            schoolID = id
        }
        var errors: [Problem.FieldError] = []
        let region = query["region"].map { DirectoryController.regionCode.check(String($0), field: "region", into: &errors) ?? "" }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let after = try DirectoryController.idCursor(query["cursor"].map(String.init))
        // A teacher sees the classes they may enrol: their own school's.
        let teacher: UUID? = context.caller.role == .teacher ? context.caller.userID : nil
        let rows = try await database.query(
            """
            SELECT c.id, c.school_id, c.name, c.grade, c.created_at
            FROM scheduling.classes c JOIN scheduling.schools s ON s.id = c.school_id
            WHERE c.id > \(after)
              AND (\(schoolID)::uuid IS NULL OR c.school_id = \(schoolID))
              AND (\(region)::text IS NULL OR s.region = \(region))
              AND (\(teacher)::uuid IS NULL OR c.school_id = (SELECT school_id FROM scheduling.users WHERE id = \(teacher)))
            ORDER BY c.id LIMIT \(limit + 1)
            """,
            idempotent: true,
            logger: context.logger
        )
        let items = try rows.map { row in
            let (id, school, name, grade, createdAt) = try row.decode((UUID, UUID, String, Int16, Date).self)
            return SchoolClass(id: id.lowercased, school_id: school.lowercased, name: name, grade: Int(grade), created_at: createdAt)
        }
        return .init(fetched: items, limit: limit, cursor: \.id)
    }
}
