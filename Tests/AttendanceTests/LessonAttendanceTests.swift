import Attendance
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import ServiceKit
import SessionTokens
import Store
import TestSupport
import Testing

/// The lasting record against real PostgreSQL and a real scheduling service: the roll kept when
/// a lesson ends, judged by rules, overridden by its teacher, read as JSON and CSV.
@Suite struct LessonAttendanceTests {
    struct Report: Decodable {
        struct Row: Decodable {
            struct Override: Decodable {
                var status: String
                var note: String
                var set_by: UUID
                var set_at: String
            }
            var student_id: UUID
            var display_name: String
            var class_id: UUID?
            var class_name: String?
            var status: String
            var computed_status: String
            var minutes_watched: Int
            var first_join: String?
            var last_seen: String?
            var joins: Int
            var override: Override?
        }
        struct Rules: Decodable {
            var watched_percent: Int
            var late_minutes: Int
        }
        var lesson_id: UUID
        var title: String
        var lesson_minutes: Int
        var final: Bool
        var rules: Rules
        var rules_source: String
        var counts: [String: Int]
        var students: [Row]

        func row(_ id: UUID?) -> Row? { students.first { $0.student_id == id } }
    }

    struct Viewers: Decodable {
        struct Viewer: Decodable {
            var student_id: UUID
            var display_name: String
        }
        var watching: Int
        var viewers: [Viewer]
    }

    @Test func anEndedLessonsReportJudgesEveryPupilOnItsRollAndReadsAsCSV() async throws {
        let school = try await ScheduleFixture.make()
        let startsAt = ScheduleFixture.start(ago: 3000)  // 45 minutes, ended 5 minutes ago
        let lesson = try await school.addLesson(startsAt: startsAt)
        let pupils = school.pupils
        try await school.withAttendance { attendance, client in
            // Ann watches it all; Bob from 10:20 (late, 35 of 45 minutes); Cai the first 20
            // minutes; Dan nothing; Eve was deactivated before it; Fay is on no course but
            // joined anyway (broadcast would not let her; the report lists the roll only).
            for (name, played) in [("Ann", [0..<2700]), ("Bob", [620..<2700]), ("Cai", [0..<1200]), ("Fay", [0..<600])] {
                let answer = try await client.beat(lesson: lesson, startsAt: startsAt, pupil: pupils[name]!, played: played)
                #expect(answer.status == .ok, "\(name)'s beat")
            }
            let teacher = try await school.token(school.teacher, .teacher)
            let response = try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance", token: teacher)
            #expect(response.status == .ok)
            let report = try response.decode(Report.self)
            #expect(report.final, "ended five minutes ago: final")
            #expect(report.lesson_minutes == 45 && report.rules_source == "defaults")
            #expect(report.rules.watched_percent == 75 && report.rules.late_minutes == 10)
            // Class 7A by name, then the pupils without a class.
            #expect(report.students.map(\.display_name) == ["Ann", "Bob", "Dan", "Cai"])
            let expected: [(String, String, Int)] = [("Ann", "present", 45), ("Bob", "late", 35), ("Cai", "partial", 20), ("Dan", "absent", 0)]
            for (name, status, minutes) in expected {
                let row = try #require(report.row(pupils[name]), "\(name) is on the roll")
                #expect(row.status == status && row.computed_status == status, "\(name): \(row.status)")
                #expect(row.minutes_watched == minutes, "\(name)'s minutes")
                #expect((row.first_join != nil) == (minutes > 0))
            }
            #expect(report.row(pupils["Ann"])?.class_id == school.classID && report.row(pupils["Cai"])?.class_name == nil)
            #expect(report.counts == ["present": 1, "late": 1, "partial": 1, "absent": 1, "excused": 0])
            // Reading the report of an ended lesson kept its roll.
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.roll WHERE lesson_id = \(lesson)", as: Int64.self) == 4)

            let csv = try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance", token: teacher, headers: [.accept: "text/csv"])
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition]?.contains("attachment; filename=\"attendance-") == true)
            let text = String(buffer: csv.body)
            #expect(text.hasPrefix("\u{FEFF}student_id,display_name,class_name,status,computed_status,minutes_watched,lesson_minutes,"))
            let lines = text.split(separator: "\r\n")
            #expect(lines.count == 5)
            #expect(lines[2].hasPrefix("\(pupils["Bob"]!.lowercased),Bob,7A,late,late,35,45,"))

