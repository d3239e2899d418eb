import Foundation
import ServiceKit

/// API.md's bounds on lessons and series.
enum LessonRules {
    static let shortest: TimeInterval = 5 * 60
    static let longest: TimeInterval = 6 * 3600
    /// Lessons start at most two years ahead, and a series spans at most two years.
    static let horizon: TimeInterval = 731 * 86_400
    static let longestSeriesDays = 731

    static let title = TextRule.name(upTo: 200)
    static let subject = TextRule.name(upTo: 100)

    static func check(title: String) -> [Problem.FieldError] {
        Self.title.problem(with: title).map { [.init(field: "title", message: $0)] } ?? []
    }

    /// What is wrong with one lesson's times, named by the fields `starts_at` and `ends_at`.
    static func check(startsAt: Date, endsAt: Date, now: Date = Date()) -> [Problem.FieldError] {
        var errors: [Problem.FieldError] = []
        let length = endsAt.timeIntervalSince(startsAt)
        if length <= 0 {
            errors.append(.init(field: "ends_at", message: "must be after starts_at"))
        } else if length < shortest || length > longest {
            errors.append(.init(field: "ends_at", message: "a lesson lasts 5 minutes to 6 hours"))
        }
        if endsAt <= now { errors.append(.init(field: "ends_at", message: "must be in the future")) }
        if startsAt.timeIntervalSince(now) > horizon { errors.append(.init(field: "starts_at", message: "must be at most 2 years ahead")) }
        return errors
    }
}
