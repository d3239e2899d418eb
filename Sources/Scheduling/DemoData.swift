import Foundation
import Logging
import PostgresNIO

/// The demo's directory: a couple of real-looking schools and the three accounts the README's
/// tour signs in with. Seeding twice changes nothing.
public enum DemoData {
    public static let password = "cloudclass"

    struct School {
        var name: String
        var code: String
        var region: String
    }

    static let schools = [
        School(name: "Wuhan No. 1 Middle School", code: "wh-no1", region: "420000"),
        School(name: "Beijing Haidian Experimental School", code: "bj-haidian-exp", region: "110000"),
    ]

    static let accounts: [(username: String, displayName: String, role: String, school: String?)] = [
        ("admin", "Demo Administrator", "admin", nil),
        ("teacher", "Li Wei (demo teacher)", "teacher", "wh-no1"),
        ("student", "Wang Fang (demo student)", "student", "wh-no1"),
        ("teacher2", "Zhang Min (demo teacher)", "teacher", "wh-no1"),
    ]

    /// Demo pupils `pupil001`…`pupil200` (password as above) of the first demo school, so a
    /// login storm can be measured without one username's slow-down getting in the way.
    public static let pupils = 200

    public static func seed(database: PostgresClient, hasher: PasswordHasher, logger: Logger) async throws {
        let hash = try await hasher.hash(password)
        try await database.withTransaction(logger: logger) { connection in
            for school in schools {
                try await connection.query(
                    """
                    INSERT INTO scheduling.schools (id, name, code, region) VALUES (\(UUID()), \(school.name), \(school.code), \(school.region))
                    ON CONFLICT (code) DO NOTHING
                    """,
                    logger: logger
                )
            }
            for account in accounts {
                try await connection.query(
                    """
                    INSERT INTO scheduling.users (id, username, display_name, role, school_id, password_hash)
                    VALUES (\(UUID()), \(account.username), \(account.displayName), \(account.role),
                            (SELECT id FROM scheduling.schools WHERE code = \(account.school)), \(hash))
                    ON CONFLICT (username) DO NOTHING
                    """,
                    logger: logger
                )
            }
            try await connection.query(
                """
                INSERT INTO scheduling.users (id, username, display_name, role, school_id, password_hash)
                SELECT gen_random_uuid(), format('pupil%s', lpad(n::text, 3, '0')), format('Demo Pupil %s', n), 'student',
                       (SELECT id FROM scheduling.schools WHERE code = \(schools[0].code)), \(hash)
                FROM generate_series(1, \(pupils)) AS n
                ON CONFLICT (username) DO NOTHING
                """,
                logger: logger
            )
        }
        try await DemoTimetable.seed(on: database, logger: logger)
    }
}
