import Foundation
import Hummingbird

/// An internal-protocol message as a response body, encoded as the client decodes it.
public struct InternalMessage<Message: Encodable & Sendable>: ResponseGenerator {
    let message: Message

    public init(_ message: Message) {
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder.internalProtocol.encode(message)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .contentLength: String(data.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
