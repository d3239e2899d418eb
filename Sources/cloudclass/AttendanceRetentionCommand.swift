import ArgumentParser
import Attendance
import Foundation
import Logging
import Platform
import ServiceKit
import Store

/// `cloudclass attendance-retention`: the retention policy for attendance's records (minors'
/// data), run by an operator, never by the service. A dry run unless `--apply`.
struct AttendanceRetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attendance-retention",
        abstract: "Anonymise or drop attendance records (viewing sessions, rolls, overrides) older than some years, a month at a time.",
        discussion: """
            Months are UTC calendar months of the lessons' starts; a month is old when it ends before \
            the first of this month minus --keep-years. Without --apply, lists what would be treated. \
            Connects to DATABASE_URL (a superuser), else to the cluster of the platform in --data.
            """
    )

    @Option(help: "Keep this many whole years of records (1 or more).")
    var keepYears: Int
    @Option(help: "anonymise (pupils unlinkable, rates kept) or drop (rows gone).")
    var action: String
    @Flag(help: "Do it (otherwise: a dry run).")
    var apply = false
    @Option(help: "The platform's data folder, when DATABASE_URL is not set (default: CLOUDCLASS_DATA or ./data).")
    var data: String?

    func validate() throws {
        guard keepYears >= 1 else { throw ValidationError("--keep-years must be 1 or more.") }
        guard AttendanceRetention.Action(rawValue: action) != nil else { throw ValidationError("--action is anonymise or drop.") }
    }

    func run() async throws {
        let logger = Logger(label: "cloudclass.retention")
        let env = ConfigReader()
        let settings: DatabaseSettings
        if let url = env.string("DATABASE_URL") {
            settings = try DatabaseSettings(url: url)
        } else {
            let folder = data ?? env.string("CLOUDCLASS_DATA") ?? "data"
            let secrets = try Secrets(dataFolder: folder)
            settings = try LocalPostgres(dataFolder: folder).settings(password: try secrets.read(secrets.postgresPasswordFile))
        }
        let cutoff = AttendanceRetention.cutoff(keepingYears: keepYears)
        let chosen = AttendanceRetention.Action(rawValue: action)!
        let months = try await settings.withClient(logger: logger) { client in
            apply
                ? try await AttendanceRetention.apply(chosen, before: cutoff, on: client, logger: logger)
                : try await AttendanceRetention.months(before: cutoff, on: client, logger: logger)
        }
        let verb = apply ? (chosen == .drop ? "dropped" : "anonymised") : "would be \(chosen == .drop ? "dropped" : "anonymised")"
        print("months before \(RFC3339.format(cutoff).prefix(10)) \(verb): \(months.count)")
        for month in months { print("  \(month.month): \(month.sessions) sessions, \(month.roll) roll rows") }
    }
}
