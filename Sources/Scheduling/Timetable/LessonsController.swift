import Foundation
import Hummingbird
import InternalProtocol
import Logging
import PostgresNIO
import ServiceKit
import Store

/// Booking, reading, moving and cancelling lessons, one by one or as a weekly series.
struct LessonsController: Sendable {
    let database: Database
    let courses: CourseAccess
    let bookings: Bookings
    let idempotency: Idempotency
    let involvement: Involvement
    /// Tells the services that follow lessons (broadcast, attendance) of moves and cancellations.
    let outbox: Outbox

    struct NewLesson: Decodable {
        var course_id: UUID
        var title: String
        var starts_at: Date
        var ends_at: Date
    }

    struct NewSeries: Decodable {
        var course_id: UUID
        var title: String
        var weekdays: [Int]
        var start_time: String
        var duration_minutes: Int
        var first_date: String
        var last_date: String
        var timezone: String
        var except_dates: [String]?
    }

    struct BookedSeries: Encodable {
        var series_id: String
        var lessons: [Lesson]
    }

    struct LessonChange: Decodable {
        var title: String?
        var starts_at: Date?
        var ends_at: Date?
    }

    /// The lessons an operation on several lessons of a series touched.
    struct LessonList: ResponseEncodable {
        var lessons: [Lesson]
    }

    func register(on routes: RouteTable) {
        routes.post("/api/v1/lessons", for: .users(.teacher, .admin), use: create)
        routes.post("/api/v1/lesson-series", for: .users(.teacher, .admin), use: createSeries)
        routes.get("/api/v1/lessons/:id", for: .signedIn, use: show)
        routes.patch("/api/v1/lessons/:id", for: .users(.teacher, .admin), use: reschedule)
        routes.post("/api/v1/lessons/:id/cancel", for: .users(.teacher, .admin), use: cancel)
    }

    @Sendable func create(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let identity = context.caller
        let (body, raw) = try await request.decodeJSONKeepingBody(as: NewLesson.self, context: context)
        let title = body.title.trimmingCharacters(in: .whitespacesAndNewlines)
        let errors = LessonRules.check(title: title) + LessonRules.check(startsAt: body.starts_at, endsAt: body.ends_at)
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let course = try await courses.owned(body.course_id, by: identity, logger: context.logger)
        let teacher = UUID(uuidString: course.teacher_id)!
        let slot = Slot(starts: body.starts_at, ends: body.ends_at)
        return try await bookings.attempt(what: "This lesson") {
            try await idempotency.run(request, body: raw, caller: identity.userID, logger: context.logger) { connection in
                try await Bookings.insert([slot], course: body.course_id, teacher: teacher, title: title, series: nil, on: connection, logger: context.logger)
                let lesson = Lesson(id: slot.id, courseID: body.course_id, seriesID: nil, teacherID: teacher, title: title, startsAt: slot.starts, endsAt: slot.ends, state: "scheduled")
                return try Idempotency.answer(.created, lesson)
            }
        } report: {
            try await bookings.conflicts([slot], course: body.course_id, teacher: teacher, logger: context.logger)
        }
    }

