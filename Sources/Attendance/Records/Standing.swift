import Foundation
import InternalProtocol

/// How one pupil stood at one lesson: what their sessions say they watched, judged by the
/// lesson's rules, and a teacher's override over that where there is one.
struct Standing: Sendable {
    var status: AttendanceStatus
    var computed: AttendanceStatus
    var watched: WatchedLesson
    var firstJoin: Date?
    var lastSeen: Date?
    var joins: Int
    var override: StatusOverride?

    init(lesson: LessonInfo, session: SessionSummary?, override: StatusOverride?, rules: AttendanceRules, watchedSecondsPerMinute: Int) {
        watched = WatchedLesson(
            played: session?.played ?? PlayedTime(minutes: []), lessonSeconds: Self.seconds(of: lesson),
            firstPlayedSecond: session?.firstPlayedSecond, watchedSecondsPerMinute: watchedSecondsPerMinute
        )
        computed = rules.judge(watched)
        status = override?.status ?? computed
        firstJoin = session?.firstCame
        lastSeen = session?.lastBeatAt
        joins = session?.joinsSeen ?? 0
        self.override = override
    }

    static func seconds(of lesson: LessonInfo) -> Int { Int(lesson.endsAt.timeIntervalSince(lesson.startsAt).rounded()) }
}

/// Statuses counted, and the attendance rate they make: present or late over the lessons a
/// pupil was not excused from (nil when there is none).
struct StatusCounts: Encodable, Sendable, Equatable {
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

    var total: Int { present + late + partial + absent + excused }

    var attendanceRate: Double? {
        let expected = total - excused
        guard expected > 0 else { return nil }
        return (Double(present + late) / Double(expected) * 10_000).rounded() / 10_000
    }
}
