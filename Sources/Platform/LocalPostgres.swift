import Crypto
import Foundation
import Store

/// The platform's own PostgreSQL cluster: initdb into a folder, run by an unprivileged user,
/// reachable only over a unix socket, every role with a SCRAM password (RUNNING.md).
public struct LocalPostgres: Sendable {
    public static let superuser = "cloudclass"
    public static let database = "cloudclass"

    /// Holds `data/`, the server log and (when the path is short enough) the socket.
    public let root: String
    public let socketDirectory: String
    public let binDirectory: String

    public var dataDirectory: String { "\(root)/data" }
    public var logFile: String { "\(root)/postgres.log" }

    /// Chooses where the cluster lives for the data folder `dataFolder`. As root, the server runs
    /// as `postgres`, which must be able to reach the folder: when a parent is closed to it
    /// (a clone inside a 0700 folder), the cluster moves to /var/lib/cloudclass/<hash>.
    public init(dataFolder: String) throws {
        binDirectory = try Self.findBinaries()
        var root = "\(dataFolder)/postgres"
        let digest = SHA256.hash(data: Data(dataFolder.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        if Shell.isRoot {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try Shell.run(["chown", "postgres:postgres", root])
            if (try? Shell.runAsPostgres(["test", "-w", root])) == nil {
                root = "/var/lib/cloudclass/\(digest)"
            }
        }
        self.root = root
        // A unix socket path may not exceed 107 bytes.
        socketDirectory = "\(root)/.s.PGSQL.5432".utf8.count <= 100 ? root : "/tmp/cloudclass-\(digest)"
    }

    static func findBinaries() throws -> String {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).sorted()
        guard let newest = versions.last else {
            throw Shell.Failure(command: "initdb", status: 127, output: "PostgreSQL's server is not installed (apt-get install postgresql)")
        }
        return "\(base)/\(newest)/bin"
    }

    /// Makes the cluster if it does not exist yet, with `password` for the superuser (SCRAM), or,
    /// for a throwaway test cluster on a private socket, with trust and without fsync.
    /// Returns true when it was created now.
    @discardableResult
    public func create(superuserPassword password: String?) throws -> Bool {
        let fm = FileManager.default
        if fm.fileExists(atPath: "\(dataDirectory)/PG_VERSION") { return false }
        for folder in [root, socketDirectory] { try Self.ensurePrivateFolder(folder) }
        var arguments = ["\(binDirectory)/initdb", "-D", dataDirectory, "-U", Self.superuser, "-E", "UTF8", "--locale=C.UTF-8"]
        guard let password else {
            try Shell.runAsPostgres(arguments + ["-A", "trust", "--no-sync"])
            return true
        }
        let passwordFile = "\(root)/initdb-password"
        try Data(password.utf8).write(to: URL(fileURLWithPath: passwordFile))
        try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile)
        if Shell.isRoot { try Shell.run(["chown", "postgres:postgres", passwordFile]) }
        defer { try? fm.removeItem(atPath: passwordFile) }
        arguments += ["--pwfile=\(passwordFile)", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256"]
        try Shell.runAsPostgres(arguments)
        return true
    }

    /// `folder`, made if missing, owned by the database's user and closed to everyone else.
    static func ensurePrivateFolder(_ folder: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
        if Shell.isRoot { try Shell.run(["chown", "postgres:postgres", folder]) }
    }

    public var isRunning: Bool {
        (try? Shell.runAsPostgres(["\(binDirectory)/pg_ctl", "-D", dataDirectory, "status"])) != nil
    }

    /// Starts the server in its own session (so a Ctrl-C meant for `up` does not reach it first).
    public func start(extraOptions: String = "") throws {
        if isRunning { return }
        // /tmp's folder may be gone after a reboot; made again it must be as private as before.
        try Self.ensurePrivateFolder(socketDirectory)
        let options = "-k \(socketDirectory) -c listen_addresses='' -c max_connections=300 \(extraOptions)"
        let command = ["\(binDirectory)/pg_ctl", "-D", dataDirectory, "-l", logFile, "-o", options, "-w", "-t", "60", "start"]
        do {
            try Shell.runAsPostgres(command, newSession: true)
        } catch let failure as Shell.Failure {
            throw Shell.Failure(command: failure.command, status: failure.status, output: failure.output + "\n" + PlatformRunner.tail(of: logFile, lines: 10))
        }
    }

    public func stop() throws {
        guard isRunning else { return }
        try Shell.runAsPostgres(["\(binDirectory)/pg_ctl", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"])
    }

    public func settings(username: String = superuser, password: String?, database: String = database) -> DatabaseSettings {
        DatabaseSettings(endpoint: .unixSocket(path: "\(socketDirectory)/.s.PGSQL.5432"), username: username, password: password, database: database)
    }
}
