import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceKit

/// What went wrong with an internal call.
public enum InternalCallError: Error, CustomStringConvertible, Sendable {
    /// The other service answered with a problem.
    case problem(status: Int, detail: String)
    /// It could not be reached (or kept failing) within the attempts allowed.
    case unreachable(service: String, underlying: String)
    /// It answered something that is not the expected message.
    case malformed(String)

    public var description: String {
        switch self {
        case .problem(let status, let detail): "internal call answered \(status): \(detail)"
        case .unreachable(let service, let underlying): "\(service) is unreachable: \(underlying)"
        case .malformed(let detail): "internal call answered a malformed message: \(detail)"
        }
    }
}

extension InternalCallError: ProblemConvertible {
    /// A peer that is down or failing is worth retrying; one that answers nonsense is not.
    public var problem: Problem {
        switch self {
        case .unreachable(let service, _):
            Problem.retryLater(.serviceUnavailable, after: 2, detail: "The \(service) service cannot be reached just now; try again in a moment.")
        case .problem(let status, _) where status >= 500 || status == 429:
            Problem.retryLater(.serviceUnavailable, after: 2, detail: "A service this answer needs is failing just now; try again in a moment.")
        case .problem, .malformed:
            Problem(.badGateway, detail: "A service this answer needs gave an answer that could not be used; it has been logged.")
        }
    }
}

/// A decoded answer with the request id the other side echoed.
public struct InternalResponse<Message: Sendable>: Sendable {
    public var message: Message
    public var requestID: String?
}

/// The one HTTP client a process uses for internal calls: the service token on every request,
/// the caller's `X-Request-ID` passed on, explicit timeouts, and retries only for idempotent
/// calls (GET, and POSTs the protocol marks idempotent).
public struct InternalClient: Sendable {
    public struct Policy: Sendable {
        /// The whole call, every attempt included.
        public var timeout: TimeAmount = .seconds(5)
        public var attempts = 3
        public var firstBackoff: Duration = .milliseconds(50)
        public init() {}
    }

    let http: HTTPClient
    let serviceToken: String
    let policy: Policy

    public init(http: HTTPClient, serviceToken: String, policy: Policy = Policy()) {
        self.http = http
        self.serviceToken = serviceToken
        self.policy = policy
    }

    /// The process's one HTTP client for internal calls, made on first use and never shut down
    /// (like `HTTPClient.shared`): it lives as long as the process.
    public static let sharedHTTPClient = makeHTTPClient()

    /// A client with the connection settings internal calls want (64 connections per service,
    /// as the measured join path needed).
    public static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(1), read: .seconds(10))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// The process's shared client with this platform's service token, and where `peer`
    /// listens according to `settings`: what each typed client is built from.
    public static func toward(_ peer: ServiceName, settings: ServiceSettings) -> (client: InternalClient, base: URL) {
        (InternalClient(http: sharedHTTPClient, serviceToken: settings.serviceToken), settings.peers[peer] ?? URL(string: peer.defaultURL)!)
    }

    public func get<Message: Decodable & Sendable>(
        _ base: URL, _ path: String, as type: Message.Type, requestID: String?, logger: Logger
    ) async throws -> InternalResponse<Message> {
        try await send(.GET, base, path, body: nil as String?, as: type, idempotent: true, requestID: requestID, logger: logger)
    }

    public func post<Body: Encodable & Sendable, Message: Decodable & Sendable>(
        _ base: URL, _ path: String, body: Body, as type: Message.Type, idempotent: Bool, requestID: String?, logger: Logger
    ) async throws -> InternalResponse<Message> {
        try await send(.POST, base, path, body: body, as: type, idempotent: idempotent, requestID: requestID, logger: logger)
    }

    func send<Body: Encodable & Sendable, Message: Decodable & Sendable>(
        _ method: HTTPMethod, _ base: URL, _ path: String, body: Body?, as type: Message.Type,
        idempotent: Bool, requestID: String?, logger: Logger
    ) async throws -> InternalResponse<Message> {
        var request = HTTPClientRequest(url: base.absoluteString.trimmingSuffix("/") + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(serviceToken)")
        request.headers.add(name: "X-Request-ID", value: requestID ?? UUID().lowercased)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder.internalProtocol.encode(body)))
        }
        let deadline = NIODeadline.now() + policy.timeout
        var backoff = policy.firstBackoff
        var attempt = 1
        while true {
            do {
                let response = try await http.execute(request, deadline: deadline, logger: logger)
                let bytes = try await response.body.collect(upTo: 16 << 20)
                let echoed = response.headers.first(name: "X-Request-ID")
                if (200..<300).contains(response.status.code) {
                    do {
                        let message = try JSONDecoder.internalProtocol.decode(Message.self, from: Data(buffer: bytes))
                        return InternalResponse(message: message, requestID: echoed)
                    } catch {
                        throw InternalCallError.malformed("\(error)")
                    }
                }
                let detail = (try? JSONDecoder().decode(ProblemDetail.self, from: Data(buffer: bytes)).detail) ?? response.status.reasonPhrase
                let retryable = idempotent && [502, 503, 504].contains(response.status.code)
                guard retryable, attempt < policy.attempts else {
                    throw InternalCallError.problem(status: Int(response.status.code), detail: detail)
                }
                logger.debug("internal call answered \(response.status.code); retrying", metadata: ["path": "\(path)", "attempt": "\(attempt)"])
            } catch let error as InternalCallError {
                throw error
            } catch {
                guard idempotent, attempt < policy.attempts, NIODeadline.now() < deadline else {
                    throw InternalCallError.unreachable(service: base.absoluteString, underlying: "\(error)")
                }
                logger.debug("internal call failed; retrying", metadata: ["path": "\(path)", "error": "\(error)", "attempt": "\(attempt)"])
            }
            try await Task.sleep(for: backoff)
            backoff *= 2
            attempt += 1
        }
    }

    struct ProblemDetail: Decodable {
        var detail: String
    }
}

extension JSONEncoder {
    static var internalProtocol: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    static var internalProtocol: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
