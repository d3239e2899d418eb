import Foundation
import Hummingbird
import HummingbirdTesting
import ServiceKit
import TestSupport
import Testing

@testable import Scheduling

/// Text from the wire is bounded in scalars (as PostgreSQL counts), refuses control characters,
/// and nothing the database would refuse reaches it as a 500.
@Suite struct TextInputTests {
    typealias F = TimetableFixture

    static func jsonString(_ value: String) -> String {
        String(data: try! JSONEncoder().encode(value), encoding: .utf8)!
    }

    /// A username or school code with a trailing line feed passed a regular expression (`$`
    /// matches before a final newline) and reached the database's CHECK as a 500.
    @Test func identifiersWithALineFeedAreRefusedNamingTheField() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("school-1")
        try await app.test { client async throws in
            let token = try await client.token("root")
            let user = try await client.json(
                .post, "/api/v1/users", body: #"{"username":"alice\n","display_name":"Alice","role":"teacher","school_id":"\#(school)"}"#, token: token)
            #expect(user.status == .unprocessableContent)
            #expect(try user.problem().errors?.map(\.field) == ["username"])
            let schoolCode = try await client.json(.post, "/api/v1/schools", body: #"{"name":"X","code":"abc\n","region":"420000"}"#, token: token)
            #expect(schoolCode.status == .unprocessableContent)
            #expect(try schoolCode.problem().errors?.map(\.field) == ["code"])
            let region = try await client.json(.post, "/api/v1/schools", body: #"{"name":"X","code":"abc","region":"420000\n"}"#, token: token)
            #expect(try region.problem().errors?.map(\.field) == ["region"])
            let emptyRegion = try await client.json(.get, "/api/v1/schools?region=", token: token)
            #expect(emptyRegion.status == .unprocessableContent)
            #expect(try emptyRegion.problem().errors?.map(\.field) == ["region"])
            let nulCursor = try await client.json(.get, "/api/v1/schools?cursor=a%00b", token: token)
            #expect(try nulCursor.problem().errors?.map(\.field) == ["cursor"])
        }
        #expect(try await app.scalar("SELECT count(*) FROM scheduling.users WHERE username LIKE 'alice%'", as: Int.self) == 0)
    }

    @Test(arguments: [
        ("Maths\u{0}", "must not contain NUL characters"),
        ("Maths\nTuesday", "must not contain control characters (U+000A)"),
        ("Maths\u{1B}[31m", "must not contain control characters (U+001B)"),
        // 200 characters as a person sees them, 400 as PostgreSQL counts them.
        (String(repeating: "e\u{301}", count: 200), "must be 1 to 200 characters"),
        ("   ", "must be 1 to 200 characters"),
    ])
    func titlesAreOneLineOfAtMost200Scalars(title: String, message: String) async throws {
        let fixture = try await F.make()
        try await fixture.app.test { client async throws in
            let teach = try await client.token("teach")
            let response = try await client.json(
                .post, "/api/v1/courses", body: #"{"title":\#(Self.jsonString(title)),"subject":"maths","grade":7}"#, token: teach)
            #expect(response.status == .unprocessableContent)
            let problem = try response.problem()
            #expect(problem.errors?.map(\.field) == ["title"])
            #expect(problem.errors?.first?.message == message)
        }
        #expect(try await fixture.app.scalar("SELECT count(*) FROM scheduling.courses", as: Int.self) == 0)
    }

    @Test func aTitleOf200ChineseCharactersFits() async throws {
        let fixture = try await F.make()
        try await fixture.app.test { client async throws in
            let teach = try await client.token("teach")
            let title = String(repeating: "数", count: 200)
            let response = try await client.json(.post, "/api/v1/courses", body: #"{"title":"\#(title)","subject":"数学","grade":7}"#, token: teach)
            #expect(response.status == .created)
        }
    }

    /// PostgreSQL has no year 0: such a date reached it and answered 500.
    @Test(arguments: [#"["0000-01-01"]"#, #"["+999-01-01"]"#, #"["10000-01-01"]"#])
    func exceptDatesOutsideYearsOneTo9999AreRefused(exceptDates: String) async throws {
        let fixture = try await F.make()
        try await fixture.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach)
            let weekday = LocalWeekday.of(F.at(day: 1, 0))
            let series = try await client.json(
                .post, "/api/v1/lesson-series",
                body: #"{"course_id":"\#(maths)","title":"Daily","weekdays":[\#(weekday)],"start_time":"10:00","duration_minutes":45,"first_date":"\#(F.at(day: 1, 0).prefix(10))","last_date":"\#(F.at(day: 22, 0).prefix(10))","timezone":"UTC","except_dates":\#(exceptDates)}"#,
                token: teach)
            #expect(series.status == .unprocessableContent)
            #expect(try series.problem().errors?.map(\.field) == ["except_dates"])
        }
        #expect(try await fixture.app.scalar("SELECT count(*) FROM scheduling.lessons", as: Int.self) == 0)
    }

    /// A megabyte of combining marks is one grapheme: it passed a 64-"character" check, became
    /// a throttle key and was logged whole.
    @Test func aHugeUsernameIsRefusedBeforeItIsUsed() async throws {
        let app = try await TestApp.make()
        try await app.test { client async throws in
            let huge = "a" + String(repeating: "\u{301}", count: 300_000)
            let response = try await client.json(.post, "/api/v1/auth/login", body: #"{"username":"\#(huge)","password":"whatever"}"#)
            #expect(response.status == .unprocessableContent)
            #expect(try response.problem().errors?.map(\.field) == ["username"])
        }
        #expect(app.service.throttle.perUsername.trackedUsernames == 0)
    }

    @Test func aPasswordWithANulIsRefusedBecauseBcryptWouldStopThere() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        try await app.test { client async throws in
            let token = try await client.token("root")
            let response = try await client.json(
                .post, "/api/v1/users", body: #"{"username":"tina","display_name":"Tina","role":"teacher","password":"abcdefgh\u0000ijk"}"#, token: token)
            #expect(try response.problem().errors?.map(\.field) == ["password"])
        }
    }

    /// Titles stored before control characters were refused may still hold a bare CR: the feed
    /// escapes it, so it cannot end a content line and forge a property.
    @Test func theCalendarFeedEscapesABareCarriageReturn() {
        #expect(CalendarFeed.escape("Maths\rDTSTART:19700101") == "Maths\\nDTSTART:19700101")
        #expect(CalendarFeed.escape("a\r\nb\nc") == "a\\nb\\nc")
    }
}
