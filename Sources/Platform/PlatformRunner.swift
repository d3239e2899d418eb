import Foundation
import Logging
import PostgresNIO
import ServiceKit
import Store

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `cloudclass up`: the whole platform on this machine. Installs what is missing, starts (or
/// reuses) its own PostgreSQL unless `DATABASE_URL` points elsewhere, migrates, seeds the demo,
/// starts each service as its own process and nginx as the gateway, then waits; Ctrl-C (or
/// SIGTERM) stops everything it started, in reverse order.
public struct PlatformRunner {
    public struct Options: Sendable {
        public var dataFolder: String
        public var migrationsFolder: URL
        /// `Deploy/`: reference data and the templates (the edges' nginx).
        public var deployFolder: URL
        public var demo: Bool
        public var executable: String
        public var gatewayPort: Int
        public var environment: [String: String]
        /// The services to run, in start order (one whose start needs another comes after it).
        public var services: [ServiceDescriptor]
        /// The HLS origin the demo edges cache.
        public var mediaOriginURL = "http://127.0.0.1:8201"
        /// The demo edges listen from here up.
        public var firstEdgePort = 8211

        public init(
            dataFolder: String, migrationsFolder: URL, deployFolder: URL, demo: Bool, executable: String, gatewayPort: Int, environment: [String: String],
            services: [ServiceDescriptor]
        ) {
            self.services = services
            self.dataFolder = dataFolder
            self.migrationsFolder = migrationsFolder
            self.deployFolder = deployFolder
            self.demo = demo
            self.executable = executable
            self.gatewayPort = gatewayPort
            self.environment = environment
        }
    }

    enum Event: Sendable {
        case signal(Int32)
        case exited(ChildProcess)
        case restart(String)
        case databaseDown
        case restartDatabase
    }

    struct StartupFailure: Error, CustomStringConvertible {
        var description: String
    }

    let options: Options
    let logger: Logger
    let say: @Sendable (String) -> Void

    public init(options: Options, logger: Logger, say: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.logger = logger
        self.say = say
    }

    /// Runs until a signal or a child's death; returns the exit status for the process.
    public func run() async throws -> Int32 {
        let data = options.dataFolder
        let logs = "\(data)/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: logs)
        say("data folder: \(data)")
        try SystemPackages.ensureInstalled(log: say)
        let secrets = try Secrets(dataFolder: data)
        try secrets.ensure(for: options.services)
        let edges = options.demo ? try DemoEdges.edges(secrets: secrets, firstPort: options.firstEdgePort) : []

        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        let signals = Self.watchSignals(continuation)
        defer { signals.forEach { $0.cancel() } }

        var postgres: LocalPostgres?
        let supervisor = Supervisor(onExit: { continuation.yield(.exited($0)) })
        func stopAll() {
            supervisor.stopAll(say: say)
            if let postgres {
                say("stopping PostgreSQL")
                do { try postgres.stop() } catch { say("PostgreSQL did not stop cleanly: \(error)") }
            }
        }

        do {
            let database: DatabaseSettings
            if let url = options.environment["DATABASE_URL"], !url.isEmpty {
                database = try DatabaseSettings(url: url)
                say("database: DATABASE_URL")
            } else {
                let cluster = try LocalPostgres(dataFolder: data)
                let password = try secrets.read(secrets.postgresPasswordFile)
                if try cluster.create(superuserPassword: password) { say("created PostgreSQL cluster in \(cluster.root)") }
                try cluster.start()
                postgres = cluster
                say("PostgreSQL running (socket in \(cluster.socketDirectory), log \(cluster.logFile))")
                try await Self.ensureDatabase(cluster.settings(password: password, database: "postgres"), named: LocalPostgres.database, logger: logger)
                database = cluster.settings(password: password)
            }
            try await prepare(database, secrets: secrets, edges: edges)

            let publicURL = "http://127.0.0.1:\(options.gatewayPort)"
            var upstreams: [ServiceName: URL] = [:]
            for service in options.services {
                let (spec, base) = try serviceSpec(service, database: database, secrets: secrets, publicURL: publicURL, logs: logs)
                let child = try await supervisor.start(spec)
                upstreams[service.name] = base
                say("\(service.name.rawValue) ready on \(base.absoluteString) (log \(child.logFile))")
            }
            try await supervisor.start(try gatewaySpec(upstreams: upstreams, logs: logs, publicURL: publicURL))
            say("gateway ready on \(publicURL)")
            if let bandwidth = upstreams[.bandwidth] {
                for edge in edges {
                    for spec in try edgeSpecs(edge, secrets: secrets, bandwidth: bandwidth, logs: logs) { try await supervisor.start(spec) }
                    say("edge \(edge.name) ready on \(edge.baseURL), reporting to the fleet")
                }
            }
            printBanner(publicURL: publicURL)
        } catch {
            say("could not start the platform: \(error)")
            stopAll()
            return 1
        }

        // PostgreSQL runs detached (pg_ctl), so it is watched by polling rather than by waitpid.
        let databaseWatcher = postgres.map { cluster in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(2))
                    if !Task.isCancelled, !cluster.isRunning { continuation.yield(.databaseDown) }
                }
            }
        }
        defer { databaseWatcher?.cancel() }
        let megabytes = Int(options.environment["CLOUDCLASS_LOG_MAX_MB"] ?? "") ?? 64
        let keep = Int(options.environment["CLOUDCLASS_LOG_KEEP"] ?? "") ?? 4
        let files = LogFiles(folder: logs, maximumBytes: max(1, megabytes) << 20, keep: max(1, keep), others: postgres.map { [$0.logFile] } ?? [])
        let rotation = Task { [say] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(10))
                for file in files.rotateOversized() { say("rotated \(file)") }
            }
        }
        defer { rotation.cancel() }
        var databaseRestartPending = false

        /// Plans `name`'s restart. One that keeps dying is retried every minute, loudly; the rest
        /// of the platform keeps serving meanwhile.
        func scheduleRestart(of name: String, with event: Event) {
            let plan = supervisor.plan(afterExitOf: name)
            if plan.keepsDying {
                say("\(name) keeps dying (more than \(supervisor.backoff.count - 1) times in \(Int(supervisor.window)) s); retrying every \(plan.afterSeconds) s while the rest keeps serving")
            } else {
                say("restarting \(name) in \(plan.afterSeconds) s")
            }
            Task {
                try? await Task.sleep(for: .seconds(plan.afterSeconds))
                continuation.yield(event)
            }
        }

        for await event in events {
            switch event {
            case .signal(let number):
                say("received signal \(number); stopping")
                databaseWatcher?.cancel()
                stopAll()
                say("stopped")
                return 0
            case .exited(let child):
                guard supervisor.isCurrent(child) else { continue }
                say("\(child.name) exited unexpectedly (status \(child.exitStatus)); its last log lines:\n\(child.lastLogLines())")
                scheduleRestart(of: child.name, with: .restart(child.name))
            case .restart(let name):
                do {
                    try await supervisor.restart(name)
                    say("\(name) restarted and ready")
                } catch {
                    // Its exit, if it died, arrives as an event and plans the next attempt.
                    say("restarting \(name) failed: \(error)")
                }
            case .databaseDown:
                guard let postgres, !databaseRestartPending else { continue }
                databaseRestartPending = true
                say("PostgreSQL is not running; the end of its log:\n\(Self.tail(of: postgres.logFile))")
                scheduleRestart(of: "PostgreSQL", with: .restartDatabase)
            case .restartDatabase:
                // If it is still down afterwards, the watcher says so and the next attempt is planned.
                databaseRestartPending = false
                do {
                    try postgres?.start()
                    say("PostgreSQL restarted")
                } catch {
                    say("restarting PostgreSQL failed: \(error)")
                }
            }
        }
        return 0
    }

    /// How to run `service` (`cloudclass serve <name>` with what it declared, connected as its
    /// own role) and where it listens.
    func serviceSpec(
        _ service: ServiceDescriptor, database: DatabaseSettings, secrets: Secrets, publicURL: String, logs: String
    ) throws -> (ChildSpec, URL) {
        var environment = secrets.environment(for: service, among: options.services, base: options.environment)
        environment["DATABASE_URL"] = try serviceDatabase(database, as: service.schema.role, secrets: secrets).url
        // Every service finds every other at its default address unless told otherwise.
        for other in options.services { environment[other.name.urlVariable] = environment[other.name.urlVariable] ?? other.name.defaultURL }
        // Links in answers (calendar URLs, …) point at the gateway users reach.
        environment["CLOUDCLASS_PUBLIC_URL"] = environment["CLOUDCLASS_PUBLIC_URL"] ?? publicURL
        let base = try ConfigReader(environment).url(service.name.urlVariable, default: service.name.defaultURL)
        let spec = ChildSpec(
            name: service.name.rawValue, arguments: [options.executable, "serve", service.name.rawValue], environment: environment,
            logFile: "\(logs)/\(service.name.rawValue).log", readyURL: base.appendingPathComponent("ready"), readyStatus: 200
        )
        return (spec, base)
    }

    /// Where `service` connects: the same database, as the service's own role.
    func serviceDatabase(_ database: DatabaseSettings, as role: ServiceRole, secrets: Secrets) throws -> DatabaseSettings {
        var settings = database
        settings.username = role.name
        settings.password = try secrets.read(secrets.databasePasswordFile(for: role))
        return settings
    }

    /// Migrates, lets each service's role log in with its password and, with `--demo`, seeds.
    func prepare(_ database: DatabaseSettings, secrets: Secrets, edges: [ServiceDescriptor.DemoEdge]) async throws {
        let migrator = try Migrator(root: options.migrationsFolder, schemas: options.services.map(\.schema))
        let demo = options.demo
        let services = options.services
        let environment = ConfigReader(options.environment)
        try await database.withClient(logger: logger) { client in
            let applied = try await migrator.migrate(client, logger: logger)
            say("migrations: \(applied.count) applied, \(migrator.migrations.count - applied.count) already there")
            for service in services {
                let role = service.schema.role
                try await role.enableLogin(password: try secrets.read(secrets.databasePasswordFile(for: role)), on: client, logger: logger)
            }
            if demo {
                for service in services {
                    try await service.seedDemo?(.init(database: client, environment: environment, logger: logger, deployFolder: options.deployFolder, edges: edges))
                }
                say("demo data seeded")
            }
        }
    }

    static func ensureDatabase(_ maintenance: DatabaseSettings, named name: String, logger: Logger) async throws {
        try await maintenance.withClient(logger: logger) { client in
            let rows = try await client.query("SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger).collect()
            if rows.isEmpty {
                try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger)
            }
        }
    }

    /// Writes and checks the gateway's nginx configuration; returns how to run it.
    func gatewaySpec(upstreams: [ServiceName: URL], logs: String, publicURL: String) throws -> ChildSpec {
        let prefix = "\(options.dataFolder)/nginx"
        try FileManager.default.createDirectory(atPath: "\(prefix)/tmp", withIntermediateDirectories: true)
        let workerUser: String? = Shell.isRoot ? "www-data" : nil
        if let workerUser { try Shell.run(["chown", "-R", workerUser, "\(prefix)/tmp"]) }
        for log in ["gateway-access.log", "gateway-error.log"] { try LogFiles.prepare("\(logs)/\(log)") }
        let config = GatewayConfig(
            port: options.gatewayPort, routes: GatewayRoutes(services: options.services), upstreams: upstreams, prefix: prefix, logFolder: logs,
            workerUser: workerUser
        )
        let configFile = "\(prefix)/nginx.conf"
        try config.render().write(toFile: configFile, atomically: true, encoding: .utf8)
        let nginx = try Shell.resolve("nginx")
        try Shell.run([nginx, "-t", "-q", "-p", prefix, "-e", "\(logs)/gateway-error.log", "-c", configFile])
        return ChildSpec(
            name: "gateway (nginx)",
            arguments: [nginx, "-p", prefix, "-e", "\(logs)/gateway-error.log", "-c", configFile],
            environment: options.environment,
            logFile: "\(logs)/gateway.log",
            readyURL: URL(string: "\(publicURL)/api/v1/me")!,
            readyStatus: 401
        )
    }

    func printBanner(publicURL: String) {
        var lines = ["", "CloudClass is up: \(publicURL)"]
        if options.demo {
            lines += options.services.flatMap(\.demoSummary).map { "  " + $0.replacingOccurrences(of: "{gateway}", with: publicURL) }
        }
        lines.append("  logs: \(options.dataFolder)/logs; Ctrl-C stops everything")
        lines.append("")
        say(lines.joined(separator: "\n"))
    }

    static func tail(of file: String, lines: Int = 20) -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    static func watchSignals(_ continuation: AsyncStream<Event>.Continuation) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(.signal(number)) }
            source.resume()
            return source
        }
    }
}