    @Sendable func createSeries(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let identity = context.caller
        let (body, raw) = try await request.decodeJSONKeepingBody(as: NewSeries.self, context: context)
        let title = body.title.trimmingCharacters(in: .whitespacesAndNewlines)
        let series = try Self.series(from: body, title: title)
        let slots = series.occurrences()
        var errors: [Problem.FieldError] = []
        if slots.isEmpty { errors.append(.init(field: "weekdays", message: "no lesson falls on these weekdays between first_date and last_date")) }
        if let first = slots.first, first.ends <= Date() { errors.append(.init(field: "first_date", message: "the first lesson would already be over")) }
        if let last = slots.last, last.starts.timeIntervalSinceNow > LessonRules.horizon {
            errors.append(.init(field: "last_date", message: "lessons start at most 2 years ahead"))
        }
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        let course = try await courses.owned(body.course_id, by: identity, logger: context.logger)
        let teacher = UUID(uuidString: course.teacher_id)!
        let seriesID = UUID()
        return try await bookings.attempt(what: "This series") {
            try await idempotency.run(request, body: raw, caller: identity.userID, logger: context.logger) { connection in
                try await connection.query(
                    """
                    INSERT INTO scheduling.lesson_series
                        (id, course_id, title, weekdays, start_time, duration_minutes, first_date, last_date, timezone, except_dates, created_by)
                    VALUES (\(seriesID), \(body.course_id), \(title), \(series.weekdays.sorted().map { Int16($0) })::smallint[], \(body.start_time)::time,
                            \(body.duration_minutes), \(series.firstDate.description)::date, \(series.lastDate.description)::date, \(body.timezone),
                            \(series.exceptDates.map(\.description))::date[], \(identity.userID))
                    """,
                    logger: context.logger
                )
                try await Bookings.insert(slots, course: body.course_id, teacher: teacher, title: title, series: seriesID, on: connection, logger: context.logger)
                let lessons = slots.map {
                    Lesson(id: $0.id, courseID: body.course_id, seriesID: seriesID, teacherID: teacher, title: title, startsAt: $0.starts, endsAt: $0.ends, state: "scheduled")
                }
                return try Idempotency.answer(.created, BookedSeries(series_id: seriesID.lowercased, lessons: lessons))
            }
        } report: {
            try await bookings.conflicts(slots, course: body.course_id, teacher: teacher, logger: context.logger)
        }
    }

    /// The series a request describes, or 422 naming every bad field.
    static func series(from body: NewSeries, title: String) throws -> WeeklySeries {
        var errors = LessonRules.check(title: title)
        if body.weekdays.isEmpty || !body.weekdays.allSatisfy({ (1...7).contains($0) }) || Set(body.weekdays).count != body.weekdays.count {
            errors.append(.init(field: "weekdays", message: "must be distinct ISO weekdays, 1 (Monday) to 7 (Sunday)"))
        }
        let startTime = LocalTime(body.start_time)
        if startTime == nil { errors.append(.init(field: "start_time", message: "must be a local time HH:MM")) }
        if !(5...360).contains(body.duration_minutes) { errors.append(.init(field: "duration_minutes", message: "a lesson lasts 5 to 360 minutes")) }
        let firstDate = LocalDate(body.first_date)
        let lastDate = LocalDate(body.last_date)
        if firstDate == nil { errors.append(.init(field: "first_date", message: "must be a date YYYY-MM-DD")) }
        if lastDate == nil { errors.append(.init(field: "last_date", message: "must be a date YYYY-MM-DD")) }
        if let firstDate, let lastDate {
            if lastDate < firstDate {
                errors.append(.init(field: "last_date", message: "must not be before first_date"))
            } else if lastDate.daysSinceEpoch - firstDate.daysSinceEpoch > LessonRules.longestSeriesDays {
                errors.append(.init(field: "last_date", message: "a series spans at most 2 years"))
            }
        }
        let zone = TimeZone(identifier: body.timezone)
        if zone == nil || !body.timezone.contains("/") && body.timezone != "UTC" {
            errors.append(.init(field: "timezone", message: "must be an IANA time zone such as Asia/Shanghai"))
        }
        let except = (body.except_dates ?? []).map { LocalDate($0) }
        if except.contains(where: { $0 == nil }) { errors.append(.init(field: "except_dates", message: "must be dates YYYY-MM-DD")) }
        guard errors.isEmpty, let startTime, let firstDate, let lastDate, let zone else { throw Problem.invalid(errors) }
        return WeeklySeries(
            weekdays: Set(body.weekdays), startTime: startTime, durationMinutes: body.duration_minutes, firstDate: firstDate,
            lastDate: lastDate, timeZone: zone, exceptDates: Set(except.compactMap { $0 })
        )
    }

