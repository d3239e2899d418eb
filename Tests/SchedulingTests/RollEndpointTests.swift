import Foundation
import InternalProtocol
import ServiceKit
import TestSupport
import Testing

/// Scheduling's side of the roll: who should be at a lesson, and the walk over ended lessons,
/// for services only, with every bad cursor a 422 that names it.
@Suite struct RollEndpointTests {
    @Test func theRollListsActiveStudentsOnceAndTheEndedWalkRefusesBadCursors() async throws {
        let app = try await TestApp.make()
        let school = try await app.addSchool("roll")
        let classID = try await app.addClass("8B", school: school)
        let teacher = try await app.addUser("teacher.roll", role: .teacher, school: school)
        let both = try await app.addUser("both", school: school, class: classID)
        let gone = try await app.addUser("gone", active: false, school: school, class: classID)
        let (course, lesson) = (UUID(), UUID())
        try await app.execute("INSERT INTO scheduling.courses (id, title, subject, grade, teacher_id) VALUES (\(course), 'Physics', 'Physics', 8, \(teacher))")
        try await app.execute("INSERT INTO scheduling.course_classes (course_id, class_id) VALUES (\(course), \(classID))")
        // Enrolled with the class and by name: on the roll once.
        try await app.execute("INSERT INTO scheduling.course_students (course_id, student_id) VALUES (\(course), \(both))")
        let startsAt = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 4000).rounded(.down))
        try await app.execute(
            """
            INSERT INTO scheduling.lessons (id, course_id, teacher_id, title, during)
            VALUES (\(lesson), \(course), \(teacher), 'Optics', tstzrange(\(startsAt), \(startsAt.addingTimeInterval(2700))))
            """
        )
        try await app.test { client in
            let token = TestKeys.serviceToken
            let roll = try await client.json(.get, InternalRoutes.roll(lesson), token: token)
            #expect(roll.status == .ok)
            let message = try roll.decode(LessonRoll.self)
            #expect(message.pupils.map(\.studentID) == [both] && message.pupils.first?.className == "8B")
            #expect(!message.pupils.contains { $0.studentID == gone })
            #expect(try await client.json(.get, InternalRoutes.roll(UUID()), token: token).status == .notFound)
            #expect(try await client.json(.get, InternalRoutes.roll(lesson), token: try await TestKeys.accessToken(role: .admin)).status == .unauthorized)

            let start = EndedLessonsCursor.start(after: startsAt)
            let ended = try await client.json(.get, InternalRoutes.endedRolls(after: start, until: Date()), token: token)
            let page = try ended.decode(EndedLessonRolls.self)
            #expect(page.complete && page.rolls.map(\.lesson.id) == [lesson])
            #expect(page.next?.lesson == lesson && page.lastEndedMilliseconds == InternalRoutes.milliseconds(startsAt.addingTimeInterval(2700)))
            // From just after it, nothing more.
            let after = try await client.json(.get, InternalRoutes.endedRolls(after: try #require(page.next), until: Date()), token: token)
            #expect(try after.decode(EndedLessonRolls.self).rolls.isEmpty)
            for (query, field) in [
                ("ended_after_ms=x&after_lesson=\(lesson)&until_ms=1", "ended_after_ms"),
                ("ended_after_ms=1&after_lesson=nope&until_ms=1", "after_lesson"),
                ("ended_after_ms=1&after_lesson=\(lesson)&until_ms=999999999999999999", "until_ms"),
            ] {
                let refused = try await client.json(.get, "/internal/v1/rolls?\(query)", token: token)
                #expect(refused.status == .unprocessableContent, "\(query)")
                #expect(try refused.problem().errors?.first?.field == field)
            }
        }
    }
}
