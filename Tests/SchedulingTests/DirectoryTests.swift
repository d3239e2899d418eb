import Foundation
import Hummingbird
import HummingbirdTesting
import ServiceKit
import TestSupport
import Testing

@Suite struct DirectoryTests {
    struct Page<Item: Decodable>: Decodable {
        var items: [Item]
        var next_cursor: String?
    }
    struct Region: Decodable { var code: String; var name: String }
    struct School: Decodable { var id: UUID; var name: String; var code: String; var region: String }

    @Test func everySignedInUserSeesThe31Regions() async throws {
        let app = try await TestApp.make()
        try await app.addUser("pupil")
        try await app.test { client async throws in
            let token = try await client.token("pupil")
            let page = try await client.json(.get, "/api/v1/regions", token: token).decode(Page<Region>.self)
            #expect(page.items.count == 31)
            #expect(page.items.contains { $0.code == "420000" && $0.name == "Hubei" })
            #expect(try await client.json(.get, "/api/v1/regions").status == .unauthorized)
        }
    }

    @Test func adminsCreateListAndReadSchools() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        try await app.test { client async throws in
            let token = try await client.token("root")
            let created = try await client.json(
                .post, "/api/v1/schools", body: #"{"name":"Wuhan No. 2 Middle School","code":"WH-No2","region":"420000"}"#, token: token)
            #expect(created.status == .created)
            let school = try created.decode(School.self)
            #expect(school.code == "wh-no2")
            #expect(created.headers[.location] == "/api/v1/schools/\(school.id.uuidString.lowercased())")

            let read = try await client.json(.get, "/api/v1/schools/\(school.id)", token: token).decode(School.self)
            #expect(read.name == "Wuhan No. 2 Middle School")

            for code in ["a-school", "b-school", "c-school"] {
                try await client.json(.post, "/api/v1/schools", body: #"{"name":"\#(code)","code":"\#(code)","region":"110000"}"#, token: token)
            }
            let first = try await client.json(.get, "/api/v1/schools?limit=2", token: token).decode(Page<School>.self)
            #expect(first.items.map(\.code) == ["a-school", "b-school"])
            let cursor = try #require(first.next_cursor)
            let second = try await client.json(.get, "/api/v1/schools?limit=2&cursor=\(cursor)", token: token).decode(Page<School>.self)
            #expect(second.items.map(\.code) == ["c-school", "wh-no2"])
            #expect(second.next_cursor == nil)
            let hubei = try await client.json(.get, "/api/v1/schools?region=420000", token: token).decode(Page<School>.self)
            #expect(hubei.items.map(\.code) == ["wh-no2"])
        }
    }

    @Test func schoolCodesAreUniqueNationally() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        try await app.test { client async throws in
            let token = try await client.token("root")
            let body = #"{"name":"First","code":"same-code","region":"420000"}"#
            #expect(try await client.json(.post, "/api/v1/schools", body: body, token: token).status == .created)
            let again = try await client.json(.post, "/api/v1/schools", body: body, token: token)
            #expect(again.status == .conflict)
            #expect(try again.problem().errors == [.init(field: "code", message: "is taken")])
        }
        #expect(try await app.scalar("SELECT count(*) FROM scheduling.schools", as: Int.self) == 1)
    }

    @Test func teachersAndStudentsCannotTouchSchools() async throws {
        let app = try await TestApp.make()
        try await app.addUser("teach", role: .teacher)
        try await app.test { client async throws in
            let token = try await client.token("teach")
            let response = try await client.json(.post, "/api/v1/schools", body: #"{"name":"X","code":"xx","region":"420000"}"#, token: token)
            #expect(response.status == .forbidden)
        }
        #expect(try await app.scalar("SELECT count(*) FROM scheduling.schools", as: Int.self) == 0)
    }
}