    @Sendable func show(_ request: Request, context: CallerContext<Identity>) async throws -> Lesson {
        let identity = context.caller
        let lesson = try await lesson(context.parameters.uuid("id"), logger: context.logger)
        // Outside one's reach is 404, as if it did not exist (a 403 would confirm it does).
        guard try await involvement.isInvolved(identity, in: lesson, logger: context.logger) else {
            throw Problem.notFound("No lesson has id \(lesson.id).")
        }
        return lesson
    }

    /// Moves a lesson; with `rest_of_series=true` also every later lesson of its series, by the
    /// same shift of local date and time in the series' zone (DST-safe), all or none.
    @Sendable func reschedule(_ request: Request, context: CallerContext<Identity>) async throws -> Response {
        let identity = context.caller
        let current = try await lesson(context.parameters.uuid("id"), logger: context.logger)
        let change = try await request.decodeJSON(as: LessonChange.self, context: context)
        let course = try await courses.owned(UUID(uuidString: current.course_id)!, by: identity, logger: context.logger)
        let title = change.title.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let startsAt = change.starts_at ?? current.starts_at
        let endsAt = change.ends_at ?? current.ends_at
        let errors = LessonRules.check(title: title ?? current.title) + LessonRules.check(startsAt: startsAt, endsAt: endsAt)
        guard errors.isEmpty else { throw Problem.invalid(errors) }
        guard current.state == "scheduled" else { throw Problem.conflict("A cancelled lesson cannot be moved; book a new one.") }
        guard current.starts_at > Date() || startsAt == current.starts_at else {
            throw Problem.conflict("This lesson has already started; only its end and title can change.")
        }
        let moved = Slot(id: UUID(uuidString: current.id)!, starts: startsAt, ends: endsAt)
        let restOfSeries = try request.flag("rest_of_series")
        var slots = [moved]
        if restOfSeries, let series = current.series_id.flatMap(UUID.init(uuidString:)) {
            slots = try await shiftedRest(of: series, from: current, to: moved, logger: context.logger)
        }
        let teacher = UUID(uuidString: course.teacher_id)!
        try await bookings.attempt(what: slots.count == 1 ? "The new time" : "The new times") {
            try await database.withTransaction(logger: context.logger) { connection in
                try await Bookings.move(slots, teacher: teacher, title: title, on: connection, logger: context.logger)
                let changes = slots.map { LessonChanged(lessonID: $0.id, state: "scheduled", startsAt: $0.starts, endsAt: $0.ends) }
                try await outbox.post(changes, on: connection, logger: context.logger)
            }
        } report: {
            try await bookings.conflicts(slots, course: UUID(uuidString: course.id)!, teacher: teacher, ignoring: slots.map(\.id), logger: context.logger)
        }
        if slots.count == 1 && !restOfSeries {
            return try await lesson(moved.id, logger: context.logger).response(from: request, context: context)
        }
        let rows = try await database.query(
            "SELECT \(unescaped: Lesson.columns) FROM scheduling.lessons l WHERE l.id = ANY(\(slots.map(\.id))::uuid[]) ORDER BY lower(l.during)",
            idempotent: true,
            logger: context.logger
        )
        return try LessonList(lessons: rows.map(Lesson.init(row:))).response(from: request, context: context)
    }

