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
        var override: Override?
    }

    struct Counts: Encodable, Sendable {
        var present = 0, late = 0, partial = 0, absent = 0, excused = 0

        mutating func count(_ status: AttendanceStatus) {
            switch status {
            case .present: present += 1
            case .late: late += 1
            case .partial: partial += 1
            case .absent: absent += 1
            case .excused: excused += 1
            }
        }
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
    var counts: Counts
    var students: [Row]

    /// A minute after its end every player has sent its last beat (they beat every 30 s).
    static let settling: TimeInterval = 60

    init(
        roll: LessonRoll, kept: Bool, sessions: [UUID: SessionSummary], overrides: [UUID: StatusOverride],
        rules: AttendanceRules, source: RulesSource, watchedSecondsPerMinute: Int, now: Date = Date()
    ) {
        let lesson = roll.lesson
        let lessonSeconds = Int(lesson.endsAt.timeIntervalSince(lesson.startsAt).rounded())
        lesson_id = lesson.id
        course_id = lesson.courseID
        title = lesson.title
        starts_at = lesson.startsAt
        ends_at = lesson.endsAt
        lesson_minutes = max(1, (lessonSeconds + 59) / 60)
        final = kept && now >= lesson.endsAt.addingTimeInterval(Self.settling)
        self.rules = rules
        rules_source = source
        counts = Counts()
        students = roll.pupils.map { pupil in
            let session = sessions[pupil.studentID]
            let watched = WatchedLesson(
                played: session?.played ?? PlayedTime(minutes: []), lessonSeconds: lessonSeconds,
                firstPlayedSecond: session?.firstPlayedSecond, watchedSecondsPerMinute: watchedSecondsPerMinute
            )
            let computed = rules.judge(watched)
            let standing = overrides[pupil.studentID]
            return Row(
                student_id: pupil.studentID, display_name: pupil.displayName, class_id: pupil.classID, class_name: pupil.className,
                status: standing?.status ?? computed, computed_status: computed, minutes_watched: watched.minutesWatched,
                seconds_played: watched.secondsPlayed, first_join: session?.firstBeatAt, last_seen: session?.lastBeatAt,
                override: standing.map { Override(status: $0.status, note: $0.note, set_by: $0.setBy, set_at: $0.setAt) }
            )
        }
        for row in students { counts.count(row.status) }
    }

    static let csvHeader = [
        "student_id", "display_name", "class_name", "status", "computed_status", "minutes_watched", "lesson_minutes",
        "first_join", "last_seen", "override_note", "override_by", "override_at",
    ]

    /// The report as a spreadsheet, a row per pupil; times in RFC 3339 (UTC).
    var csv: SpreadsheetCSV {
        var file = SpreadsheetCSV(header: Self.csvHeader)
        for row in students {
            file.append([
                row.student_id.lowercased, row.display_name, row.class_name ?? "", row.status.rawValue, row.computed_status.rawValue,
                "\(row.minutes_watched)", "\(lesson_minutes)", row.first_join.map(RFC3339.format) ?? "", row.last_seen.map(RFC3339.format) ?? "",
                row.override?.note ?? "", row.override?.set_by.lowercased ?? "", row.override.map { RFC3339.format($0.set_at) } ?? "",
            ])
        }
        return file
    }

    var csvFilename: String {
        let day = starts_at.formatted(Date.ISO8601FormatStyle().year().month().day())
        return "attendance-\(day)-\(lesson_id.lowercased.prefix(8)).csv"
    }
}
