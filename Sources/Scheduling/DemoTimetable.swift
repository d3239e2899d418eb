import Foundation
import Logging
import PostgresNIO
import Store

/// The demo's timetable: classes, a second teacher, courses (one of them national) and lessons
/// around the moment `up --demo` runs, so the first look shows a lesson on air and more to come.
/// Re-running adds today's lessons again only when none are near.
enum DemoTimetable {
    struct DemoCourse {
        var title: String
        var subject: String
        var grade: Int
        var teacher: String
        var classes: [String]
        /// Minutes from now (rounded to 5) and lengths of today's lessons.
        var today: [(start: Int, minutes: Int)]
    }

    static let classes: [(school: String, name: String, grade: Int)] = [
        ("wh-no1", "Class 7-1", 7), ("wh-no1", "Class 7-2", 7), ("wh-no1", "Class 8-1", 8), ("bj-haidian-exp", "Class 9-1", 9),
    ]

    static let courses = [
        DemoCourse(title: "Mathematics 7", subject: "mathematics", grade: 7, teacher: "teacher", classes: ["Class 7-1", "Class 7-2"],
                   today: [(-20, 45), (65, 45), (180, 45)]),
        DemoCourse(title: "English 7", subject: "english", grade: 7, teacher: "teacher2", classes: ["Class 7-1"], today: [(30, 30)]),
        DemoCourse(title: "Chinese 8", subject: "chinese", grade: 8, teacher: "teacher2", classes: ["Class 8-1"], today: [(-10, 35)]),
        DemoCourse(title: "National Science Lecture", subject: "science", grade: 8, teacher: "teacher2", classes: classes.map(\.name),
                   today: [(120, 45)]),
    ]

    static func seed(on client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            for item in classes {
                try await connection.query(
                    """
                    INSERT INTO scheduling.classes (id, school_id, name, grade)
                    SELECT \(UUID()), id, \(item.name), \(Int16(item.grade)) FROM scheduling.schools WHERE code = \(item.school)
                    ON CONFLICT (school_id, name) DO NOTHING
                    """,
                    logger: logger
                )
            }
            // The demo student and the pupils join classes of the first school, in thirds.
            try await connection.query(
                """
                UPDATE scheduling.users u SET class_id = c.id
                FROM scheduling.classes c JOIN scheduling.schools s ON s.id = c.school_id AND s.code = 'wh-no1'
                WHERE u.class_id IS NULL AND u.role = 'student' AND u.school_id = s.id
                  AND c.name = CASE WHEN u.username = 'student' THEN 'Class 7-1'
                                    WHEN u.username ~ '^pupil[0-9]+$' AND substring(u.username FROM 6)::int <= 70 THEN 'Class 7-1'
                                    WHEN u.username ~ '^pupil[0-9]+$' AND substring(u.username FROM 6)::int <= 140 THEN 'Class 7-2'
                                    ELSE 'Class 8-1' END
                """,
                logger: logger
            )
            for course in courses {
                try await connection.query(
                    """
                    INSERT INTO scheduling.courses (id, title, subject, grade, teacher_id)
                    SELECT \(UUID()), \(course.title), \(course.subject), \(Int16(course.grade)), id FROM scheduling.users WHERE username = \(course.teacher)
                      AND NOT EXISTS (SELECT 1 FROM scheduling.courses WHERE title = \(course.title))
                    """,
                    logger: logger
                )
                try await connection.query(
                    """
                    INSERT INTO scheduling.course_classes (course_id, class_id)
                    SELECT co.id, c.id FROM scheduling.courses co, scheduling.classes c
                    WHERE co.title = \(course.title) AND c.name = ANY(\(course.classes)::text[])
                    ON CONFLICT DO NOTHING
                    """,
                    logger: logger
                )
            }
        }
        try await seedToday(on: client, logger: logger)
    }

    /// Today's lessons, each in its own transaction: one that clashes with something already
    /// there (a second run close to the first) is skipped.
    static func seedToday(on client: PostgresClient, logger: Logger) async throws {
        let now = (Date().timeIntervalSince1970 / 300).rounded(.down) * 300
        // Store's transactions rethrow the body's own error (PostgresNIO's wrap it).
        let database = Database(client: client)
        for course in courses {
            let rows = try await client.query(
                """
                SELECT co.id, co.teacher_id,
                       EXISTS (SELECT 1 FROM scheduling.lessons l WHERE l.course_id = co.id AND l.state = 'scheduled'
                               AND l.during && tstzrange(now() - interval '1 hour', now() + interval '4 hours'))
                FROM scheduling.courses co WHERE co.title = \(course.title)
                """,
                logger: logger
            )
            for try await (courseID, teacherID, hasLessonsNear) in rows.decode((UUID, UUID, Bool).self) where !hasLessonsNear {
                for lesson in course.today {
                    let starts = Date(timeIntervalSince1970: now + Double(lesson.start * 60))
                    let slot = Slot(starts: starts, ends: starts.addingTimeInterval(Double(lesson.minutes * 60)))
                    do {
                        try await database.withTransaction(logger: logger) { connection in
                            try await Bookings.insert([slot], course: courseID, teacher: teacherID, title: course.title, series: nil, on: connection, logger: logger)
                        }
                    } catch is Bookings.Refused {
                        logger.info("demo lesson skipped: its slot is taken", metadata: ["course": "\(course.title)"])
                    }
                }
            }
        }
    }
}
