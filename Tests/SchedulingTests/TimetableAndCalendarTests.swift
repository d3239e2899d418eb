import Foundation
import Hummingbird
import HummingbirdTesting
import InternalProtocol
import Platform
import TestSupport
import Testing

@Suite struct TimetableAndCalendarTests {
    typealias F = TimetableFixture

    struct Entry: Decodable { var id: UUID; var course_title: String; var state: String; var starts_at: Date; var timezone: String? }
    struct Page: Decodable { var items: [Entry]; var next_cursor: String? }
    struct Me: Decodable { var calendar_url: String }

    /// The last Sunday of a month (when the EU changes its clocks), as YYYY-MM-DD.
    static func lastSunday(month: Int, year: Int) -> String {
        var day = LocalDateText(year: year, month: month, day: month == 3 ? 31 : 31)
        while day.isoWeekday != 7 { day.day -= 1 }
        return day.text
    }

    @Test func aBerlinSeriesKeepsItsWallClockTimeAcrossBothDSTChanges() async throws {
        let f = try await F.make()
        let year = Calendar(identifier: .gregorian).component(.year, from: Date()) + 1
        let spring = Self.lastSunday(month: 3, year: year)
        let autumn = Self.lastSunday(month: 10, year: year)
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach, classes: [f.classA])
            let response = try await client.json(
                .post, "/api/v1/lesson-series",
                body: #"{"course_id":"\#(maths)","title":"Night owls","weekdays":[7],"start_time":"02:30","duration_minutes":60,"first_date":"\#(year)-03-01","last_date":"\#(year)-11-30","timezone":"Europe/Berlin"}"#,
                token: teach)
            #expect(response.status == .created)
            let starts = try response.decode(SeriesBody.self).lessons.map { F.RFC3339String($0.starts_at) }
            #expect(starts.first == "\(year)-03-0\(starts.first!.dropFirst(9).prefix(1))T01:30:00Z", "winter: 02:30 CET is 01:30 UTC")
            // 02:30 does not exist on the spring-forward day: it moves forward by the gap to 03:30 CEST.
            #expect(starts.contains("\(spring)T01:30:00Z"))
            // 02:30 happens twice on the fall-back day: the first, CEST, is taken.
            #expect(starts.contains("\(autumn)T00:30:00Z"))
            #expect(starts.contains { $0.hasPrefix("\(year)-07-") && $0.hasSuffix("T00:30:00Z") }, "summer: 02:30 CEST is 00:30 UTC")
            #expect(starts.last!.hasSuffix("T01:30:00Z"), "winter again after the autumn change")
            let bad = try await client.json(
                .post, "/api/v1/lesson-series",
                body: #"{"course_id":"\#(maths)","title":"x","weekdays":[0,8],"start_time":"25:00","duration_minutes":400,"first_date":"\#(year)-02-30","last_date":"\#(year + 3)-01-01","timezone":"Mars/Olympus"}"#,
                token: teach)
            #expect(try bad.problem().errors?.map(\.field) == ["weekdays", "start_time", "duration_minutes", "first_date", "timezone"])
        }
    }

    @Test func eachRoleSeesItsOwnTimetableAndCalendarAppsCanReadTheFeed() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let other = try await client.token("other")
            let maths = try await client.course(teach, title: "Maths", classes: [f.classA])
            let art = try await client.course(other, title: "Art", classes: [f.classB])
            let chess = try await client.course(other, title: "Chess")
            _ = try await client.json(.post, "/api/v1/courses/\(chess)/enrollments", body: #"{"student_ids":["\#(f.pupil)"]}"#, token: other)
            let kept = try await client.book(teach, course: maths, F.at(8), F.at(8, 45)).decode(LessonBody.self)
            let dropped = try await client.book(teach, course: maths, F.at(10), F.at(10, 45)).decode(LessonBody.self)
            _ = try await client.json(.post, "/api/v1/lessons/\(dropped.id)/cancel", token: teach)
            _ = try await client.book(other, course: art, F.at(8), F.at(8, 45))
            let chessLesson = try await client.book(other, course: chess, F.at(day: 1, 15), F.at(day: 1, 16)).decode(LessonBody.self)

            let pupilToken = try await client.token("pupil")
            let window = "from=\(F.at(0))&to=\(F.at(day: 2, 0))".replacingOccurrences(of: "+", with: "%2B")
            let pupil = try await client.json(.get, "/api/v1/timetable?\(window)", token: pupilToken).decode(Page.self)
            #expect(pupil.items.map(\.course_title) == ["Maths", "Maths", "Chess"])
            #expect(pupil.items.map(\.state) == ["scheduled", "cancelled", "scheduled"])
            let teacher = try await client.json(.get, "/api/v1/timetable?\(window)", token: other).decode(Page.self)
            #expect(Set(teacher.items.map(\.course_title)) == ["Art", "Chess"])
            let admin = try await client.token("root")
            let byClass = try await client.json(.get, "/api/v1/timetable?\(window)&class_id=\(f.classB)", token: admin).decode(Page.self)
            #expect(byClass.items.map(\.course_title) == ["Art"])
            let paged = try await client.json(.get, "/api/v1/timetable?\(window)&limit=2", token: admin).decode(Page.self)
            let rest = try await client.json(.get, "/api/v1/timetable?\(window)&limit=2&cursor=\(try #require(paged.next_cursor))", token: admin).decode(Page.self)
            #expect(Set((paged.items + rest.items).map(\.id)).count == 4 && rest.next_cursor == nil)
            #expect(try await client.json(.get, "/api/v1/timetable?class_id=\(f.classB)", token: pupilToken).status == .unprocessableContent)
            #expect(try await client.json(.get, "/api/v1/lessons/\(kept.id)", token: other).status == .notFound)

            let url = try await client.json(.get, "/api/v1/me", token: pupilToken).decode(Me.self).calendar_url
            #expect(url.hasPrefix("http://127.0.0.1:8080/api/v1/calendar/") && url.hasSuffix(".ics"))
            #expect(try await client.json(.get, "/api/v1/me", token: pupilToken).decode(Me.self).calendar_url == url, "the URL stays the same")
            let path = String(url.dropFirst("http://127.0.0.1:8080".count))
            let feed = try await client.execute(uri: path, method: .get)
            #expect(feed.status == .ok && feed.headers[.contentType] == "text/calendar; charset=utf-8")
            #expect(try await client.execute(uri: "/api/v1/calendar/not-a-feed.ics", method: .get).status == .notFound)

            let parsed = try ICalendarCheck.parse(String(buffer: feed.body))
            #expect(parsed.events.map(\.uid) == [kept.id, dropped.id, chessLesson.id].map { "\($0.lowercased)@cloudclass" })
            #expect(parsed.events.map(\.status) == ["CONFIRMED", "CANCELLED", "CONFIRMED"])
            #expect(parsed.events[0].start == F.at(8) && parsed.events[0].end == F.at(8, 45))
            #expect(parsed.events.allSatisfy { $0.tzid == "Asia/Shanghai" } && parsed.zones == ["Asia/Shanghai"])
        }
    }

    @Test func otherServicesAskAboutLessonsViewersAndAudiences() async throws {
        let f = try await F.make()
        let outsider = try await f.app.addUser("outsider", role: .student, school: f.school, class: f.classB)
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach, classes: [f.classA])
            let lesson = try await client.book(teach, course: maths, F.at(9), F.at(10)).decode(LessonBody.self)
            let service = "Bearer \(TestApp.serviceToken)"
            func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
                let response = try await client.execute(uri: path, method: .get, headers: [.authorization: service])
                let decoder = JSONDecoder()
                decoder.dateDecodingStrategy = .iso8601
                return try decoder.decode(T.self, from: Data(buffer: response.body))
            }
            let info = try await get(InternalRoutes.lesson(lesson.id), as: LessonInfo.self)
            #expect(info.teacherID == f.teacher && info.state == "scheduled" && info.startsAt == lesson.starts_at)
            let pupil = try await get(InternalRoutes.viewing(lesson: lesson.id, student: f.pupil), as: ViewingPermission.self)
            #expect(pupil.allowed && pupil.classID == f.classA && pupil.region == "420000")
            let stranger = try await get(InternalRoutes.viewing(lesson: lesson.id, student: outsider), as: ViewingPermission.self)
            #expect(!stranger.allowed && stranger.reason == "not_enrolled")
            let audience = try await get(InternalRoutes.audience(from: Date(), to: Date().addingTimeInterval(5 * 86_400)), as: ExpectedAudience.self)
            #expect(audience.lessons.map(\.lessonID) == [lesson.id])
            #expect(audience.lessons.first?.regions == [.init(region: "420000", students: 1)])
            _ = try await client.json(.post, "/api/v1/lessons/\(lesson.id)/cancel", token: teach)
            let cancelled = try await get(InternalRoutes.viewing(lesson: lesson.id, student: f.pupil), as: ViewingPermission.self)
            #expect(!cancelled.allowed && cancelled.reason == "cancelled")
            #expect(try await client.json(.get, InternalRoutes.lesson(lesson.id), token: teach).status == .unauthorized)
        }
    }
}

struct LocalDateText {
    var year: Int
    var month: Int
    var day: Int
    var text: String { String(format: "%04d-%02d-%02d", year, month, day) }
    var isoWeekday: Int { LocalWeekday.of("\(text)T00:00:00Z") }
}

/// Runs Deploy/scripts/check-ics.py (Python's `icalendar` from PyPI) over a feed.
enum ICalendarCheck {
    struct Event: Decodable { var uid: String; var start: String; var end: String; var status: String; var summary: String; var tzid: String? }
    struct Result: Decodable { var zones: [String]; var events: [Event] }

    static func parse(_ feed: String) throws -> Result {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("feed-\(UUID()).ics")
        try feed.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Deploy/scripts/check-ics.py").standardized
        let output: String
        do {
            output = try Shell.run(["/usr/bin/env", "python3", script.path, file.path])
        } catch {
            throw TestFailure("check-ics.py failed (is icalendar installed? pip install icalendar): \(error)")
        }
        let data = Data(output.utf8)
        return try JSONDecoder().decode(Result.self, from: data)
    }
}
