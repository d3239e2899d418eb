import Foundation
import Scheduling
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// A school with two classes, two teachers, a pupil in class A and an administrator.
struct TimetableFixture {
    let app: TestApp
    let school: UUID
    let classA: UUID
    let classB: UUID
    let teacher: UUID
    let otherTeacher: UUID
    let pupil: UUID

    static func make(_ configure: (inout SchedulingConfig) -> Void = { _ in }) async throws -> TimetableFixture {
        let app = try await TestApp.make(configure)
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("school-1", region: "420000")
        let classA = try await app.addClass("7-1", school: school)
        let classB = try await app.addClass("7-2", school: school)
        let teacher = try await app.addUser("teach", role: .teacher, school: school)
        let otherTeacher = try await app.addUser("other", role: .teacher, school: school)
        let pupil = try await app.addUser("pupil", role: .student, school: school, class: classA)
        return TimetableFixture(app: app, school: school, classA: classA, classB: classB, teacher: teacher, otherTeacher: otherTeacher, pupil: pupil)
    }

    /// Midnight UTC three days from now, plus `day` days and the given time.
    static func at(day: Int = 0, _ hour: Int, _ minute: Int = 0) -> String {
        let midnight = (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 + 3 * 86_400
        return RFC3339String(Date(timeIntervalSince1970: midnight + Double(day * 86_400 + hour * 3600 + minute * 60)))
    }

    static func RFC3339String(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }
}

struct CourseBody: Decodable { var id: UUID; var teacher_id: UUID }
struct LessonBody: Decodable { var id: UUID; var course_id: UUID; var series_id: UUID?; var starts_at: Date; var ends_at: Date; var state: String }
struct ConflictBody: Decodable, Equatable { var lesson_id: UUID; var reason: String; var class_id: UUID? }
struct ConflictProblem: Decodable { var status: Int; var conflicts: [ConflictBody] }
struct SeriesBody: Decodable { var series_id: UUID; var lessons: [LessonBody] }

extension TestClientProtocol {
    func course(_ token: String, title: String = "Maths", teacher: UUID? = nil, classes: [UUID] = []) async throws -> UUID {
        let teacherField = teacher.map { #","teacher_id":"\#($0)""# } ?? ""
        let response = try await json(.post, "/api/v1/courses", body: #"{"title":"\#(title)","subject":"maths","grade":7\#(teacherField)}"#, token: token)
        guard response.status == .created else { throw TestFailure("course: \(response.status) \(String(buffer: response.body))") }
        let id = try response.decode(CourseBody.self).id
        if !classes.isEmpty {
            let enrolled = try await json(.post, "/api/v1/courses/\(id)/enrollments", body: #"{"class_ids":[\#(classes.map { "\"\($0)\"" }.joined(separator: ","))]}"#, token: token)
            guard enrolled.status == .ok else { throw TestFailure("enrol: \(enrolled.status) \(String(buffer: enrolled.body))") }
        }
        return id
    }

    func book(_ token: String, course: UUID, _ starts: String, _ ends: String, key: String? = nil) async throws -> TestResponse {
        try await json(
            .post, "/api/v1/lessons", body: #"{"course_id":"\#(course)","title":"Lesson","starts_at":"\#(starts)","ends_at":"\#(ends)"}"#, token: token,
            headers: key.map { [HTTPField.Name("Idempotency-Key")!: $0] } ?? [:]
        )
    }
}

@Suite struct LessonsTests {
    typealias F = TimetableFixture

    @Test func clashesOfTeacherOrClassAre409sListingEveryConflictAndCancellingFreesTheSlot() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let other = try await client.token("other")
            let maths = try await client.course(teach, classes: [f.classA])
            let physics = try await client.course(other, title: "Physics", classes: [f.classA, f.classB])
            let english = try await client.course(teach, title: "English", classes: [f.classB])

            let first = try await client.book(teach, course: maths, F.at(8), F.at(8, 45))
            #expect(first.status == .created)
            let lesson = try first.decode(LessonBody.self)
            #expect(lesson.state == "scheduled" && lesson.course_id == maths)
            // Half-open ranges: the next lesson may start when this one ends.
            #expect(try await client.book(teach, course: maths, F.at(8, 45), F.at(9, 30)).status == .created)

            let teacherClash = try await client.book(teach, course: english, F.at(8, 30), F.at(9, 0))
            #expect(teacherClash.status == .conflict)
            let teacherConflicts = try teacherClash.decode(ConflictProblem.self).conflicts
            #expect(teacherConflicts.count == 2 && teacherConflicts.allSatisfy { $0.reason == "teacher" })

            let classClash = try await client.book(other, course: physics, F.at(8, 0), F.at(8, 10))
            #expect(classClash.status == .conflict)
            #expect(try classClash.decode(ConflictProblem.self).conflicts == [ConflictBody(lesson_id: lesson.id, reason: "class", class_id: f.classA)])

            let cancelled = try await client.json(.post, "/api/v1/lessons/\(lesson.id)/cancel", token: teach)
            #expect(cancelled.status == .ok)
            #expect(try await client.book(other, course: physics, F.at(8, 0), F.at(8, 10)).status == .created)
            let shown = try await client.json(.get, "/api/v1/lessons/\(lesson.id)", token: client.token("pupil")).decode(LessonBody.self)
            #expect(shown.state == "cancelled")
        }
    }

    @Test func boundsAndPermissionsAreCheckedBeforeAnythingIsBooked() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach, classes: [f.classA])
            func fields(_ starts: String, _ ends: String) async throws -> [String] {
                try await client.book(teach, course: maths, starts, ends).problem().errors?.map { "\($0.field): \($0.message)" } ?? []
            }
            #expect(try await fields(F.at(9), F.at(8)) == ["ends_at: must be after starts_at"])
            #expect(try await fields(F.at(9), F.at(9, 4)) == ["ends_at: a lesson lasts 5 minutes to 6 hours"])
            #expect(try await fields(F.at(9), F.at(15, 1)) == ["ends_at: a lesson lasts 5 minutes to 6 hours"])
            let past = F.RFC3339String(Date().addingTimeInterval(-3600))
            #expect(try await fields(F.RFC3339String(Date().addingTimeInterval(-7200)), past) == ["ends_at: must be in the future"])
            #expect(try await fields(F.at(day: 740, 9), F.at(day: 740, 10)) == ["starts_at: must be at most 2 years ahead"])
            let badTime = try await client.json(.post, "/api/v1/lessons", body: #"{"course_id":"\#(maths)","title":"x","starts_at":"tomorrow","ends_at":"\#(F.at(9))"}"#, token: teach)
            #expect(try badTime.problem().errors?.map(\.field) == ["starts_at"])

            // Another teacher's course is outside reach: 404, as an unknown one; pupils may not book at all: 403.
            let notYours = try await client.book(client.token("other"), course: maths, F.at(9), F.at(10))
            #expect(notYours.status == .notFound)
            #expect(try notYours.problem().detail == "No course has id \(maths.lowercased).")
            #expect(try await client.book(client.token("pupil"), course: maths, F.at(9), F.at(10)).status == .forbidden)
            #expect(try await client.book(teach, course: UUID(), F.at(9), F.at(10)).status == .notFound)
            #expect(try await f.app.scalar("SELECT count(*) FROM scheduling.lessons", as: Int64.self) == 0)
        }
    }

