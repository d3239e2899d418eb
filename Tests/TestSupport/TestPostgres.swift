import Foundation
import Logging
import Platform
import PostgresNIO
import ServiceCatalog
import Store

/// One throwaway PostgreSQL cluster per test process, started on first use, migrated once into a
/// template; every test gets a fresh database copied from it, so tests run in parallel without
/// seeing each other's rows. A watchdog stops the cluster when the test process is gone.
public actor TestPostgres {
    /// The cluster most tests share.
    public static let shared = TestPostgres()

    /// A cluster of its own, for tests that restart it.
    public init() {}
    static let template = "cloudclass_template"

    /// `settings` as the given service's own role would connect (no superuser powers).
    public static func asService(_ service: String, _ settings: DatabaseSettings) -> DatabaseSettings {
        var copy = settings
        copy.username = ServiceRole(service: service).name
        copy.password = nil
        return copy
    }

    private var started: Task<(DatabaseSettings, LocalPostgres), any Error>?
    private var counter = 0
    let logger = Logger(label: "test.postgres")

    /// The repository's Migrations folder.
    public static var migrationsFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Migrations")
    }

    /// A new database of its own: migrated and without rows, or (`migrated: false`) empty.
    public func freshDatabase(migrated: Bool = true) async throws -> DatabaseSettings {
        let server = try await server()
        counter += 1
        let name = "test_\(counter)_\(UInt32.random(in: 0...UInt32.max))"
        try await Self.createDatabase(name, from: migrated ? Self.template : "template0", in: cluster().1)
        var settings = server.with(database: name)
        settings.maximumConnections = 8
        return settings
    }

    /// Creates a database with `psql`, on a thread of its own. (Through PostgresNIO, a burst of
    /// fifty of these at the suite's start now and then never returned after the server had
    /// finished — the whole suite stalled; a process that exits cannot leave anything waiting.)
    static func createDatabase(_ name: String, from template: String, in cluster: LocalPostgres) async throws {
        let command = [
            "\(cluster.binDirectory)/psql", "-h", cluster.socketDirectory, "-U", LocalPostgres.superuser, "-d", "postgres",
            "-v", "ON_ERROR_STOP=1", "-q",
            // A client that set the template up can leave a connection behind as it shuts down;
            // nothing else may use the template, so such a straggler is cut first.
            "-c", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(template)' AND pid <> pg_backend_pid()",
            "-c", "CREATE DATABASE \(name) TEMPLATE \(template) STRATEGY FILE_COPY",
        ]
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                var attempt = 0
                while true {
                    do {
                        try Shell.run(command)
                        return continuation.resume()
                    } catch where attempt < 5 && "\(error)".contains("is being accessed by other users") {
                        attempt += 1
                        Thread.sleep(forTimeInterval: 0.05)
                    } catch {
                        return continuation.resume(throwing: error)
                    }
                }
            }.start()
        }
    }

    /// The cluster's superuser settings (database `postgres`).
    public func server() async throws -> DatabaseSettings {
        try await cluster().0
    }

    func cluster() async throws -> (DatabaseSettings, LocalPostgres) {
        if let started { return try await started.value }
        let task = Task { try await Self.start(logger: logger) }
        started = task
        return try await task.value
    }

    /// Stops the server (fast: connections are cut, as in a crash or failover), keeps it down
    /// for `downFor`, and starts it again.
    public func restart(downFor: Duration) async throws {
        let cluster = try await cluster().1
        try cluster.stop()
        try await Task.sleep(for: downFor)
        try cluster.start(extraOptions: Self.serverOptions)
    }

    // Every test runs at once, each service on its own pool of up to 8: more than up's 300 slots.
    static let serverOptions = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=800"

    static func start(logger: Logger) async throws -> (DatabaseSettings, LocalPostgres) {
        let folder = "/tmp/cc-test-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let cluster = try LocalPostgres(dataFolder: folder)
        try cluster.create(superuserPassword: nil)
        try startWatchdog(cluster: cluster, folder: folder)
        try cluster.start(extraOptions: serverOptions)
        let server = cluster.settings(password: nil, database: "postgres")
        try await server.withClient(logger: logger) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(template)"), logger: logger)
        }
        let migrator = try Migrator(root: migrationsFolder, schemas: ServiceCatalog.all.map(\.schema))
        try await server.with(database: template).withClient(logger: logger) { client in
            try await migrator.migrate(client, logger: logger)
            for schema in migrator.schemas {
                // The cluster trusts its private socket; the password only makes the role a login.
                try await schema.role.enableLogin(password: "test", on: client, logger: logger)
            }
        }
        return (server, cluster)
    }

    /// Swift Testing has no after-all hook: a detached shell waits for this process to end, then
    /// stops the cluster and removes its folder. Its output goes nowhere, so it never holds the
    /// test runner's stdout open.
    static func startWatchdog(cluster: LocalPostgres, folder: String) throws {
        let pgCtl = "\(cluster.binDirectory)/pg_ctl"
        let asPostgres = Shell.isRoot ? "/usr/sbin/runuser -u postgres -- " : ""
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            cd /; \(asPostgres)\(pgCtl) -D \(cluster.dataDirectory) -m immediate stop
            rm -rf \(folder) \(cluster.socketDirectory == cluster.root ? "" : cluster.socketDirectory)
            """
        try Shell.startDetached(["/bin/sh", "-c", script])
    }
}
