import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Scheduling
import ServiceKit
import Store

extension ServiceName: ExpressibleByArgument {}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one service in the foreground (as `up` does for each).")

    @Argument(help: "The service: \(ServiceName.allCases.map(\.rawValue).joined(separator: ", ")).")
    var service: ServiceName

    func run() async throws {
        JSONLogHandler.bootstrap()
        let logger = Logger(label: "cloudclass.\(service.rawValue)")
        let env = ConfigReader()
        guard let url = env.string("DATABASE_URL") else {
            throw ValidationError("Set DATABASE_URL (postgres://user:password@host:port/database), or use `cloudclass up`.")
        }
        var database = try DatabaseSettings(url: url)
        database.maximumConnections = try env.int("CLOUDCLASS_DB_POOL", default: 20, in: 1...500)
        let client = Database(settings: database, logger: logger)
        switch service {
        case .scheduling:
            let service = try await SchedulingService(config: try SchedulingConfig.fromEnvironment(env), database: client)
            try await service.application(logger: logger).runService()
        }
    }
}
