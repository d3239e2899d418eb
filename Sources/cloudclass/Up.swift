import ArgumentParser
import Foundation
import Logging
import Platform
import ServiceCatalog
import ServiceKit

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Bring the whole platform up on this machine; Ctrl-C stops it.")

    @Flag(help: "Seed demo schools and the accounts admin, teacher and student (password: cloudclass).")
    var demo = false

    @Option(help: "The migrations folder (default: CLOUDCLASS_MIGRATIONS, ./Migrations, or beside the binary).")
    var migrations: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let env = ConfigReader()
        let data = URL(fileURLWithPath: env.string("CLOUDCLASS_DATA", default: ".cloudclass")).standardizedFileURL.path
        let migrationsFolder = migrationsFolder(migrations)
        var options = PlatformRunner.Options(
            dataFolder: data,
            migrationsFolder: migrationsFolder,
            deployFolder: migrationsFolder.deletingLastPathComponent().appendingPathComponent("Deploy"),
            demo: demo,
            executable: executablePath(),
            gatewayPort: try env.int("CLOUDCLASS_GATEWAY_PORT", default: 8080, in: 1...65535),
            environment: ProcessInfo.processInfo.environment,
            services: ServiceCatalog.all
        )
        options.mediaOriginURL = env.string("CLOUDCLASS_MEDIA_ORIGIN_URL", default: options.mediaOriginURL)
        options.firstEdgePort = try env.int("CLOUDCLASS_EDGE_PORT", default: options.firstEdgePort, in: 1...65000)
        let runner = PlatformRunner(options: options, logger: Logger(label: "cloudclass.up")) { line in
            FileHandle.standardOutput.write(Data("[up] \(line)\n".utf8))
        }
        let status = try await runner.run()
        if status != 0 { throw ExitCode(status) }
    }
}
