import Foundation
import Logging
import PostgresNIO
import Store

/// The operator's retention policy over attendance's records (Migrations/attendance/0004):
/// whole months older than some years anonymised or dropped, in one transaction. The running
/// service never deletes; `cloudclass attendance-retention` runs this.
public enum AttendanceRetention {
    public enum Action: String, Sendable, CaseIterable {
        case anonymise, drop
    }

    /// One month's rows, as found (a dry run) or as treated.
    public struct Month: Sendable, Equatable {
        public var month: String
        public var sessions: Int64
        public var roll: Int64

        public init(month: String, sessions: Int64, roll: Int64) {
            self.month = month
            self.sessions = sessions
            self.roll = roll
        }
    }

    /// The first of the month `years` before `now`'s month (UTC): months before it are old.
    public static func cutoff(keepingYears years: Int, now: Date = Date()) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let month = calendar.date(from: calendar.dateComponents([.year, .month], from: now))!
        return calendar.date(byAdding: .year, value: -years, to: month)!
    }

    /// The months before `cutoff` with rows, and how many.
    public static func months(before cutoff: Date, on client: PostgresClient, logger: Logger) async throws -> [Month] {
        try await collect(client.query("SELECT month::text, sessions, roll FROM attendance.retention_months(\(cutoff)::date)", logger: logger))
    }

    /// Anonymises or drops every month before `cutoff`; the months treated.
    public static func apply(_ action: Action, before cutoff: Date, on client: PostgresClient, logger: Logger) async throws -> [Month] {
        try await collect(client.query("SELECT month::text, sessions, roll FROM attendance.apply_retention(\(cutoff)::date, \(action.rawValue))", logger: logger))
    }

    static func collect(_ rows: PostgresRowSequence) async throws -> [Month] {
        var months: [Month] = []
        for try await (month, sessions, roll) in rows.decode((String, Int64, Int64).self) {
            months.append(Month(month: String(month.prefix(7)), sessions: sessions, roll: roll))
        }
        return months
    }
}
