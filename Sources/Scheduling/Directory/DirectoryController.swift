import Foundation
import Hummingbird
import PostgresNIO
import ServiceKit
import Store

/// Regions (read-only, seeded) and schools: the directory's root.
struct DirectoryController: Sendable {
    let database: Database

    struct Region: Codable {
        var code: String
        var name: String
        var name_zh: String
    }

    struct School: ResponseEncodable, Decodable {
        var id: String
        var name: String
        var code: String
        var region: String
        var created_at: Date
    }

    struct NewSchool: Decodable {
        var name: String
        var code: String
        var region: String
    }

    struct Page<Item: Encodable & Sendable>: ResponseEncodable {
        var items: [Item]
        var next_cursor: String?

        init(items: [Item], next_cursor: String?) {
            self.items = items
            self.next_cursor = next_cursor
        }

        /// A page from a query that asked for `limit + 1` rows: the extra row only says that
        /// another page follows, which starts after the last item's `cursor`.
        init(fetched: [Item], limit: Int, cursor: (Item) -> String) {
            let more = fetched.count > limit
            items = Array(fetched.prefix(limit))
            next_cursor = more ? items.last.map(cursor) : nil
        }
    }

    func register(on routes: RouteTable) {
        routes.get("/api/v1/regions", for: .signedIn, use: regions)
        routes.post("/api/v1/schools", for: .users(.admin), use: createSchool)
        routes.get("/api/v1/schools", for: .users(.admin), use: listSchools)
        routes.get("/api/v1/schools/:id", for: .users(.admin), use: school)
    }

    /// 31 rows that never change (the kit's reference data; a test keeps the table equal to it),
    /// encoded once and served from memory.
    static let regionsBody: ByteBuffer = {
        let page = Page(items: ServiceKit.Region.all.map { Region(code: $0.code, name: $0.name, name_zh: $0.nameZH) }, next_cursor: nil)
        return ByteBuffer(data: try! JSONEncoder().encode(page))
    }()

    @Sendable func regions(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: Self.regionsBody))
    }

    static let schoolCode = IdentifierRule(
        first: IdentifierRule.lowercaseLetters + IdentifierRule.digits,
        rest: IdentifierRule.lowercaseLetters + IdentifierRule.digits + "-",
        length: 2...32,
        describe: "must be 2 to 32 of a-z, 0-9 and '-', starting with a letter or digit"
    )
    static let regionCode = IdentifierRule(
        first: IdentifierRule.digits, rest: IdentifierRule.digits, length: 6...6,
        describe: "must be a GB/T 2260 region code such as \"420000\" (GET /api/v1/regions)"
    )

    @Sendable func createSchool(_ request: Request, context: CallerContext<Identity>) async throws -> EditedResponse<School> {
        let body = try await request.decodeJSON(as: NewSchool.self, context: context)
        var errors: [Problem.FieldError] = []
        let name = TextRule.name(upTo: 200).check(body.name, field: "name", into: &errors) ?? ""
        let code = Self.schoolCode.check(body.code, field: "code", into: &errors) ?? ""
        let region = Self.regionCode.check(body.region, field: "region", into: &errors) ?? ""
        guard errors.isEmpty else { throw Problem.invalid(errors) }

        let school = School(id: UUID().lowercased, name: name, code: code, region: region, created_at: Date())
        do {
            try await database.query(
                "INSERT INTO scheduling.schools (id, name, code, region, created_at) VALUES (\(UUID(uuidString: school.id)!), \(name), \(code), \(school.region), \(school.created_at))",
                idempotent: false,
                logger: context.logger
            )
        } catch where error.isUniqueViolation {
            throw Problem(.conflict, detail: "A school with code \"\(code)\" already exists.", errors: [.init(field: "code", message: "is taken")])
        } catch where error.isForeignKeyViolation {
            throw Problem.invalid(field: "region", "is not one of the 31 regions (GET /api/v1/regions)")
        }
        return EditedResponse(status: .created, headers: [.location: "/api/v1/schools/\(school.id)"], response: school)
    }

    @Sendable func listSchools(_ request: Request, context: CallerContext<Identity>) async throws -> Page<School> {
        let query = request.uri.queryParameters
        let limit = try Self.limit(query["limit"].map(String.init))
        var errors: [Problem.FieldError] = []
        let after = query["cursor"].map { Self.schoolCode.check(String($0), field: "cursor", into: &errors) ?? "" } ?? ""
        let region = query["region"].map { Self.regionCode.check(String($0), field: "region", into: &errors) ?? "" }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        var items: [School] = []
        let rows = try await database.query(
            """
            SELECT id, name, code, region, created_at FROM scheduling.schools
            WHERE code > \(after) AND (\(region)::text IS NULL OR region = \(region))
            ORDER BY code LIMIT \(limit + 1)
            """,
            idempotent: true,
            logger: context.logger
        )
        for row in rows {
            let (id, name, code, region, createdAt) = try row.decode((UUID, String, String, String, Date).self)
            items.append(School(id: id.lowercased, name: name, code: code, region: region, created_at: createdAt))
        }
        return Page(fetched: items, limit: limit, cursor: \.code)
    }

    @Sendable func school(_ request: Request, context: CallerContext<Identity>) async throws -> School {
        let id = try context.parameters.uuid("id")
        let rows = try await database.query(
            "SELECT id, name, code, region, created_at FROM scheduling.schools WHERE id = \(id)",
            idempotent: true,
            logger: context.logger
        )
        for row in rows {
            let (id, name, code, region, createdAt) = try row.decode((UUID, String, String, String, Date).self)
            return School(id: id.lowercased, name: name, code: code, region: region, created_at: createdAt)
        }
        throw Problem.notFound("No school has id \(id.uuidString.lowercased()).")
    }

    /// Where a list ordered by id resumes: after the `next_cursor` id, or from the start.
    static func idCursor(_ text: String?) throws -> UUID {
        guard let text else { return UUID(uuidString: "00000000-0000-0000-0000-000000000000")! }
        guard let id = UUID(uuidString: text) else { throw Problem.invalid(field: "cursor", "must be a next_cursor from a previous page") }
        return id
    }

    static func limit(_ text: String?) throws -> Int {
        guard let text else { return 100 }
        guard let value = Int(text), (1...1000).contains(value) else {
            throw Problem.invalid(field: "limit", "must be an integer from 1 to 1000")
        }
        return value
    }
}
