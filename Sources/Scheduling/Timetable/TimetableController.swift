import Crypto
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Store

/// The caller's timetable, and everyone's calendar feed at a secret URL.
struct TimetableController: Sendable {
    let database: Database
    let timetable: TimetableQuery
    let timeZone: TimeZone

    /// The longest window one timetable request may span.
    static let longestWindowDays = 92

    func register(on routes: RouteTable) {
        routes.get("/api/v1/timetable", for: .signedIn, use: show)
        routes.get("/api/v1/calendar/{feed_token}.ics", for: .anyone, use: feed)
    }

    /// `?from=&to=` (RFC 3339; default: today and the 7 days after, UTC), admins also
    /// `&region=&school_id=&class_id=`; pages of `limit` (default 500) with `cursor`.
    @Sendable func show(_ request: Request, context: CallerContext<Identity>) async throws -> DirectoryController.Page<TimetableEntry> {
        let identity = context.caller
        let query = request.uri.queryParameters
        var errors: [Problem.FieldError] = []
        let window = TimeWindow.read(request, defaultFrom: TimeWindow.startOfToday(), defaultDays: 7, longestDays: Self.longestWindowDays, into: &errors)
        let (from, to) = (window.from, window.to)
        var filters = TimetableQuery.Filters()
        for (name, value) in [("region", query["region"]), ("school_id", query["school_id"]), ("class_id", query["class_id"])] {
            guard let value = value.map(String.init) else { continue }
            guard identity.role == .admin else {
                errors.append(.init(field: name, message: "only administrators filter the timetable"))
                continue
            }
            switch name {
            case "region": filters.region = DirectoryController.regionCode.check(value, field: "region", into: &errors)
            case "school_id": filters.schoolID = UUID(uuidString: value)
            default: filters.classID = UUID(uuidString: value)
            }
            if name != "region" && UUID(uuidString: value) == nil { errors.append(.init(field: name, message: "must be a UUID")) }
        }
        var after: TimetableQuery.Position?
        if let cursor = query["cursor"].map(String.init) {
            after = TimetableQuery.Position(cursor: cursor)
            if after == nil { errors.append(.init(field: "cursor", message: "must be a next_cursor from a previous page")) }
        }
        var limit = 500
        if let text = query["limit"].map(String.init) {
            if let value = Int(text), (1...1000).contains(value) { limit = value } else { errors.append(.init(field: "limit", message: "must be an integer from 1 to 1000")) }
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let fetched = try await timetable.lessons(for: identity, from: from, to: to, filters: filters, after: after, limit: limit + 1, logger: context.logger)
        return .init(fetched: fetched, limit: limit) { TimetableQuery.Position(startsAt: $0.starts_at, id: UUID(uuidString: $0.id)!).cursor }
    }

    /// The owner's lessons from 60 days back to 400 days ahead. The URL is the credential, so
    /// an unknown one is a plain 404.
    @Sendable func feed(_ request: Request, context: CallerContext<Anyone>) async throws -> Response {
        let token = context.parameters.get("feed_token") ?? ""
        let rows = try await database.query(
            "SELECT id, role, display_name FROM scheduling.users WHERE calendar_token = \(token) AND active",
            idempotent: true,
            logger: context.logger
        )
        guard let row = rows.first else { throw Problem.notFound("No calendar at this address.") }
        let (userID, role, displayName) = try row.decode((UUID, String, String).self)
        let identity = Identity(userID: userID, role: Role(rawValue: role) ?? .student)
        let window = Date().addingTimeInterval(-60 * 86_400)...Date().addingTimeInterval(400 * 86_400)
        let lessons = try await timetable.lessons(
            for: identity, from: window.lowerBound, to: window.upperBound, limit: 5000, logger: context.logger
        )
        let text = CalendarFeed(name: "CloudClass — \(displayName)", defaultZone: timeZone, window: window, lessons: lessons).render()
        return Response(
            status: .ok,
            headers: [.contentType: "text/calendar; charset=utf-8", .cacheControl: "private, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}

/// Each user's secret calendar address.
struct CalendarLinks: Sendable {
    let database: Database
    let publicURL: String

    /// The user's feed URL; the token is made (one write) only the first time.
    func url(for account: Account, logger: Logger) async throws -> String {
        if let token = account.calendarToken { return url(token: token) }
        let fresh = SecretToken.random()
        let rows = try await database.query(
            "UPDATE scheduling.users SET calendar_token = coalesce(calendar_token, \(fresh)) WHERE id = \(account.id) RETURNING calendar_token",
            idempotent: true,
            logger: logger
        )
        return url(token: try rows.first?.decode(String.self) ?? fresh)
    }

    private func url(token: String) -> String { "\(publicURL)/api/v1/calendar/\(token).ics" }
}