    /// The lesson's new slot and, for each later scheduled lesson of the series, its own date
    /// shifted by as many days as the lesson's, at the lesson's new local time.
    private func shiftedRest(of series: UUID, from current: Lesson, to moved: Slot, logger: Logger) async throws -> [Slot] {
        let rows = try await database.query(
            """
            SELECT l.id, lower(l.during), s.timezone FROM scheduling.lessons l JOIN scheduling.lesson_series s ON s.id = l.series_id
            WHERE l.series_id = \(series) AND l.state = 'scheduled' AND lower(l.during) > \(current.starts_at)
            ORDER BY lower(l.during)
            """,
            idempotent: true,
            logger: logger
        )
        var slots = [moved]
        for row in rows {
            let (id, startsAt, zoneName) = try row.decode((UUID, Date, String).self)
            let zone = TimeZone(identifier: zoneName) ?? TimeZone(identifier: "UTC")!
            let dayShift = LocalDate(moved.starts, in: zone).daysSinceEpoch - LocalDate(current.starts_at, in: zone).daysSinceEpoch
            let day = LocalDate(startsAt, in: zone).adding(days: dayShift)
            let starts = WeeklySeries.instant(of: day, at: LocalTime(of: moved.starts, in: zone), in: zone)
            slots.append(Slot(id: id, starts: starts, ends: starts.addingTimeInterval(moved.ends.timeIntervalSince(moved.starts))))
        }
        if let last = slots.last, last.starts.timeIntervalSinceNow > LessonRules.horizon {
            throw Problem.invalid(field: "starts_at", "the last lesson of the series would start more than 2 years ahead")
        }
        return slots
    }

    /// Cancels a lesson (and with `rest_of_series=true` every later lesson of its series),
    /// freeing the teacher's and classes' time. Cancelling twice changes nothing.
    @Sendable func cancel(_ request: Request, context: CallerContext<Identity>) async throws -> LessonList {
        let identity = context.caller
        let current = try await lesson(context.parameters.uuid("id"), logger: context.logger)
        _ = try await courses.owned(UUID(uuidString: current.course_id)!, by: identity, logger: context.logger)
        let restOfSeries = try request.flag("rest_of_series")
        guard current.ends_at > Date() else { throw Problem.conflict("This lesson is over; it can no longer be cancelled.") }
        let id = UUID(uuidString: current.id)!
        let series = restOfSeries ? current.series_id.flatMap(UUID.init(uuidString:)) : nil
        let rows = try await database.withTransaction(logger: context.logger, idempotent: true) { connection in
            // With enrolments (see `CoursesController.enroll`): no seat may be added meanwhile.
            try await Bookings.serialize(teacher: UUID(uuidString: current.teacher_id)!, on: connection, logger: context.logger)
            let cancelled = try await connection.query(
                """
                UPDATE scheduling.lessons l SET state = 'cancelled', updated_at = now()
                WHERE l.state = 'scheduled'
                  AND (l.id = \(id) OR (\(series)::uuid IS NOT NULL AND l.series_id = \(series) AND lower(l.during) >= \(current.starts_at)))
                RETURNING \(unescaped: Lesson.columns)
                """,
                logger: context.logger
            ).collect()
            let lessons = try cancelled.map(Lesson.init(row:))
            try await connection.query(
                "DELETE FROM scheduling.class_bookings WHERE lesson_id = ANY(\(lessons.map(\.id))::uuid[])",
                logger: context.logger
            )
            let changes = lessons.map { LessonChanged(lessonID: UUID(uuidString: $0.id)!, state: $0.state, startsAt: $0.starts_at, endsAt: $0.ends_at) }
            try await outbox.post(changes, on: connection, logger: context.logger)
            return lessons
        }
        context.logger.notice("lessons cancelled", metadata: ["lesson_id": "\(current.id)", "count": "\(rows.count)"])
        return LessonList(lessons: rows.sorted { $0.starts_at < $1.starts_at })
    }

    func lesson(_ id: UUID, logger: Logger) async throws -> Lesson {
        let rows = try await database.query(
            "SELECT \(unescaped: Lesson.columns) FROM scheduling.lessons l WHERE l.id = \(id)",
            idempotent: true,
            logger: logger
        )
        guard let row = rows.first else { throw Problem.notFound("No lesson has id \(id.lowercased).") }
        return try Lesson(row: row)
    }
}
