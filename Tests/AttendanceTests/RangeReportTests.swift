import Attendance
import Foundation
import HTTPTypes
import HummingbirdTesting
import ServiceKit
import TestSupport
import Testing

/// A pupil's and a class's record over days of kept lessons: who may read which lessons, the
/// attendance rate, JSON and CSV.
@Suite struct RangeReportTests {
    struct PupilRecord: Decodable {
        struct Lesson: Decodable {
            var lesson_id: UUID
            var title: String
            var status: String
            var minutes_watched: Int
        }
        var student_id: UUID
        var display_name: String?
        var counts: [String: Int]
        var attendance_rate: Double?
        var lessons: [Lesson]
    }

    struct ClassRecord: Decodable {
        struct Pupil: Decodable {
            var display_name: String
            var counts: [String: Int]
            var attendance_rate: Double?
        }
        struct Lesson: Decodable {
            var lesson_id: UUID
            var attendance_rate: Double?
        }
        var class_name: String?
        var counts: [String: Int]
        var attendance_rate: Double?
        var students: [Pupil]
        var lessons: [Lesson]
    }

    @Test func aPupilsAndAClasssRecordOverDaysCountOnlyWhatTheReaderMaySee() async throws {
        let school = try await ScheduleFixture.make()
        let pupils = school.pupils
        let (ann, bob) = (pupils["Ann"]!, pupils["Bob"]!)
        // Tao's lessons three, two and one day ago; Oli teaches 7A science yesterday afternoon.
        let starts = [3, 2, 1].map { ScheduleFixture.start(ago: Double($0) * 86_400) }
        var booked: [UUID] = []
        for (index, start) in starts.enumerated() { booked.append(try await school.addLesson(startsAt: start, title: "Maths \(index + 1)")) }
        let taos = booked
        let (science, olis) = (UUID(), UUID())
        let olisStart = ScheduleFixture.start(ago: 86_400 - 7200)
        try await school.scheduling.execute("INSERT INTO scheduling.courses (id, title, subject, grade, teacher_id) VALUES (\(science), 'Science 7', 'Science', 7, \(school.otherTeacher))")
        try await school.scheduling.execute("INSERT INTO scheduling.course_classes (course_id, class_id) VALUES (\(science), \(school.classID))")
        try await school.scheduling.execute(
            """
            INSERT INTO scheduling.lessons (id, course_id, teacher_id, title, during)
            VALUES (\(olis), \(science), \(school.otherTeacher), 'Magnets', tstzrange(\(olisStart), \(olisStart.addingTimeInterval(2700))))
            """
        )
        try await school.withAttendance({ $0.rollKeepingInterval = .milliseconds(200); $0.rollFirstLookBack = 7 * 86_400 }) { attendance, client in
            let watched: [(UUID, Date, UUID)] = [
                (taos[0], starts[0], ann), (taos[1], starts[1], ann), (taos[2], starts[2], ann), (taos[1], starts[1], bob),
                (taos[0], starts[0], pupils["Cai"]!), (olis, olisStart, bob),
            ]
            for (lesson, start, pupil) in watched {
                #expect(try await client.beat(lesson: lesson, startsAt: start, pupil: pupil, played: [0..<2700]).status == .ok)
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while try await attendance.scalar("SELECT count(*)::int8 FROM attendance.lessons", as: Int64.self) < 4, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            let (tao, oli, admin) = (try await school.token(school.teacher, .teacher), try await school.token(school.otherTeacher, .teacher), try await school.token(school.admin, .admin))
            #expect(try await client.json(.put, "/api/v1/lessons/\(taos[2])/attendance/\(bob)", body: #"{"status":"excused","note":"dentist"}"#, token: tao).status == .ok)

            func record(_ pupil: UUID, _ token: String, query: String = "") async throws -> PupilRecord {
                let response = try await client.json(.get, "/api/v1/attendance/students/\(pupil)\(query)", token: token)
                guard response.status == .ok else { throw TestFailure("\(response.status): \(String(buffer: response.body))") }
                return try response.decode(PupilRecord.self)
            }
            // Each teacher sees the lessons they taught; the admin and Ann herself see all four.
            let byTao = try await record(ann, tao)
            #expect(byTao.lessons.map(\.title) == ["Maths 1", "Maths 2", "Maths 3"] && byTao.attendance_rate == 1)
            let byOli = try await record(ann, oli)
            #expect(byOli.lessons.map(\.status) == ["absent"] && byOli.attendance_rate == 0)
            let annsOwn = try await record(ann, try await school.token(ann, .student))
            #expect(annsOwn.lessons.count == 4 && annsOwn.counts["present"] == 3 && annsOwn.attendance_rate == 0.75)
            #expect(annsOwn.display_name == "Ann" && annsOwn.lessons.first?.minutes_watched == 45)
            #expect(try await record(ann, admin).lessons.count == 4)
            // The window: the last two days hold Maths 3 and Magnets.
            let recent = try await record(ann, admin, query: "?from=\(RFC3339.format(starts[2].addingTimeInterval(-60)))&to=\(RFC3339.format(Date()))")
            #expect(recent.lessons.map(\.title) == ["Maths 3", "Magnets"])

            // Outside one's reach is 404: another pupil, a pupil with no kept lesson.
            #expect(try await client.json(.get, "/api/v1/attendance/students/\(bob)", token: try await school.token(ann, .student)).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/attendance/students/\(pupils["Fay"]!)", token: admin).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/attendance/students/\(pupils["Cai"]!)", token: oli).status == .notFound)
            for (query, field) in [("?from=2026-13-01", "from"), ("?from=2026-09-02T00:00:00Z&to=2026-09-01T00:00:00Z", "to"), ("?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to")] {
                let refused = try await client.json(.get, "/api/v1/attendance/students/\(ann)\(query)", token: admin)
                #expect(refused.status == .unprocessableContent, "\(query)")
                #expect(try refused.problem().errors?.first?.field == field)
            }

            // Class 7A as Tao sees it: Ann 3 present; Bob absent, present, excused; Dan never.
            let classPath = "/api/v1/attendance/classes/\(school.classID)"
            let seven = try await client.json(.get, classPath, token: tao).decode(ClassRecord.self)
            #expect(seven.class_name == "7A" && seven.lessons.count == 3)
            #expect(seven.students.map(\.display_name) == ["Ann", "Bob", "Dan"])
            #expect(seven.counts == ["present": 4, "late": 0, "partial": 0, "absent": 4, "excused": 1])
            #expect(seven.attendance_rate == 0.5)
            #expect(seven.students[1].attendance_rate == 0.5 && seven.students[2].attendance_rate == 0)
            #expect(try await client.json(.get, classPath, token: oli).decode(ClassRecord.self).lessons.map(\.lesson_id) == [olis])
            #expect(try await client.json(.get, classPath, token: admin).decode(ClassRecord.self).lessons.count == 4)
            let csv = try await client.json(.get, classPath, token: tao, headers: [.accept: "text/csv"])
            let lines = String(buffer: csv.body).split(separator: "\r\n")
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8" && lines.count == 4)
            #expect(lines[2].hasPrefix("\(bob.lowercased),Bob,3,1,0,0,1,1,0.5,45"))
            #expect(try await client.json(.get, "/api/v1/attendance/classes/\(UUID())", token: admin).status == .notFound)
            #expect(try await client.json(.get, classPath, token: try await school.token(ann, .student)).status == .forbidden)
        }
    }
}