    @Test func anIdempotencyKeyBooksOneLessonForRepeatsAndRefusesAnotherBody() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach, classes: [f.classA])
            let first = try await client.book(teach, course: maths, F.at(10), F.at(11), key: "click-1")
            let again = try await client.book(teach, course: maths, F.at(10), F.at(11), key: "click-1")
            #expect(first.status == .created && again.status == .created)
            #expect(try first.decode(LessonBody.self).id == again.decode(LessonBody.self).id)
            let otherBody = try await client.book(teach, course: maths, F.at(12), F.at(13), key: "click-1")
            #expect(try otherBody.status == .unprocessableContent && (otherBody.problem().errors?.map(\.field)) == ["Idempotency-Key"])
            #expect(try await f.app.scalar("SELECT count(*) FROM scheduling.lessons", as: Int64.self) == 1)
            // The key is the caller's own: another teacher's "click-1" is another request.
            let admin = try await client.token("root")
            #expect(try await client.book(admin, course: maths, F.at(12), F.at(13), key: "click-1").status == .created)
        }
    }

    @Test func enrollingAClassIntoACourseWithLessonsAheadRunsTheSameCheck() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let other = try await client.token("other")
            let maths = try await client.course(teach, classes: [f.classA])
            let blocking = try await client.book(teach, course: maths, F.at(8), F.at(9)).decode(LessonBody.self)
            let physics = try await client.course(other, title: "Physics")
            _ = try await client.book(other, course: physics, F.at(8, 30), F.at(9, 30))
            let refused = try await client.json(.post, "/api/v1/courses/\(physics)/enrollments", body: #"{"class_ids":["\#(f.classA)"]}"#, token: other)
            #expect(refused.status == .conflict)
            #expect(try refused.decode(ConflictProblem.self).conflicts == [ConflictBody(lesson_id: blocking.id, reason: "class", class_id: f.classA)])
            struct Enrollments: Decodable { var class_ids: [UUID]; var student_ids: [UUID] }
            #expect(try await client.json(.get, "/api/v1/courses/\(physics)/enrollments", token: other).decode(Enrollments.self).class_ids.isEmpty)
            let fine = try await client.json(.post, "/api/v1/courses/\(physics)/enrollments", body: #"{"class_ids":["\#(f.classB)"],"student_ids":["\#(f.pupil)"]}"#, token: other)
            #expect(try fine.decode(Enrollments.self).class_ids == [f.classB] && fine.decode(Enrollments.self).student_ids == [f.pupil])
            let unknown = try await client.json(.post, "/api/v1/courses/\(physics)/enrollments", body: #"{"class_ids":["\#(f.classB)","\#(UUID())"]}"#, token: other)
            #expect(try unknown.problem().errors?.map(\.field) == ["class_ids[1]"])
        }
    }

    @Test func rescheduleFollowsTheSameRulesAndCancelCanEndTheRestOfASeries() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach, classes: [f.classA])
            let fixed = try await client.book(teach, course: maths, F.at(14), F.at(15)).decode(LessonBody.self)
            let moving = try await client.book(teach, course: maths, F.at(8), F.at(9)).decode(LessonBody.self)
            let clash = try await client.json(.patch, "/api/v1/lessons/\(moving.id)", body: #"{"starts_at":"\#(F.at(14, 30))","ends_at":"\#(F.at(15, 30))"}"#, token: teach)
            #expect(clash.status == .conflict)
            #expect(try clash.decode(ConflictProblem.self).conflicts.map(\.lesson_id) == [fixed.id, fixed.id])
            let moved = try await client.json(.patch, "/api/v1/lessons/\(moving.id)", body: #"{"starts_at":"\#(F.at(8, 30))","ends_at":"\#(F.at(9, 30))"}"#, token: teach)
            #expect(try moved.status == .ok && (moved.decode(LessonBody.self).starts_at) == RFC3339.parse(F.at(8, 30)))

            let weekday = LocalWeekday.of(F.at(day: 1, 0))
            let series = try await client.json(
                .post, "/api/v1/lesson-series",
                body: #"{"course_id":"\#(maths)","title":"Daily","weekdays":[\#(weekday)],"start_time":"10:00","duration_minutes":45,"first_date":"\#(F.at(day: 1, 0).prefix(10))","last_date":"\#(F.at(day: 22, 0).prefix(10))","timezone":"UTC","except_dates":["\#(F.at(day: 8, 0).prefix(10))"]}"#,
                token: teach)
            #expect(series.status == .created)
            let booked = try series.decode(SeriesBody.self)
            #expect(booked.lessons.count == 3, "weeks 0, 2 and 3; week 1 is excepted")
            let rest = try await client.json(.post, "/api/v1/lessons/\(booked.lessons[1].id)/cancel?rest_of_series=true", token: teach)
            struct Cancelled: Decodable { var lessons: [LessonBody] }
            #expect(try rest.decode(Cancelled.self).lessons.map(\.id) == booked.lessons.suffix(2).map(\.id))
            #expect(try await client.json(.get, "/api/v1/lessons/\(booked.lessons[0].id)", token: teach).decode(LessonBody.self).state == "scheduled")
            // The freed slot can be booked again.
            let slot = booked.lessons[2]
            #expect(try await client.book(teach, course: maths, F.RFC3339String(slot.starts_at), F.RFC3339String(slot.ends_at)).status == .created)
        }
    }
}

