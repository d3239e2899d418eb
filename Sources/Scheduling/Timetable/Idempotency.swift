import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Store

/// `Idempotency-Key` on creates: the answer is stored per caller in the transaction that made
/// the thing, and kept for a day. A repeat with the same body gets the stored answer; one with
/// another body is refused. Two identical requests in flight at once serialise on the key's row:
/// the second waits for the first to commit, then finds its answer.
struct Idempotency: Sendable {
    static let headerName = HTTPField.Name("Idempotency-Key")!
    static let lifetime = "1 day"

    let database: Database

    /// A create's answer: status and the exact JSON body.
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var body: Data
    }

    /// Runs `create` in one transaction, exactly once per (caller, key) when the request carries
    /// a key. `body` is the request body (its hash tells a repeat from a different request).
    func run(
        _ request: Request, body: ByteBuffer, caller: UUID, logger: Logger,
        _ create: (PostgresConnection) async throws -> Answer
    ) async throws -> Response {
        Self.response(try await answer(request, body: body, caller: caller, logger: logger, create))
    }

    /// The same, returning the answer itself (a route that renders it in more than one format).
    func answer(
        _ request: Request, body: ByteBuffer, caller: UUID, logger: Logger,
        _ create: (PostgresConnection) async throws -> Answer
    ) async throws -> Answer {
        guard let key = request.headers[Self.headerName] else {
            return try await database.withTransaction(logger: logger, idempotent: false, create)
        }
        guard (1...200).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }) else {
            throw Problem.badRequest("Idempotency-Key must be 1 to 200 visible ASCII characters.", errors: [.init(field: "Idempotency-Key", message: "is malformed")])
        }
        var hasher = SHA256()
        hasher.update(data: Data(request.uri.path.utf8))
        hasher.update(data: Data(buffer: body))
        let requestHash = Data(hasher.finalize())
        // With a key, running the transaction again after an unclear commit is safe: a committed
        // first run left its answer under the key.
        return try await database.withTransaction(logger: logger, idempotent: true) { connection -> Answer in
            let claimed = try await connection.query(
                """
                INSERT INTO scheduling.idempotency_keys (caller_id, key, request_hash) VALUES (\(caller), \(key), \(requestHash))
                ON CONFLICT (caller_id, key) DO UPDATE
                    SET request_hash = excluded.request_hash, status = NULL, response = NULL, created_at = now()
                    WHERE scheduling.idempotency_keys.created_at < now() - \(Self.lifetime)::interval
                RETURNING 1
                """,
                logger: logger
            ).collect()
            if claimed.isEmpty {
                let stored = try await connection.query(
                    "SELECT request_hash, status, response FROM scheduling.idempotency_keys WHERE caller_id = \(caller) AND key = \(key)",
                    logger: logger
                ).collect()
                guard let row = stored.first else { throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "Try again.") }
                let (storedHash, status, response) = try row.decode((Data, Int16?, String?).self)
                guard storedHash == requestHash else {
                    throw Problem.invalid(field: "Idempotency-Key", "was already used for a different request")
                }
                guard let status, let response else { throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "Try again.") }
                return Answer(status: .init(code: Int(status)), body: Data(response.utf8))
            }
            let answer = try await create(connection)
            try await connection.query(
                """
                UPDATE scheduling.idempotency_keys SET status = \(Int16(answer.status.code)), response = \(String(decoding: answer.body, as: UTF8.self))
                WHERE caller_id = \(caller) AND key = \(key)
                """,
                logger: logger
            )
            return answer
        }
    }

    static func answer(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Answer {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(RFC3339.format(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Answer(status: status, body: try encoder.encode(value))
    }

    static func response(_ answer: Answer) -> Response {
        Response(
            status: answer.status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: answer.body))
        )
    }

    /// Forgets answers older than a day (run now and then).
    func purge(logger: Logger) async throws {
        try await database.query(
            "DELETE FROM scheduling.idempotency_keys WHERE created_at < now() - \(Self.lifetime)::interval",
            idempotent: true,
            logger: logger
        )
    }
}
