import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Store

/// A lesson as the API shows it.
struct Lesson: ResponseEncodable, Codable, Sendable {
    var id: String
    var course_id: String
    var series_id: String?
    var teacher_id: String
    var title: String
    var starts_at: Date
    var ends_at: Date
    var state: String

    static let columns = "l.id, l.course_id, l.series_id, l.teacher_id, l.title, lower(l.during), upper(l.during), l.state"

    init(id: UUID, courseID: UUID, seriesID: UUID?, teacherID: UUID, title: String, startsAt: Date, endsAt: Date, state: String) {
        self.id = id.lowercased
        self.course_id = courseID.lowercased
        self.series_id = seriesID?.lowercased
        self.teacher_id = teacherID.lowercased
        self.title = title
        self.starts_at = startsAt
        self.ends_at = endsAt
        self.state = state
    }

    /// From a row selected with `Lesson.columns`.
    init(row: PostgresRow) throws {
        let (id, course, series, teacher, title, startsAt, endsAt, state) = try row.decode((UUID, UUID, UUID?, UUID, String, Date, Date, String).self)
        self.init(id: id, courseID: course, seriesID: series, teacherID: teacher, title: title, startsAt: startsAt, endsAt: endsAt, state: state)
    }
}

/// One lesson a booking wants: `[starts, ends)`.
struct Slot: Sendable {
    var id = UUID()
    var starts: Date
    var ends: Date
}

/// Something already in the way of a booking.
struct Conflict: Sendable, Equatable {
    var lessonID: UUID
    var startsAt: Date
    var endsAt: Date
    /// `teacher` or `class`.
    var reason: String
    var classID: UUID?

    var json: JSONValue {
        var member: [String: JSONValue] = [
            "lesson_id": .string(lessonID.lowercased), "starts_at": .string(RFC3339.format(startsAt)),
            "ends_at": .string(RFC3339.format(endsAt)), "reason": .string(reason),
        ]
        if let classID { member["class_id"] = .string(classID.lowercased) }
        return .object(member)
    }
}

/// Writes lessons and the seats of their classes. PostgreSQL's exclusion constraints decide
/// whether a teacher or class is free; only when they refuse does this read what is in the way,
/// to list every conflict in the 409.
struct Bookings: Sendable {
    let database: Database

    /// Raised inside a booking transaction when a constraint refused it.
    struct Refused: Error {}

