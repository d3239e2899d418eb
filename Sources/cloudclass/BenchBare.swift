import ArgumentParser
import Hummingbird

/// The yardstick every performance figure is divided by: a bare Hummingbird route answering
/// the same JSON as a service's `/health`, with no middleware, measured in the same run as the
/// platform (the machine's speed moves several times between days; ratios do not).
struct BenchBare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-bare", abstract: "Serve a bare Hummingbird /health on 127.0.0.1 (the benchmarks' yardstick).", shouldDisplay: false
    )

    @Option(help: "The port to listen on.")
    var port = 8199

    struct Status: ResponseEncodable {
        var status: String
        var service: String
    }

    func run() async throws {
        let router = Router()
        router.get("/health") { _, _ in Status(status: "ok", service: "bare") }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port))).runService()
    }
}
