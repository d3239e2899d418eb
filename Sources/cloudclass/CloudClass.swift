import ArgumentParser
import Foundation

@main
struct CloudClass: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloudclass",
        abstract: "CloudClass: live lessons for a whole country's schools.",
        subcommands: [Up.self, Serve.self, Migrate.self, Setup.self, Simulate.self, NetworkTable.self, EdgeAgentCommand.self, EdgeConfigCommand.self, BenchBare.self, BenchBeats.self, AttendanceRetentionCommand.self]
    )
}

/// Where the SQL migrations are: `--migrations`, `CLOUDCLASS_MIGRATIONS`, `./Migrations`, or a
/// `Migrations` folder beside the binary (deploy layouts copy it there).
func migrationsFolder(_ option: String?) -> URL {
    if let option { return URL(fileURLWithPath: option) }
    if let env = ProcessInfo.processInfo.environment["CLOUDCLASS_MIGRATIONS"], !env.isEmpty {
        return URL(fileURLWithPath: env)
    }
    let local = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Migrations")
    if FileManager.default.fileExists(atPath: local.path) { return local }
    return URL(fileURLWithPath: executablePath()).deletingLastPathComponent().appendingPathComponent("Migrations")
}

func executablePath() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
