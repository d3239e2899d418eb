import Store
import Testing

@Suite struct DatabaseSettingsTests {
    @Test func parsesTCPURLs() throws {
        let settings = try DatabaseSettings(url: "postgres://sched%40x:p%2Fw@db.example:6543/cloudclass")
        #expect(settings.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(settings.username == "sched@x")
        #expect(settings.password == "p/w")
        #expect(settings.database == "cloudclass")
        #expect(try DatabaseSettings(url: settings.url) == settings)
    }

    @Test func parsesUnixSocketURLs() throws {
        let settings = try DatabaseSettings(url: "postgresql://cloudclass:secret@/cloudclass?host=/var/run/cc")
        #expect(settings.endpoint == .unixSocket(path: "/var/run/cc/.s.PGSQL.5432"))
        #expect(try DatabaseSettings(url: settings.url) == settings)
    }

    @Test(arguments: ["mysql://a@b/c", "postgres://host/db", "postgres://u@host/", "postgres://u@/db", "not a url"])
    func refusesIncompleteURLs(_ url: String) {
        #expect(throws: DatabaseSettings.InvalidURL.self) { try DatabaseSettings(url: url) }
    }
}
