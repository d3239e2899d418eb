import Foundation
import Hummingbird

/// A window of time from a query's `from` and `to` (RFC 3339 with offset): `to` after `from`,
/// at most `longestDays` apart, defaults where they are absent. What is wrong goes into
/// `errors`, named by the field.
public struct TimeWindow: Sendable, Equatable {
    public var from: Date
    public var to: Date

    public init(from: Date, to: Date) {
        self.from = from
        self.to = to
    }

    public static func read(
        _ request: Request, defaultFrom: Date, defaultDays: Int, longestDays: Int, into errors: inout [Problem.FieldError]
    ) -> TimeWindow {
        let query = request.uri.queryParameters
        func time(_ name: String) -> Date? {
            guard let text = query[Substring(name)].map(String.init) else { return nil }
            guard let date = RFC3339.parse(text) else {
                errors.append(.init(field: name, message: "must be an RFC 3339 time with offset, e.g. 2026-09-01T00:00:00+08:00"))
                return nil
            }
            return date
        }
        let from = time("from") ?? defaultFrom
        let to = time("to") ?? from.addingTimeInterval(Double(defaultDays) * 86_400)
        if to <= from { errors.append(.init(field: "to", message: "must be after from")) }
        if to.timeIntervalSince(from) > Double(longestDays) * 86_400 { errors.append(.init(field: "to", message: "a window spans at most \(longestDays) days")) }
        return TimeWindow(from: from, to: to)
    }

    /// The start of today (UTC).
    public static func startOfToday(now: Date = Date()) -> Date {
        Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }
}
