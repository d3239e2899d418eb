import AsyncHTTPClient
import ServiceLifecycle

/// Runs the process's shared HTTP client as a lifecycle service: it is shut down, after the
/// server has drained, when the process stops.
public struct HTTPClientService: Service {
    public let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
