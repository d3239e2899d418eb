import Logging
import PostgresNIO

extension DatabaseSettings {
    /// Runs `body` with a client that is running for exactly that long (for commands and tests;
    /// services run their client as a lifecycle service instead).
    @discardableResult
    public func withClient<T: Sendable>(logger: Logger, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        let running = Task { await client.run() }
        // Let run() start first; a query before it only waits, but PostgresNIO logs a warning.
        try await Task.sleep(for: .milliseconds(5))
        do {
            let result = try await body(client)
            running.cancel()
            await running.value
            return result
        } catch {
            running.cancel()
            await running.value
            throw error
        }
    }
}
