import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TestSupport
import Testing

@Suite struct ClassesAndDeactivationTests {
    struct Page<Item: Decodable>: Decodable {
        var items: [Item]
        var next_cursor: String?
    }
    struct SchoolClass: Decodable { var id: UUID; var school_id: UUID; var name: String; var grade: Int }
    struct School: Decodable { var id: UUID }

    func school(_ client: any TestClientProtocol, _ token: String, code: String, region: String) async throws -> UUID {
        try await client.json(.post, "/api/v1/schools", body: #"{"name":"\#(code)","code":"\#(code)","region":"\#(region)"}"#, token: token)
            .decode(School.self).id
    }

    /// Administrators list every class by region and school; a teacher lists only the classes
    /// they may enrol, their own school's (they used to see every class in the country).
    @Test func adminsCreateClassesAndTeachersListThoseOfTheirSchool() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        try await app.addUser("pupil", role: .student)
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let wuhan = try await school(client, admin, code: "wuhan-1", region: "420000")
            let beijing = try await school(client, admin, code: "beijing-1", region: "110000")
            for (schoolID, name, grade) in [(wuhan, "Class 7-1", 7), (wuhan, "Class 7-2", 7), (beijing, "Class 9-1", 9)] {
                let created = try await client.json(
                    .post, "/api/v1/classes", body: #"{"school_id":"\#(schoolID)","name":"\#(name)","grade":\#(grade)}"#, token: admin)
                #expect(created.status == .created)
            }
            let hubei = try await client.json(.get, "/api/v1/classes?region=420000", token: admin).decode(Page<SchoolClass>.self)
            #expect(Set(hubei.items.map(\.name)) == ["Class 7-1", "Class 7-2"])
            let bySchool = try await client.json(.get, "/api/v1/classes?school_id=\(beijing)", token: admin).decode(Page<SchoolClass>.self)
            #expect(bySchool.items.map(\.name) == ["Class 9-1"] && bySchool.items[0].grade == 9)
            let first = try await client.json(.get, "/api/v1/classes?limit=2", token: admin).decode(Page<SchoolClass>.self)
            let rest = try await client.json(.get, "/api/v1/classes?limit=2&cursor=\(try #require(first.next_cursor))", token: admin)
                .decode(Page<SchoolClass>.self)
            #expect(Set((first.items + rest.items).map(\.id)).count == 3 && rest.next_cursor == nil)
            #expect(try await client.json(.get, "/api/v1/classes?region=", token: admin).status == .unprocessableContent)

            try await app.addUser("teach", role: .teacher, school: wuhan)
            try await app.addUser("nomad", role: .teacher)
            let teacher = try await client.token("teach")
            let own = try await client.json(.get, "/api/v1/classes", token: teacher).decode(Page<SchoolClass>.self)
            #expect(Set(own.items.map(\.name)) == ["Class 7-1", "Class 7-2"])
            let elsewhere = try await client.json(.get, "/api/v1/classes?school_id=\(beijing)", token: teacher).decode(Page<SchoolClass>.self)
            #expect(elsewhere.items.isEmpty)
            #expect(try await client.json(.get, "/api/v1/classes", token: client.token("nomad")).decode(Page<SchoolClass>.self).items.isEmpty)

            let pupil = try await client.token("pupil")
            #expect(try await client.json(.get, "/api/v1/classes", token: pupil).status == .forbidden)
            #expect(try await client.json(.post, "/api/v1/classes", body: #"{"school_id":"\#(wuhan)","name":"X","grade":1}"#, token: teacher).status == .forbidden)
        }
    }

    @Test func badClassesAreProblemsAndNothingIsWritten() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let wuhan = try await school(client, admin, code: "wuhan-1", region: "420000")
            let invalid = try await client.json(.post, "/api/v1/classes", body: #"{"school_id":"\#(wuhan)","name":"","grade":13}"#, token: admin)
            #expect(try invalid.problem().errors?.map(\.field) == ["name", "grade"])
            let noSchool = try await client.json(.post, "/api/v1/classes", body: #"{"school_id":"\#(UUID())","name":"A","grade":1}"#, token: admin)
            #expect(noSchool.status == .unprocessableContent)
            #expect(try noSchool.problem().errors?.map(\.field) == ["school_id"])
            let badID = try await client.json(.post, "/api/v1/classes", body: #"{"school_id":"nope","name":"A","grade":1}"#, token: admin)
            #expect(badID.status == .badRequest)
            let body = #"{"school_id":"\#(wuhan)","name":"Class 1","grade":1}"#
            #expect(try await client.json(.post, "/api/v1/classes", body: body, token: admin).status == .created)
            #expect(try await client.json(.post, "/api/v1/classes", body: body, token: admin).status == .conflict)
        }
        #expect(try await app.scalar("SELECT count(*) FROM scheduling.classes", as: Int.self) == 1)
    }

    @Test func aDeactivatedUserCannotSignInOrRefreshAndTheirRecordsStay() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let pupilID = try await app.addUser("leaver")
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let pair = try await client.login("leaver").decode(TokenPairBody.self)
            let deactivated = try await client.json(.post, "/api/v1/users/\(pupilID)/deactivate", token: admin)
            #expect(deactivated.status == .ok)
            struct State: Decodable { var active: Bool; var username: String }
            #expect(try deactivated.decode(State.self).active == false)
            #expect(try await client.login("leaver").status == .unauthorized)
            #expect(try await client.json(.post, "/api/v1/auth/refresh", body: #"{"refresh_token":"\#(pair.refresh_token)"}"#).status == .unauthorized)
            // Unknown users, non-admins and oneself are refused.
            #expect(try await client.json(.post, "/api/v1/users/\(UUID())/deactivate", token: admin).status == .notFound)
            // Their token is refused within seconds (DeactivationTests); a non-admin is refused either way.
            let byPupil = try await client.json(.post, "/api/v1/users/\(pupilID)/deactivate", token: pair.token).status
            #expect(byPupil == .forbidden || byPupil == .unauthorized)
            let me = try await client.json(.get, "/api/v1/me", token: admin).decode(TokenPairBody.User.self)
            #expect(try await client.json(.post, "/api/v1/users/\(me.id)/deactivate", token: admin).status == .conflict)
        }
        #expect(try await app.scalar("SELECT count(*) FROM scheduling.users WHERE username = 'leaver'", as: Int.self) == 1)
    }
}
