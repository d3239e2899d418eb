import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Requests that break docs/openapi.yaml and were accepted, as schemathesis found them: each is
/// refused now, saying which member or parameter is wrong, and changes nothing.
@Suite struct FuzzFindingsTests {
    typealias F = TimetableFixture

    @Test func aNullMemberIsRefusedNotTakenAsLeftOut() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let course = try await client.json(.post, "/api/v1/courses", body: #"{"title":"t","subject":"s","grade":7,"teacher_id":null}"#, token: teach)
            #expect(course.status == .badRequest)
            #expect(try course.problem().errors?.map(\.field) == ["teacher_id"])
            let maths = try await client.course(teach)
            let lesson = try await client.book(teach, course: maths, F.at(9), F.at(10)).decode(LessonBody.self)
            let patch = try await client.json(.patch, "/api/v1/lessons/\(lesson.id)", body: #"{"title":null}"#, token: teach)
            #expect(try patch.problem().errors?.map(\.field) == ["title"])
            let root = try await client.token("root")
            let user = try await client.json(
                .post, "/api/v1/users", body: #"{"username":"n1","display_name":"N","role":"teacher","password":"long enough","class_id":null}"#, token: root)
            #expect(try user.problem().errors?.map(\.field) == ["class_id"])
            // "null" inside a string is text, not a null.
            let named = try await client.json(.post, "/api/v1/courses", body: #"{"title":"null and void","subject":"s","grade":7}"#, token: teach)
            #expect(named.status == .created)
        }
        #expect(try await f.app.scalar("SELECT count(*) FROM scheduling.users WHERE username = 'n1'", as: Int.self) == 0)
    }

    @Test func aFlagIsTrueOrFalseAndNothingElse() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach)
            let lesson = try await client.book(teach, course: maths, F.at(9), F.at(10)).decode(LessonBody.self)
            for value in ["yes", "TRUE", ""] {
                let cancel = try await client.json(.post, "/api/v1/lessons/\(lesson.id)/cancel?rest_of_series=\(value)", token: teach)
                #expect(cancel.status == .unprocessableContent, "\(value)")
                #expect(try cancel.problem().errors?.map(\.field) == ["rest_of_series"])
            }
            let moved = try await client.json(.patch, "/api/v1/lessons/\(lesson.id)?rest_of_series=yes", body: #"{"title":"x"}"#, token: teach)
            #expect(moved.status == .unprocessableContent)
            #expect(try await client.json(.get, "/api/v1/lessons/\(lesson.id)", token: teach).decode(LessonBody.self).state == "scheduled")
            #expect(try await client.json(.post, "/api/v1/lessons/\(lesson.id)/cancel?rest_of_series=false", token: teach).status == .ok)
        }
    }

    @Test func queryParametersAreCheckedForEveryRole() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let root = try await client.token("root")
            let courses = try await client.json(.get, "/api/v1/courses?teacher_id=", token: teach)
            #expect(try courses.problem().errors?.map(\.field) == ["teacher_id"])
            for region in ["", "abc", "4200000"] {
                let timetable = try await client.json(.get, "/api/v1/timetable?region=\(region)", token: root)
                #expect(timetable.status == .unprocessableContent, "\(region)")
                let classes = try await client.json(.get, "/api/v1/classes?region=\(region)", token: root)
                #expect(classes.status == .unprocessableContent, "\(region)")
            }
        }
    }
}

extension FuzzFindingsTests {
    /// A typo such as `start_at` was ignored and the PATCH answered 200, changing nothing.
    @Test func anUnknownMemberIsRefusedNamingIt() async throws {
        let f = try await F.make()
        try await f.app.test { client async throws in
            let teach = try await client.token("teach")
            let maths = try await client.course(teach)
            let lesson = try await client.book(teach, course: maths, F.at(9), F.at(10)).decode(LessonBody.self)
            let typo = try await client.json(.patch, "/api/v1/lessons/\(lesson.id)", body: #"{"start_at":"\#(F.at(11))"}"#, token: teach)
            #expect(typo.status == .badRequest)
            #expect(try typo.problem().errors?.map(\.field) == ["start_at"])
            let extra = try await client.json(.post, "/api/v1/auth/login", body: #"{"username":"teach","password":"x","remember":true}"#)
            #expect(try extra.problem().errors?.map(\.field) == ["remember"])
        }
    }
}