extension LessonsTests {
    @Test func teachersListTheirOwnCoursesAndPupilsSeeOnlyCoursesTheyAreIn() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let other = try await client.token("other")
            let maths = try await client.course(teach, classes: [f.classA])
            let art = try await client.course(other, title: "Art", classes: [f.classB])
            struct Page: Decodable { var items: [CourseBody] }
            #expect(try await client.json(.get, "/api/v1/courses", token: teach).decode(Page.self).items.map(\.id) == [maths])
            let all = try await client.json(.get, "/api/v1/courses", token: client.token("root")).decode(Page.self).items.map(\.id)
            #expect(Set(all) == [maths, art])
            let pupil = try await client.token("pupil")
            #expect(try await client.json(.get, "/api/v1/courses/\(maths)", token: pupil).status == .ok)
            // Outside one's reach is 404, the same answer as for a course that does not exist.
            #expect(try await client.json(.get, "/api/v1/courses/\(art)", token: pupil).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/courses/\(art)", token: teach).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/courses/\(art)", token: other).status == .ok)
            #expect(try await client.json(.get, "/api/v1/courses", token: pupil).status == .forbidden)
            #expect(try await client.json(.get, "/api/v1/courses/\(maths)/enrollments", token: other).status == .notFound)
        }
    }

    @Test func movingTheRestOfASeriesShiftsEveryLaterLessonOrNoneWithEveryConflict() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach, classes: [f.classA])
            let firstDay = String(F.at(day: 1, 0).prefix(10))
            let weekday = LocalWeekday.of(F.at(day: 1, 0))
            let series = try await client.json(
                .post, "/api/v1/lesson-series",
                body: #"{"course_id":"\#(maths)","title":"Weekly","weekdays":[\#(weekday)],"start_time":"10:00","duration_minutes":45,"first_date":"\#(firstDay)","last_date":"\#(F.at(day: 22, 0).prefix(10))","timezone":"Asia/Shanghai"}"#,
                token: teach
            ).decode(SeriesBody.self)
            #expect(series.lessons.count == 4)
            let second = series.lessons[1]
            // A lesson of another course sits where the fourth would move to.
            let english = try await client.course(teach, title: "English")
            let fourthMoved = series.lessons[3].starts_at.addingTimeInterval(86_400 + 3600)
            let blocker = try await client.book(teach, course: english, F.RFC3339String(fourthMoved), F.RFC3339String(fourthMoved.addingTimeInterval(1800)))
                .decode(LessonBody.self)
            let newStart = second.starts_at.addingTimeInterval(86_400 + 3600)
            let body = #"{"starts_at":"\#(F.RFC3339String(newStart))","ends_at":"\#(F.RFC3339String(newStart.addingTimeInterval(3600)))"}"#
            let refused = try await client.json(.patch, "/api/v1/lessons/\(second.id)?rest_of_series=true", body: body, token: teach)
            #expect(refused.status == .conflict)
            #expect(try refused.decode(ConflictProblem.self).conflicts.map(\.lesson_id) == [blocker.id])
            let unchanged = try await client.json(.get, "/api/v1/lessons/\(series.lessons[2].id)", token: teach).decode(LessonBody.self)
            #expect(unchanged.starts_at == series.lessons[2].starts_at, "nothing moved")

            _ = try await client.json(.post, "/api/v1/lessons/\(blocker.id)/cancel", token: teach)
            let moved = try await client.json(.patch, "/api/v1/lessons/\(second.id)?rest_of_series=true", body: body, token: teach)
            #expect(moved.status == .ok)
            struct Moved: Decodable { var lessons: [LessonBody] }
            let lessons = try moved.decode(Moved.self).lessons
            #expect(lessons.map(\.id) == series.lessons.dropFirst().map(\.id))
            #expect(zip(lessons, series.lessons.dropFirst()).allSatisfy {
                $0.starts_at == $1.starts_at.addingTimeInterval(86_400 + 3600) && $0.ends_at == $0.starts_at.addingTimeInterval(3600)
            })
            let first = try await client.json(.get, "/api/v1/lessons/\(series.lessons[0].id)", token: teach).decode(LessonBody.self)
            #expect(first.starts_at == series.lessons[0].starts_at, "earlier lessons stay")
        }
    }
}

enum LocalWeekday {
    /// The ISO weekday of an RFC 3339 UTC time.
    static func of(_ text: String) -> Int {
        let days = Int((RFC3339.parse(text)!.timeIntervalSince1970 / 86_400).rounded(.down))
        return ((days % 7 + 7) % 7 + 3) % 7 + 1
    }
}

import ServiceKit
