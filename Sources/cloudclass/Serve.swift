import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceCatalog
import ServiceKit
import Store

extension ServiceName: ExpressibleByArgument {}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one service in the foreground (as `up` does for each).")

    @Argument(help: "The service: \(ServiceCatalog.all.map(\.name.rawValue).joined(separator: ", ")).")
    var service: ServiceName

    func run() async throws {
        JSONLogHandler.bootstrap()
        let logger = Logger(label: "cloudclass.\(service.rawValue)")
        guard let descriptor = ServiceCatalog.descriptor(service) else {
            throw ValidationError("\(service.rawValue) is not part of this build yet.")
        }
        let env = ConfigReader()
        guard let url = env.string("DATABASE_URL") else {
            throw ValidationError("Set DATABASE_URL (postgres://user:password@host:port/database), or use `cloudclass up`.")
        }
        var settings = try ServiceSettings.fromEnvironment(env, service: service)
        settings.subscribers = ServiceCatalog.subscribers
        var database = try DatabaseSettings(url: url)
        database.maximumConnections = settings.databasePoolSize
        let built = try await descriptor.make(settings, env, Database(settings: database, logger: logger))
        try await built.buildApplication(logger: logger).runService()
    }
}
