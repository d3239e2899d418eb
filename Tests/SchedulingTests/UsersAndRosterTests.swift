import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@Suite struct UsersAndRosterTests {
    struct CreatedUser: Decodable {
        var id: UUID
        var username: String
        var school_id: UUID?
        var class_id: UUID?
        var activation_code: String?
    }
    struct Issued: Decodable { var username: String; var display_name: String; var class_name: String?; var activation_code: String }
    struct Outcome: Decodable { var items: [Issued]; var created: Int; var updated: Int; var unchanged: Int; var not_in_file: Int }
    struct Me: Decodable { var username: String; var class_id: UUID?; var school_id: UUID? }

    static let codeAlphabet = Set("ACDEFGHJKMNPQRTUVWXY34679")

    func activate(_ client: any TestClientProtocol, _ username: String, _ code: String, _ password: String = "a new password") async throws -> TestResponse {
        try await client.json(
            .post, "/api/v1/auth/activate",
            body: #"{"username":"\#(username)","activation_code":"\#(code)","new_password":"\#(password)"}"#
        )
    }

    func roster(_ client: any TestClientProtocol, school: UUID, _ csv: String, token: String, accept: String? = nil, key: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "text/csv", .authorization: "Bearer \(token)"]
        if let accept { headers[.accept] = accept }
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await client.execute(uri: "/api/v1/schools/\(school)/roster", method: .post, headers: headers, body: ByteBuffer(string: csv))
    }

    @Test func anAdminCreatesAPupilWhoActivatesWithTheCodeOnce() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("wuhan-7")
        let classID = try await app.addClass("7-1", school: school)
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let response = try await client.json(
                .post, "/api/v1/users", body: #"{"username":"Li.Lei","display_name":"Li Lei","role":"student","class_id":"\#(classID)"}"#, token: admin)
            #expect(response.status == .created)
            let created = try response.decode(CreatedUser.self)
            #expect(created.username == "li.lei" && created.school_id == school && created.class_id == classID)
            let code = try #require(created.activation_code)
            #expect(code.count == 10 && Set(code).isSubset(of: Self.codeAlphabet))
            // No password yet: sign-in is refused until activation.
            #expect(try await client.login("li.lei", "a new password").status == .unauthorized)

            let wrong = try await activate(client, "li.lei", "AAAAAAAAAA")
            #expect(try wrong.status == .unauthorized && (wrong.problem().detail.contains("do not match a pending activation")))
            // Typed in lower case with a dash, as a child might.
            let typed = code.lowercased().prefix(5) + "-" + code.lowercased().suffix(5)
            let activated = try await activate(client, "li.lei", String(typed))
            #expect(activated.status == .ok)
            let pair = try activated.decode(TokenPairBody.self)
            let me = try await client.json(.get, "/api/v1/me", token: pair.token).decode(Me.self)
            #expect(me.username == "li.lei" && me.class_id == classID && me.school_id == school)
            #expect(try await activate(client, "li.lei", code).status == .unauthorized)
            #expect(try await client.login("li.lei", "a new password").status == .ok)

            let duplicate = try await client.json(.post, "/api/v1/users", body: #"{"username":"li.lei","display_name":"Other","role":"teacher","password":"long enough"}"#, token: admin)
            #expect(try duplicate.status == .conflict && (duplicate.problem().errors?.map(\.field)) == ["username"])
            let teacher = try await client.json(.post, "/api/v1/users", body: #"{"username":"wang","display_name":"Wang","role":"teacher","password":"long enough"}"#, token: admin)
            #expect(try teacher.status == .created && (teacher.decode(CreatedUser.self).activation_code) == nil)
            #expect(try await client.login("wang", "long enough").status == .ok)
            let bad = try await client.json(.post, "/api/v1/users", body: #"{"username":"x","display_name":"","role":"student","password":"short"}"#, token: admin)
            #expect(try bad.problem().errors?.map(\.field) == ["username", "display_name", "password", "school_id"])
            let wang = try await client.token("wang", "long enough")
            #expect(try await client.json(.post, "/api/v1/users", body: #"{"username":"y1","display_name":"Y","role":"admin","password":"long enough"}"#, token: wang).status == .forbidden)
        }
    }

    @Test func fiveWrongTriesLockTheCodeUntilTheSchoolIssuesANewOne() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("wuhan-8")
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let created = try await client.json(
                .post, "/api/v1/users", body: #"{"username":"han","display_name":"Han Mei","role":"student","school_id":"\#(school)"}"#, token: admin
            ).decode(CreatedUser.self)
            let code = try #require(created.activation_code)
            for _ in 0..<5 { #expect(try await activate(client, "han", "CCCCCCCCCC").status == .unauthorized) }
            let locked = try await activate(client, "han", code)
            #expect(try locked.status == .unauthorized && (locked.problem().detail.contains("lock after 5 wrong tries")))

            let reissued = try await client.json(.post, "/api/v1/users/\(created.id)/activation-code", token: admin)
            #expect(try await client.json(.post, "/api/v1/users/\(UUID())/activation-code", token: admin).status == .notFound)
            struct Reissued: Decodable { var activation_code: String }
            let fresh = try reissued.decode(Reissued.self).activation_code
            #expect(try await activate(client, "han", code).status == .unauthorized)
            #expect(try await activate(client, "han", fresh).status == .ok)
        }
    }

    @Test func aCodeOlderThanThirtyDaysNoLongerActivates() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("wuhan-9")
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let created = try await client.json(
                .post, "/api/v1/users", body: #"{"username":"late","display_name":"Late Pupil","role":"student","school_id":"\#(school)"}"#, token: admin
            ).decode(CreatedUser.self)
            let code = try #require(created.activation_code)
            let days = try await app.scalar(
                "SELECT round(extract(epoch FROM expires_at - created_at) / 86400)::int8 FROM scheduling.activation_codes WHERE user_id = \(created.id)",
                as: Int64.self)
            #expect(days == 30)
            try await app.execute("UPDATE scheduling.activation_codes SET expires_at = now() - interval '1 second' WHERE user_id = \(created.id)")
            let expired = try await activate(client, "late", code)
            #expect(try expired.status == .unauthorized && expired.problem().detail.contains("Codes last 30 days"))
            #expect(try await client.login("late", "a new password").status == .unauthorized)
        }
    }

    /// Activation answers named the case (no code pending, wrong, locked, expired): a stranger
    /// could list which usernames have a code waiting. Now every refusal reads the same.
    @Test func activationRefusalsDoNotTellWhichUsernamesHaveACodePending() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        try await app.addUser("active.one")
        let school = try await app.addSchool("wuhan-10")
        try await app.test { client async throws in
            let admin = try await client.token("root")
            _ = try await client.json(
                .post, "/api/v1/users", body: #"{"username":"pending.one","display_name":"P","role":"student","school_id":"\#(school)"}"#, token: admin)
            var details: Set<String> = []
            for username in ["pending.one", "active.one", "no.such.one"] {
                let response = try await activate(client, username, "CCCCCCCCCC")
                #expect(response.status == .unauthorized)
                details.insert(try response.problem().detail)
            }
            #expect(details.count == 1, "\(details)")
        }
    }

    @Test func aRosterImportsAllRowsAndReimportingNextTermUpdatesByUsername() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("hs-3")
        let class71 = try await app.addClass("7-1", school: school)
        let class81 = try await app.addClass("8-1", school: school, grade: 8)
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let first = """
                username,display_name,role,class_name\r
                ,Zhang Wei,student,7-1\r
                li.na,"Li, Na",student,7-1\r
                ,Zhao Min,student,7-1\r
                wang.t,Wang Tao,teacher,\r

                """
            let response = try await roster(client, school: school, first, token: admin)
            #expect(response.status == .ok)
            let outcome = try response.decode(Outcome.self)
            #expect(outcome.created == 4 && outcome.updated == 0)
            #expect(outcome.items.map(\.username) == ["hs-3-00001", "li.na", "hs-3-00002", "wang.t"])
            #expect(outcome.items[1].display_name == "Li, Na" && outcome.items[3].class_name == nil)
            #expect(outcome.items.allSatisfy { Set($0.activation_code).isSubset(of: Self.codeAlphabet) })
            let code = outcome.items[1].activation_code
            #expect(try await activate(client, "li.na", code).status == .ok)

            // Next term: Li Na moves up a year, Zhao Min is not in the file, a new pupil arrives.
            let next = """
                display_name,username,class_name,role
                Zhang Wei,hs-3-00001,7-1,student
                "Li, Na",li.na,8-1,student
                New Pupil,,8-1,student
                Wang Tao,wang.t,,teacher
                """
            let csv = try await roster(client, school: school, next, token: admin, accept: "text/csv")
            #expect(csv.status == .ok && csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.body.getBytes(at: 0, length: 3) == [0xEF, 0xBB, 0xBF], "a byte-order mark, for Excel")
            let lines = String(buffer: csv.body).dropFirst().components(separatedBy: "\r\n")
            #expect(lines[0] == "username,display_name,class_name,activation_code")
            #expect(lines.count == 3 && lines[1].hasPrefix("hs-3-00003,New Pupil,8-1,") && lines[2].isEmpty)
            let me = try await client.json(.get, "/api/v1/me", token: client.token("li.na", "a new password")).decode(Me.self)
            #expect(me.class_id == class81)
            let zhao = try await app.scalar("SELECT active AND class_id = \(class71) FROM scheduling.users WHERE username = 'hs-3-00002'", as: Bool.self)
            #expect(zhao, "a pupil missing from the file stays as they were")

            let again = try await roster(client, school: school, next.replacingOccurrences(of: "New Pupil,,", with: "New Pupil,hs-3-00003,"), token: admin)
            let repeated = try again.decode(Outcome.self)
            #expect(repeated.created == 0 && repeated.updated == 0 && repeated.unchanged == 4 && repeated.not_in_file == 1)
        }
    }

    /// The codes CSV is opened in a spreadsheet: a display name is data there, never a formula.
    @Test func theCodesFileNeutralisesFormulasAndShowsChineseNames() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("hs-9")
        try await app.addClass("7-1", school: school)
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let file = """
                username,display_name,role,class_name
                ,"=HYPERLINK(""http://evil.example"",""Click"")",student,7-1
                ,@SUM(1+1),student,7-1
                ,李雷,student,7-1

                """
            let csv = try await roster(client, school: school, file, token: admin, accept: "text/csv")
            #expect(csv.status == .ok)
            let lines = String(buffer: csv.body).dropFirst().components(separatedBy: "\r\n")
            #expect(lines[1].hasPrefix(#"hs-9-00001,"'=HYPERLINK(""http://evil.example"",""Click"")",7-1,"#), "\(lines[1])")
            #expect(lines[2].hasPrefix(#"hs-9-00002,"'@SUM(1+1)",7-1,"#), "\(lines[2])")
            #expect(lines[3].hasPrefix("hs-9-00003,李雷,7-1,"))
        }
        // What is stored is what the school typed.
        #expect(try await app.scalar("SELECT display_name FROM scheduling.users WHERE username = 'hs-9-00002'", as: String.self) == "@SUM(1+1)")
    }

    /// A roster re-sent after an unclear outcome (a 503 after the commit) created its
    /// blank-username pupils twice; with the same Idempotency-Key it gets the first answer.
    @Test func aRosterResentWithItsIdempotencyKeyCreatesNobodyTwice() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("hs-11")
        try await app.addClass("7-1", school: school)
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let file = "username,display_name,role,class_name\r\n,Zhang Wei,student,7-1\r\n,Zhao Min,student,7-1\r\n"
            let first = try await roster(client, school: school, file, token: admin, key: "import-2026-09")
            #expect(first.status == .ok)
            let again = try await roster(client, school: school, file, token: admin, key: "import-2026-09")
            #expect(again.status == .ok)
            let firstOutcome = try first.decode(Outcome.self)
            let againOutcome = try again.decode(Outcome.self)
            #expect(againOutcome.created == 2 && againOutcome.items.map(\.activation_code) == firstOutcome.items.map(\.activation_code))
            // The codes file of the repeat is the same answer, as CSV.
            let csv = try await roster(client, school: school, file, token: admin, accept: "text/csv", key: "import-2026-09")
            #expect(String(buffer: csv.body).contains(firstOutcome.items[0].activation_code))
            // Another file under the same key is refused, not imported.
            let other = try await roster(client, school: school, file + ",Li Lei,student,7-1\r\n", token: admin, key: "import-2026-09")
            #expect(other.status == .unprocessableContent)
        }
        #expect(try await app.scalar("SELECT count(*) FROM scheduling.users WHERE school_id = (SELECT id FROM scheduling.schools WHERE code = 'hs-11')", as: Int.self) == 2)
    }

    @Test func aRosterWithBadRowsListsEveryErrorAndWritesNothing() async throws {
        let app = try await TestApp.make()
        try await app.addUser("root", role: .admin)
        let school = try await app.addSchool("hs-4")
        try await app.addClass("7-1", school: school)
        let elsewhere = try await app.addSchool("hs-5")
        try await app.addUser("taken", school: elsewhere)
        try await app.addUser("teach", role: .teacher, school: school)
        try await app.test { client async throws in
            let admin = try await client.token("root")
            let csv = """
                username,display_name,role,class_name
                ok.one,Fine,student,7-1
                ,Nobody Class,student,9-9
                boss,The Boss,admin,
                ok.one,Twice,student,7-1
                taken,Other School,student,7-1
                Bad Name!,,pupil,
                """
            let before = try await app.scalar("SELECT count(*) FROM scheduling.users", as: Int64.self)
            let response = try await roster(client, school: school, csv, token: admin)
            #expect(response.status == .unprocessableContent)
            let problem = try response.problem()
            let listed = (problem.errors ?? []).map { "\($0.row ?? 0):\($0.field)" }
            #expect(listed == ["3:class_name", "4:role", "5:username", "6:username", "7:display_name", "7:role", "7:username"])
            #expect(try await app.scalar("SELECT count(*) FROM scheduling.users", as: Int64.self) == before)

            let noHeader = try await roster(client, school: school, "name,role\nA,student\n", token: admin)
            #expect(try noHeader.problem().errors?.map(\.field) == ["username", "display_name", "class_name"])
            let json = try await client.json(.post, "/api/v1/schools/\(school)/roster", body: "{}", token: admin)
            #expect(json.status == .unsupportedMediaType)
            let teacher = try await roster(client, school: school, "username,display_name,role,class_name\n,A,teacher,\n", token: client.token("teach"))
            #expect(teacher.status == .forbidden, "only administrators import rosters")
            let unknownSchool = try await roster(client, school: UUID(), "username,display_name,role,class_name\n,A,teacher,\n", token: admin)
            #expect(unknownSchool.status == .notFound)
            let huge = "username,display_name,role,class_name\n" + String(repeating: ",A pupil with a long name,student,7-1\n", count: 1_000_000)
            let tooLarge = try await roster(client, school: school, huge, token: admin)
            #expect(tooLarge.status == .contentTooLarge && (try? tooLarge.problem()) != nil)
        }
    }
}