            // Someone else's lesson does not exist for them; a pupil may not read the roll.
            let other = try await school.token(school.otherTeacher, .teacher)
            let notTheirs = try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance", token: other)
            #expect(try notTheirs.status == .notFound && (notTheirs.problem().status) == 404)
            #expect(try await client.json(.get, "/api/v1/lessons/\(lesson)/viewers", token: other).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/lessons/\(UUID())/attendance", token: teacher).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/lessons/not-a-lesson/attendance", token: teacher).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance", token: try await school.token(pupils["Ann"]!, .student)).status == .forbidden)
            #expect(try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance").status == .unauthorized)
            let admin = try await school.token(school.admin, .admin)
            #expect(try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance", token: admin).status == .ok)
        }
    }

    @Test func theKeptRollOutlivesRosterChangesAndOverridesKeepWhoWhenAndTheComputedStatus() async throws {
        let school = try await ScheduleFixture.make()
        let startsAt = ScheduleFixture.start(ago: 3000)
        let lesson = try await school.addLesson(startsAt: startsAt)
        let (dan, eve) = (school.pupils["Dan"]!, school.pupils["Eve"]!)
        try await school.withAttendance { attendance, client in
            let teacher = try await school.token(school.teacher, .teacher)
            let path = "/api/v1/lessons/\(lesson)/attendance"
            #expect(try await client.json(.get, path, token: teacher).decode(Report.self).students.count == 4)
            // Next term: 7A leaves the course and Dan leaves the school.
            try await school.scheduling.execute("DELETE FROM scheduling.course_classes WHERE course_id = \(school.course)")
            try await school.scheduling.execute("UPDATE scheduling.users SET active = false WHERE id = \(dan)")
            #expect(try await client.json(.get, path, token: teacher).decode(Report.self).students.map(\.display_name) == ["Ann", "Bob", "Dan", "Cai"])

            // Dan was ill: excused, with the teacher's note; the computed status is still shown.
            let excused = try await client.json(.put, "\(path)/\(dan)", body: #"{"status":"excused","note":"Ill; note from his parents.\nSeen by the head."}"#, token: teacher)
            #expect(excused.status == .ok)
            let row = try excused.decode(Report.Row.self)
            #expect(row.status == "excused" && row.computed_status == "absent")
            #expect(row.override?.set_by == school.teacher && row.override?.note == "Ill; note from his parents.\nSeen by the head.")
            let report = try await client.json(.get, path, token: teacher).decode(Report.self)
            #expect(report.row(dan)?.status == "excused" && report.counts["excused"] == 1 && report.counts["absent"] == 3)

            // Wrong overrides are refused whole and write nothing.
            let before = try await attendance.scalar("SELECT count(*)::int8 FROM attendance.overrides", as: Int64.self)
            for (body, field) in [
                (#"{"status":"asleep"}"#, "status"), (#"{"status":"present","note":"\#(String(repeating: "x", count: 1001))"}"#, "note"),
                (#"{"status":"present","note":"a\u0000b"}"#, "note"),
            ] {
                let refused = try await client.json(.put, "\(path)/\(dan)", body: body, token: teacher)
                #expect(refused.status == .unprocessableContent, "\(field)")
                #expect(try refused.problem().errors?.first?.field == field)
            }
            #expect(try await client.json(.put, "\(path)/\(dan)", body: #"{"status":"present","by":"me"}"#, token: teacher).status == .badRequest)
            let notOnRoll = try await client.json(.put, "\(path)/\(eve)", body: #"{"status":"excused"}"#, token: teacher)
            #expect(try notOnRoll.status == .notFound && (notOnRoll.problem().detail.contains("roll")))
            let other = try await school.token(school.otherTeacher, .teacher)
            #expect(try await client.json(.put, "\(path)/\(dan)", body: #"{"status":"present"}"#, token: other).status == .notFound)
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.overrides", as: Int64.self) == before)

            // Taken back: computed again; the history keeps both.
            let back = try await client.json(.delete, "\(path)/\(dan)", token: teacher)
            #expect(back.status == .ok)
            #expect(try back.decode(Report.Row.self).status == "absent" && (back.decode(Report.Row.self).override) == nil)
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.overrides WHERE pupil_id = \(dan)", as: Int64.self) == 2)
        }
    }

    @Test func rulesPerCourseAndPerLessonDecideTheStatuses() async throws {
        let school = try await ScheduleFixture.make()
        let startsAt = ScheduleFixture.start(ago: 3000)
        let lesson = try await school.addLesson(startsAt: startsAt)
        let pupils = school.pupils
        try await school.withAttendance { _, client in
            for (name, played) in [("Ann", [0..<2700]), ("Bob", [620..<2700]), ("Cai", [0..<1200])] {
                #expect(try await client.beat(lesson: lesson, startsAt: startsAt, pupil: pupils[name]!, played: played).status == .ok)
            }
            let teacher = try await school.token(school.teacher, .teacher)
            let coursePath = "/api/v1/attendance/courses/\(school.course)/rules"
            let lessonPath = "/api/v1/attendance/lessons/\(lesson)/rules"
            func statuses() async throws -> [String] {
                let report = try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance", token: teacher).decode(Report.self)
                return ["Ann", "Bob", "Cai"].map { report.row(pupils[$0])?.status ?? "?" }
            }
            struct Rules: Decodable { var watched_percent: Int; var late_minutes: Int; var source: String }
            #expect(try await client.json(.get, coursePath, token: teacher).decode(Rules.self).source == "defaults")

            // A generous course: 40% watched, 30 minutes' grace.
            let set = try await client.json(.put, coursePath, body: #"{"watched_percent":40,"late_minutes":30}"#, token: teacher)
            #expect(set.status == .ok)
            #expect(try set.decode(Rules.self).source == "course" && (set.decode(Rules.self).watched_percent) == 40)
            #expect(try await statuses() == ["present", "present", "present"])
            // This lesson was a test: every minute, from the start.
            #expect(try await client.json(.put, lessonPath, body: #"{"watched_percent":100,"late_minutes":0}"#, token: teacher).decode(Rules.self).source == "lesson")
            #expect(try await statuses() == ["present", "partial", "partial"])
            let removed = try await client.json(.delete, lessonPath, token: teacher)
            #expect(try removed.status == .ok && (removed.decode(Rules.self).source) == "course")
            #expect(try await statuses() == ["present", "present", "present"])

            let bad = try await client.json(.put, coursePath, body: #"{"watched_percent":0,"late_minutes":361}"#, token: teacher)
            #expect(bad.status == .unprocessableContent)
            #expect(try bad.problem().errors?.map(\.field) == ["watched_percent", "late_minutes"])
            #expect(try await client.json(.put, coursePath, body: #"{"watched_percent":50}"#, token: teacher).status == .badRequest)
            let other = try await school.token(school.otherTeacher, .teacher)
            #expect(try await client.json(.get, coursePath, token: other).status == .notFound)
            #expect(try await client.json(.put, lessonPath, body: #"{"watched_percent":50,"late_minutes":5}"#, token: other).status == .notFound)
            #expect(try await client.json(.get, "/api/v1/attendance/courses/\(UUID())/rules", token: teacher).status == .notFound)
            let admin = try await school.token(school.admin, .admin)
            #expect(try await client.json(.get, coursePath, token: admin).decode(Rules.self).watched_percent == 40)
        }
    }

    @Test func aLiveLessonShowsWhoIsWatchingAndIsNotFinal() async throws {
        let school = try await ScheduleFixture.make()
        let startsAt = ScheduleFixture.start(ago: 600)
        let lesson = try await school.addLesson(startsAt: startsAt)
        let pupils = school.pupils
        try await school.withAttendance { attendance, client in
            for name in ["Ann", "Bob"] {
                #expect(try await client.beat(lesson: lesson, startsAt: startsAt, pupil: pupils[name]!, played: [0..<590]).status == .ok)
            }
            let now = Date()
            let bob = AttendanceFixture.session(lesson: lesson, pupil: pupils["Bob"]!, issuedAgo: now.timeIntervalSince(startsAt), now: now, startsAt: startsAt)
            #expect(try await client.json(.post, "/api/v1/sessions/\(bob.claims.session)/leave", token: bob.token).status == .noContent)
            let teacher = try await school.token(school.teacher, .teacher)
            let viewers = try await client.json(.get, "/api/v1/lessons/\(lesson)/viewers", token: teacher).decode(Viewers.self)
            #expect(viewers.watching == 1 && viewers.viewers.map(\.display_name) == ["Ann"])
            let report = try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance", token: teacher).decode(Report.self)
            #expect(!report.final)
            // Minutes 0–8 whole and 50 s of minute 9.
            #expect(report.row(pupils["Bob"])?.minutes_watched == 10)
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.lessons", as: Int64.self) == 0, "not kept before it ends")
        }
    }

    /// A kept report reads while scheduling is down; one that needs scheduling's roll says to
    /// retry (503), never a 500 and never an empty roll.
    @Test func keptReportsReadWhileSchedulingIsDownAndOthersAreRetryLater() async throws {
        let school = try await ScheduleFixture.make()
        let ended = try await school.addLesson(startsAt: ScheduleFixture.start(ago: 3000))
        // Not ended, so never kept: only scheduling knows its roll.
        let upcoming = try await school.addLesson(startsAt: ScheduleFixture.start(ago: -3600), title: "Later")
        let teacher = try await school.token(school.teacher, .teacher)
        let database = try await school.withAttendance { attendance, client async throws -> DatabaseSettings in
            #expect(try await client.json(.get, "/api/v1/lessons/\(ended)/attendance", token: teacher).status == .ok)
            return attendance.database
        }
        // The same attendance database; scheduling nowhere to be found.
        var config = AttendanceConfig(service: TestKeys.settings(for: .attendance), tokenKey: AttendanceFixture.key, playbackKey: AttendanceFixture.playbackKey)
        config.service.peers[.scheduling] = URL(string: "http://127.0.0.1:1")!
        let cutOff = ServiceHarness(
            service: AttendanceService(config: config, database: Database(settings: TestPostgres.asService("attendance", database), logger: Logger(label: "test.db"))),
            database: database
        )
        try await cutOff.test { client in
            let kept = try await client.json(.get, "/api/v1/lessons/\(ended)/attendance", token: teacher)
            #expect(try kept.status == .ok && kept.decode(Report.self).students.count == 4)
            #expect(try await client.json(.get, "/api/v1/lessons/\(ended)/attendance", token: try await school.token(school.otherTeacher, .teacher)).status == .notFound)
            let unknown = try await client.json(.get, "/api/v1/lessons/\(upcoming)/attendance", token: teacher)
            #expect(try unknown.status == .serviceUnavailable && unknown.problem().status == 503)
            #expect(unknown.headers[.retryAfter] != nil)
        }
    }

    /// Scheduling's `lesson.changed` for a kept lesson whose end moved (extended while it ran
    /// on): the kept copy goes, the report follows the lesson again, overrides stay.
    /// Joins reach attendance through broadcast's outbox, whenever attendance is there: they
    /// count, give the first join's time, and make the session of a pupil who never beat.
    @Test func joinsFromBroadcastsOutboxCountAndGiveTheFirstJoin() async throws {
        let school = try await ScheduleFixture.make()
        let startsAt = ScheduleFixture.start(ago: 3000)
        let lesson = try await school.addLesson(startsAt: startsAt)
        let (ann, bob) = (school.pupils["Ann"]!, school.pupils["Bob"]!)
        @Sendable func joined(_ pupil: UUID, at: Date) -> String {
            let session = SessionToken.sessionID(lesson: lesson, pupil: pupil)
            return """
                {"id":"\(UUID())","kind":"session.joined","sender":"broadcast","created_at":"\(RFC3339.format(Date()))",
                "payload":{"session_id":"\(session)","lesson_id":"\(lesson)","pupil_id":"\(pupil)","lesson_starts_at":"\(RFC3339.format(startsAt))",
                "lesson_ends_at":"\(RFC3339.format(startsAt.addingTimeInterval(2700)))","joined_at":"\(RFC3339.format(at))"}}
                """
        }
        try await school.withAttendance { _, client in
            // Ann joins twice (the second message first: delivery order is not promised) and beats; Bob joins and never plays.
            #expect(try await client.beat(lesson: lesson, startsAt: startsAt, pupil: ann, played: [0..<2700]).status == .ok)
            let messages = [joined(ann, at: startsAt.addingTimeInterval(900)), joined(ann, at: startsAt.addingTimeInterval(-60)), joined(bob, at: startsAt.addingTimeInterval(30))]
            let receipt = try await client.json(.post, "/internal/v1/messages", body: #"{"messages":[\#(messages.joined(separator: ","))]}"#, token: TestKeys.serviceToken)
            #expect(receipt.status == .ok && String(buffer: receipt.body).contains(#""failed":[]"#))
            let teacher = try await school.token(school.teacher, .teacher)
            let report = try await client.json(.get, "/api/v1/lessons/\(lesson)/attendance", token: teacher).decode(Report.self)
            let annRow = try #require(report.row(ann))
            #expect(annRow.joins == 2 && annRow.first_join == RFC3339.format(startsAt.addingTimeInterval(-60)) && annRow.status == "present")
            let bobRow = try #require(report.row(bob))
            #expect(bobRow.joins == 1 && bobRow.first_join == RFC3339.format(startsAt.addingTimeInterval(30)) && bobRow.status == "absent")
            #expect(report.row(school.pupils["Dan"])?.joins == 0)
            // A join whose session id is not its pupil's at that lesson is not applied.
            let forged = joined(ann, at: startsAt).replacingOccurrences(of: "\"pupil_id\":\"\(ann)\"", with: "\"pupil_id\":\"\(bob)\"")
            let refused = try await client.json(.post, "/internal/v1/messages", body: #"{"messages":[\#(forged)]}"#, token: TestKeys.serviceToken)
            #expect(refused.status == .ok && !String(buffer: refused.body).contains(#""failed":[]"#))
        }
    }

    @Test func aKeptLessonExtendedPastItsEndIsReopened() async throws {
        let school = try await ScheduleFixture.make()
        let startsAt = ScheduleFixture.start(ago: 3000)
        let lesson = try await school.addLesson(startsAt: startsAt)
        let dan = school.pupils["Dan"]!
        try await school.withAttendance { attendance, client in
            let teacher = try await school.token(school.teacher, .teacher)
            let path = "/api/v1/lessons/\(lesson)/attendance"
            #expect(try await client.json(.get, path, token: teacher).decode(Report.self).final)
            #expect(try await client.json(.put, "\(path)/\(dan)", body: #"{"status":"excused"}"#, token: teacher).status == .ok)
            let newEnd = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 600).rounded(.down))
            try await school.scheduling.execute("UPDATE scheduling.lessons SET during = tstzrange(\(startsAt), \(newEnd)) WHERE id = \(lesson)")
            let messageID = UUID()
            let message = """
                {"messages":[{"id":"\(messageID)","kind":"lesson.changed","sender":"scheduling","created_at":"\(RFC3339.format(Date()))",
                "payload":{"lesson_id":"\(lesson)","state":"scheduled","starts_at":"\(RFC3339.format(startsAt))","ends_at":"\(RFC3339.format(newEnd))"}}]}
                """
            let receipt = try await client.json(.post, "/internal/v1/messages", body: message, token: TestKeys.serviceToken)
            #expect(receipt.status == .ok && String(buffer: receipt.body).contains(#""failed":[]"#))
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.roll WHERE lesson_id = \(lesson)", as: Int64.self) == 0)
            let report = try await client.json(.get, path, token: teacher).decode(Report.self)
            #expect(!report.final && report.lesson_minutes == Int((newEnd.timeIntervalSince(startsAt) / 60).rounded(.up)))
            #expect(report.row(dan)?.status == "excused")
            // The same change again (a redelivery) is acknowledged from the inbox, not applied twice.
            let again = try await client.json(.post, "/internal/v1/messages", body: message, token: TestKeys.serviceToken)
            struct Receipt: Decodable { var acknowledged: [UUID]; var failed: [UUID] }
            #expect(try again.decode(Receipt.self).acknowledged == [messageID])
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.inbox WHERE message_id = \(messageID)", as: Int64.self) == 1)
        }
    }

    /// The keeper walks the lessons that ended, page after page (200 a page), and keeps each
    /// roll once; cancelled and unfinished lessons are not kept.
    @Test func theKeeperKeepsEveryEndedLessonsRollOnItsOwn() async throws {
        let school = try await ScheduleFixture.make()
        // 205 five-minute lessons back to back over the last 17 hours and a bit.
        let firstStart = ScheduleFixture.start(ago: 205 * 300 + 600)
        try await school.scheduling.execute(
            """
            INSERT INTO scheduling.lessons (id, course_id, teacher_id, title, during)
            SELECT gen_random_uuid(), \(school.course), \(school.teacher), 'Drill ' || n,
                   tstzrange(\(firstStart) + (n * interval '5 minutes'), \(firstStart) + ((n + 1) * interval '5 minutes'))
            FROM generate_series(0, 204) AS n
            """
        )
        let cancelled = try await school.addLesson(startsAt: ScheduleFixture.start(ago: 500), length: 300, state: "cancelled")
        let onAir = try await school.addLesson(startsAt: ScheduleFixture.start(ago: 100), length: 600)
        try await school.withAttendance({ $0.rollKeepingInterval = .milliseconds(200) }) { attendance, _ in
            let deadline = ContinuousClock.now + .seconds(20)
            var kept: Int64 = 0
            while ContinuousClock.now < deadline {
                kept = try await attendance.scalar("SELECT count(*)::int8 FROM attendance.lessons", as: Int64.self)
                if kept >= 205 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(kept == 205)
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.roll", as: Int64.self) == 205 * 4)
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.lessons WHERE lesson_id IN (\(cancelled), \(onAir))", as: Int64.self) == 0)
            // In the month's own partition, not the default one.
            #expect(try await attendance.scalar("SELECT count(*)::int8 FROM attendance.roll_default", as: Int64.self) == 0)
            #expect(try await attendance.scalar("SELECT title FROM attendance.lessons l JOIN attendance.roll_cursor c USING (lesson_id)", as: String.self) == "Drill 204")
        }
    }
}