    /// Queues the transaction behind any other booking of the same teacher. The constraints still
    /// decide; this only keeps simultaneous bookings of one teacher (double clicks, a series
    /// booked twice) from each inserting a row the other's check then waits on — a deadlock
    /// PostgreSQL breaks only after a second, over and over with twenty of them.
    static func serialize(teacher: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "SELECT pg_advisory_xact_lock(hashtext('booking-teacher'), hashtext(\(teacher.lowercased)))",
            logger: logger
        )
    }

    /// Inserts the lessons of `course` with a seat for every enrolled class, on the caller's
    /// transaction. Throws `Refused` when a teacher or class is busy.
    static func insert(
        _ slots: [Slot], course: UUID, teacher: UUID, title: String, series: UUID?,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await serialize(teacher: teacher, on: connection, logger: logger)
        do {
            try await connection.query(
                """
                INSERT INTO scheduling.lessons (id, course_id, series_id, teacher_id, title, during)
                SELECT id, \(course), \(series), \(teacher), \(title), tstzrange(s, e)
                FROM unnest(\(slots.map(\.id))::uuid[], \(slots.map(\.starts))::timestamptz[], \(slots.map(\.ends))::timestamptz[]) AS t(id, s, e)
                """,
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO scheduling.class_bookings (lesson_id, class_id, during)
                SELECT l.id, cc.class_id, l.during
                FROM scheduling.lessons l JOIN scheduling.course_classes cc ON cc.course_id = l.course_id
                WHERE l.id = ANY(\(slots.map(\.id))::uuid[])
                """,
                logger: logger
            )
        } catch where error.isExclusionViolation {
            throw Refused()
        }
    }

    /// Moves scheduled lessons (each slot's id names its lesson) and their classes' seats, on the
    /// caller's transaction. A lesson may move into the slot the next one leaves (a series
    /// shifted by a week), so the lessons first step out of the constraints — marked cancelled,
    /// seats removed — and then all step back in at their new times. Throws `Refused` when a
    /// teacher or class is busy there. (Deferrable constraints would do it too, but make
    /// concurrent bookings deadlock instead of wait: measured.)
    static func move(_ slots: [Slot], teacher: UUID, title: String?, on connection: PostgresConnection, logger: Logger) async throws {
        try await serialize(teacher: teacher, on: connection, logger: logger)
        let ids = slots.map(\.id)
        let starts = slots.map(\.starts)
        let ends = slots.map(\.ends)
        do {
            // Only scheduled lessons step out (and are locked): one cancelled meanwhile stays so.
            let stepped = try await connection.query(
                "UPDATE scheduling.lessons SET state = 'cancelled' WHERE id = ANY(\(ids)::uuid[]) AND state = 'scheduled' RETURNING id",
                logger: logger
            ).collect()
            guard stepped.count == ids.count else {
                throw Problem.conflict("A lesson to be moved was cancelled meanwhile; nothing was moved.")
            }
            let seats = try await connection.query(
                "DELETE FROM scheduling.class_bookings WHERE lesson_id = ANY(\(ids)::uuid[]) RETURNING lesson_id, class_id",
                logger: logger
            ).collect().map { try $0.decode((UUID, UUID).self) }
            try await connection.query(
                """
                UPDATE scheduling.lessons l SET during = tstzrange(t.s, t.e), state = 'scheduled', title = coalesce(\(title), l.title), updated_at = now()
                FROM unnest(\(ids)::uuid[], \(starts)::timestamptz[], \(ends)::timestamptz[]) AS t(id, s, e)
                WHERE l.id = t.id
                """,
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO scheduling.class_bookings (lesson_id, class_id, during)
                SELECT t.lesson_id, t.class_id, l.during
                FROM unnest(\(seats.map(\.0))::uuid[], \(seats.map(\.1))::uuid[]) AS t(lesson_id, class_id)
                JOIN scheduling.lessons l ON l.id = t.lesson_id
                """,
                logger: logger
            )
        } catch where error.isExclusionViolation {
            throw Refused()
        }
    }

    /// Everything that keeps `teacher` or the course's classes from the wanted ranges, ignoring
    /// the lessons in `ignoring` (a lesson being moved).
    func conflicts(_ slots: [Slot], course: UUID, teacher: UUID, ignoring: [UUID] = [], logger: Logger) async throws -> [Conflict] {
        let rows = try await database.query(
            """
            WITH wanted AS (
                SELECT tstzrange(s, e) AS during
                FROM unnest(\(slots.map(\.starts))::timestamptz[], \(slots.map(\.ends))::timestamptz[]) AS t(s, e)
            )
            SELECT l.id, lower(l.during), upper(l.during), 'teacher', NULL::uuid
            FROM wanted w JOIN scheduling.lessons l ON l.teacher_id = \(teacher) AND l.state = 'scheduled' AND l.during && w.during
            WHERE l.id <> ALL(\(ignoring)::uuid[])
            UNION
            SELECT b.lesson_id, lower(b.during), upper(b.during), 'class', b.class_id
            FROM wanted w
            JOIN scheduling.class_bookings b ON b.during && w.during
            JOIN scheduling.course_classes cc ON cc.class_id = b.class_id AND cc.course_id = \(course)
            WHERE b.lesson_id <> ALL(\(ignoring)::uuid[])
            ORDER BY 2, 4, 5
            """,
            idempotent: true,
            logger: logger
        )
        return try rows.map(Self.conflict(from:))
    }

    /// What keeps newly enrolled classes from the course's lessons ahead.
    func conflicts(enrolling classes: [UUID], in course: UUID, logger: Logger) async throws -> [Conflict] {
        let rows = try await database.query(
            """
            SELECT DISTINCT b.lesson_id, lower(b.during), upper(b.during), 'class', b.class_id
            FROM scheduling.lessons l
            JOIN scheduling.class_bookings b ON b.during && l.during AND b.class_id = ANY(\(classes)::uuid[]) AND b.lesson_id <> l.id
            WHERE l.course_id = \(course) AND l.state = 'scheduled' AND upper(l.during) > now()
            ORDER BY 2, 5
            """,
            idempotent: true,
            logger: logger
        )
        return try rows.map(Self.conflict(from:))
    }

    static func conflict(from row: PostgresRow) throws -> Conflict {
        let (lesson, startsAt, endsAt, reason, classID) = try row.decode((UUID, Date, Date, String, UUID?).self)
        return Conflict(lessonID: lesson, startsAt: startsAt, endsAt: endsAt, reason: reason, classID: classID)
    }

    /// The 409 listing every conflict.
    static func problem(_ conflicts: [Conflict], what: String) -> Problem {
        let teachers = conflicts.filter { $0.reason == "teacher" }.count
        let classes = Set(conflicts.compactMap(\.classID)).count
        var parts: [String] = []
        if teachers > 0 { parts.append("the teacher already teaches \(teachers) overlapping lesson(s)") }
        if classes > 0 { parts.append("\(classes) class(es) already have overlapping lessons") }
        return Problem(
            .conflict,
            detail: "\(what) clashes with the timetable: \(parts.joined(separator: "; ")). Nothing was booked.",
            title: "Timetable conflict",
            extensions: ["conflicts": .array(conflicts.map(\.json))]
        )
    }

    /// Runs a booking transaction; when a constraint refuses it, answers 409 with every conflict
    /// `report` finds. Should the conflict vanish between the refusal and the report (it was
    /// cancelled meanwhile), the booking is tried again. Two bookings that each insert a row the
    /// other's constraint check is waiting on deadlock; PostgreSQL rolls one back whole, so that
    /// one is simply run again.
    func attempt<T>(
        what: String,
        _ transaction: () async throws -> T,
        report: () async throws -> [Conflict]
    ) async throws -> T {
        for _ in 0..<5 {
            do {
                return try await transaction()
            } catch is Refused {
                let found = try await report()
                if !found.isEmpty { throw Self.problem(found, what: what) }
            } catch where error.sqlState == "40P01" {
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...50)))
            }
        }
        throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "The timetable is busy; try again.")
    }
}
