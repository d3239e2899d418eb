import Foundation

/// A pupil's standing at one lesson. `excused` comes only from a teacher's override.
public enum AttendanceStatus: String, Codable, Sendable, CaseIterable {
    case present, late, partial, absent, excused
}

/// How a lesson's minutes are judged: per course, overridable per lesson, else these defaults.
public struct AttendanceRules: Codable, Sendable, Equatable {
    /// The share of the lesson's minutes a pupil must watch to be more than `partial`.
    public var watchedPercent: Int
    /// A first play later than this many minutes after the start is `late`.
    public var lateMinutes: Int

    /// 75%, not 80%: with 80% a pupil who starts 10 minutes into a 45-minute lesson can watch
    /// at most 35 minutes, below the 36 needed, so nobody in an ordinary lesson could be `late`.
    public static let defaults = AttendanceRules(watchedPercent: 75, lateMinutes: 10)
    public static let watchedPercentRange = 1...100
    public static let lateMinutesRange = 0...360

    public init(watchedPercent: Int, lateMinutes: Int) {
        self.watchedPercent = watchedPercent
        self.lateMinutes = lateMinutes
    }

    enum CodingKeys: String, CodingKey {
        case watchedPercent = "watched_percent"
        case lateMinutes = "late_minutes"
    }

    /// absent (nothing played) → partial (below the share) → late (the share, but started
    /// late) → present.
    public func judge(_ watched: WatchedLesson) -> AttendanceStatus {
        guard watched.secondsPlayed > 0 else { return .absent }
        // Whole minutes compared exactly: 75% of 45 minutes is 34 minutes (33.75 rounded up).
        if watched.minutesWatched * 100 < watchedPercent * watched.lessonMinutes { return .partial }
        if let first = watched.firstPlayedSecond, first > lateMinutes * 60 { return .late }
        return .present
    }
}

/// What the record says a pupil watched of a lesson.
public struct WatchedLesson: Sendable, Equatable {
    public var lessonMinutes: Int
    public var minutesWatched: Int
    public var secondsPlayed: Int
    public var firstPlayedSecond: Int?

    public init(lessonMinutes: Int, minutesWatched: Int, secondsPlayed: Int, firstPlayedSecond: Int?) {
        self.lessonMinutes = lessonMinutes
        self.minutesWatched = minutesWatched
        self.secondsPlayed = secondsPlayed
        self.firstPlayedSecond = firstPlayedSecond
    }

    /// A lesson's minutes, its last one counted even when short.
    public static func lessonMinutes(seconds: Int) -> Int { max(1, (seconds + 59) / 60) }

    public init(played: PlayedTime, lessonSeconds: Int, firstPlayedSecond: Int?, watchedSecondsPerMinute: Int) {
        self.init(
            lessonMinutes: Self.lessonMinutes(seconds: lessonSeconds), minutesWatched: played.watchedMinutes(threshold: watchedSecondsPerMinute),
            secondsPlayed: played.secondsPlayed, firstPlayedSecond: firstPlayedSecond
        )
    }
}
