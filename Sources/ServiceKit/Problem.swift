import Foundation
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: every error a CloudClass service answers has this shape.
public struct Problem: Error, HTTPResponseError, Sendable {
    /// One invalid field of a request body or query; `row` is the spreadsheet row of an uploaded
    /// file it is in (the header is row 1).
    public struct FieldError: Codable, Sendable, Equatable {
        public var row: Int?
        public var field: String
        public var message: String
        public init(row: Int? = nil, field: String, message: String) {
            self.row = row
            self.field = field
            self.message = message
        }
    }

    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    public var type: String
    public var errors: [FieldError]
    /// Extra members specific to one problem type (e.g. `conflicts`), already JSON-encoded.
    public var extensions: [String: JSONValue]
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status,
        detail: String,
        title: String? = nil,
        type: String = "about:blank",
        errors: [FieldError] = [],
        extensions: [String: JSONValue] = [:],
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.title = title ?? status.reasonPhrase
        self.detail = detail
        self.type = type
        self.errors = errors
        self.extensions = extensions
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: JSONValue] = extensions
        body["type"] = .string(type)
        body["title"] = .string(title)
        body["status"] = .number(Double(status.code))
        body["detail"] = .string(detail)
        if !errors.isEmpty {
            body["errors"] = .array(
                errors.map { error in
                    var member: [String: JSONValue] = ["field": .string(error.field), "message": .string(error.message)]
                    if let row = error.row { member["row"] = .number(Double(row)) }
                    return .object(member)
                }
            )
        }
        let data = try JSONEncoder.sortedKeys.encode(body)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        fields[.contentLength] = String(data.count)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Problem {
    public static func badRequest(_ detail: String, errors: [FieldError] = []) -> Problem {
        Problem(.badRequest, detail: detail, errors: errors)
    }

    /// A request that parsed but whose values break the rules (one entry per bad field).
    public static func invalid(_ errors: [FieldError]) -> Problem {
        var names: [String] = []
        for error in errors where !names.contains(error.field) { names.append(error.field) }
        let rows = Set(errors.compactMap(\.row)).count
        if rows > 0 {
            return Problem(
                .unprocessableContent, detail: "\(rows) row(s) are invalid (\(names.joined(separator: ", "))); nothing was changed.",
                title: "Invalid rows", errors: errors
            )
        }
        return Problem(.unprocessableContent, detail: "Invalid value for: \(names.joined(separator: ", ")).", title: "Invalid request", errors: errors)
    }

    public static func invalid(field: String, _ message: String) -> Problem {
        invalid([FieldError(field: field, message: message)])
    }

    public static func unauthorized(_ detail: String) -> Problem {
        Problem(.unauthorized, detail: detail, headers: [.wwwAuthenticate: "Bearer"])
    }

    public static func forbidden(_ detail: String) -> Problem {
        Problem(.forbidden, detail: detail)
    }

    public static func notFound(_ detail: String) -> Problem {
        Problem(.notFound, detail: detail)
    }

    public static func conflict(_ detail: String, extensions: [String: JSONValue] = [:]) -> Problem {
        Problem(.conflict, detail: detail, extensions: extensions)
    }

    /// 429 or 503 with a `Retry-After` in whole seconds (at least 1).
    public static func retryLater(_ status: HTTPResponse.Status, after seconds: Double, detail: String) -> Problem {
        let whole = max(1, Int(seconds.rounded(.up)))
        return Problem(status, detail: detail, headers: [.retryAfter: String(whole)])
    }
}

extension JSONEncoder {
    static var sortedKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// An error that knows what the caller should be told (a peer service out of reach is a 503
/// to retry, not a 500); `ProblemMiddleware` answers it as that problem and logs the error.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}
