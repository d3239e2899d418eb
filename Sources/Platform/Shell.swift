import Foundation

/// Runs helper programs (initdb, pg_ctl, apt-get, nginx -t) to completion.
public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var output: String
        public var description: String {
            "`\(command)` exited with status \(status)\(output.isEmpty ? "" : ":\n\(output)")"
        }
    }

    public static var isRoot: Bool { geteuid() == 0 }

    /// Runs `arguments` (the first is a path or a name looked up in PATH), waits, and returns what
    /// it printed; throws with that output when it fails. Standard input is /dev/null.
    /// - Parameters:
    ///   - directory: where it runs (PostgreSQL's tools, run as `postgres`, want a folder they may enter).
    ///   - newSession: start it in a session of its own (for servers it leaves running).
    @discardableResult
    public static func run(
        _ arguments: [String],
        environment: [String: String]? = nil,
        directory: String? = nil,
        newSession: Bool = false
    ) throws -> String {
        var command = [try resolve(arguments[0])] + arguments.dropFirst()
        if let directory { command = ["/usr/bin/env", "-C", directory] + command }
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("cloudclass-\(UUID()).out").path
        defer { try? FileManager.default.removeItem(atPath: outputFile) }
        let pid = try Spawn.start(
            command,
            environment: environment ?? ProcessInfo.processInfo.environment,
            outputFile: outputFile,
            newSession: newSession
        )
        let status = Spawn.wait(pid)
        let text = ((try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0 else {
            throw Failure(command: arguments.joined(separator: " "), status: status, output: text)
        }
        return text
    }

    /// Runs as the `postgres` user when we are root (PostgreSQL's binaries refuse root).
    @discardableResult
    public static func runAsPostgres(_ arguments: [String], newSession: Bool = false) throws -> String {
        let command = isRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + arguments : arguments
        return try run(command, directory: "/", newSession: newSession)
    }

    public static func resolve(_ name: String) throws -> String {
        if name.hasPrefix("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") + ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(command: name, status: 127, output: "\(name) is not installed (not found in PATH)")
    }
}

extension Shell {
    /// Starts a program that outlives this call (and possibly this process), in a session of
    /// its own, with no input and its output discarded.
    public static func startDetached(_ arguments: [String]) throws {
        _ = try Spawn.start([try resolve(arguments[0])] + arguments.dropFirst(), environment: ProcessInfo.processInfo.environment, outputFile: nil, newSession: true)
    }
}
