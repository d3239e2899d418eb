import Foundation
import Hummingbird
import InternalProtocol
import ServiceKit

/// One lesson's attendance: a row per pupil on its roll, judged by its rules, a teacher's
/// override shown beside the computed status.
struct LessonReport: ResponseEncodable {
    struct Override: Encodable, Sendable {
        var status: AttendanceStatus
        var note: String
        var set_by: UUID
        var set_at: Date

        init(_ standing: StatusOverride) {
            status = standing.status
            note = standing.note
            set_by = standing.setBy
            set_at = standing.setAt
        }
    }

    struct Row: ResponseEncodable {
        var student_id: UUID
        var display_name: String
        var class_id: UUID?
        var class_name: String?
        /// The override's status where there is one, else the computed one.
        var status: AttendanceStatus
        var computed_status: AttendanceStatus
        var minutes_watched: Int
        var seconds_played: Int
        var first_join: Date?
        var last_seen: Date?
        var joins: Int
        var override: Override?
    }

    var lesson_id: UUID
    var course_id: UUID
    var title: String
    var starts_at: Date
    var ends_at: Date
    var lesson_minutes: Int
    /// Nothing more will change it but a teacher's override or new rules: the roll is kept and
    /// the last beats are in.
    var final: Bool
    var rules: AttendanceRules
    var rules_source: RulesSource
    var counts: StatusCounts
    var students: [Row]

    /// A minute after its end every player has sent its last beat (they beat every 30 s).
    static let settling: TimeInterval = 60

    init(
        roll: LessonRoll, kept: Bool, sessions: [Seat: SessionSummary], overrides: [Seat: StatusOverride],
        rules: AttendanceRules, source: RulesSource, watchedSecondsPerMinute: Int, now: Date = Date()
    ) {
        let lesson = roll.lesson
        lesson_id = lesson.id
        course_id = lesson.courseID
        title = lesson.title
        starts_at = lesson.startsAt
        ends_at = lesson.endsAt
        lesson_minutes = WatchedLesson.lessonMinutes(seconds: Standing.seconds(of: lesson))
        final = kept && now >= lesson.endsAt.addingTimeInterval(Self.settling)
        self.rules = rules
        rules_source = source
        counts = StatusCounts()
        students = roll.pupils.map { pupil in
            let seat = Seat(lesson: lesson.id, pupil: pupil.studentID)
            let standing = Standing(
                lesson: lesson, session: sessions[seat], override: overrides[seat], rules: rules, watchedSecondsPerMinute: watchedSecondsPerMinute
            )
            return Row(
                student_id: pupil.studentID, display_name: pupil.displayName, class_id: pupil.classID, class_name: pupil.className,
                status: standing.status, computed_status: standing.computed, minutes_watched: standing.watched.minutesWatched,
                seconds_played: standing.watched.secondsPlayed, first_join: standing.firstJoin, last_seen: standing.lastSeen, joins: standing.joins,
                override: standing.override.map(Override.init)
            )
        }
        for row in students { counts.count(row.status) }
    }

    static let csvHeader = [
        "student_id", "display_name", "class_name", "status", "computed_status", "minutes_watched", "lesson_minutes",
        "first_join", "last_seen", "joins", "override_note", "override_by", "override_at",
    ]

    /// The report as a spreadsheet, a row per pupil; times in RFC 3339 (UTC).
    var csv: SpreadsheetCSV {
        var file = SpreadsheetCSV(header: Self.csvHeader)
        for row in students {
            file.append([
                row.student_id.lowercased, row.display_name, row.class_name ?? "", row.status.rawValue, row.computed_status.rawValue,
                "\(row.minutes_watched)", "\(lesson_minutes)", row.first_join.map(RFC3339.format) ?? "", row.last_seen.map(RFC3339.format) ?? "",
                "\(row.joins)", row.override?.note ?? "", row.override?.set_by.lowercased ?? "", row.override.map { RFC3339.format($0.set_at) } ?? "",
            ])
        }
        return file
    }

    var csvFilename: String {
        let day = starts_at.formatted(Date.ISO8601FormatStyle().year().month().day())
        return "attendance-\(day)-\(lesson_id.lowercased.prefix(8)).csv"
    }
}
