import Foundation
import ServiceKit

/// API.md's bounds on lessons and series.
enum LessonRules {
    static let shortest: TimeInterval = 5 * 60
    static let longest: TimeInterval = 6 * 3600
    /// Lessons start at most two years ahead, and a series spans at most two years.
    static let horizon: TimeInterval = 731 * 86_400
    static let longestSeriesDays = 731

    static func check(title: String) -> [Problem.FieldError] {
        title.isEmpty || title.count > 200 ? [.init(field: "title", message: "must be 1 to 200 characters")] : []
    }

    /// What is wrong with one lesson's times, named by the fields a caller sent.
    static func check(startsAt: Date, endsAt: Date, now: Date = Date(), startField: String = "starts_at", endField: String = "ends_at") -> [Problem.FieldError] {
        var errors: [Problem.FieldError] = []
        let length = endsAt.timeIntervalSince(startsAt)
        if length <= 0 {
            errors.append(.init(field: endField, message: "must be after \(startField)"))
        } else if length < shortest || length > longest {
            errors.append(.init(field: endField, message: "a lesson lasts 5 minutes to 6 hours"))
        }
        if endsAt <= now { errors.append(.init(field: endField, message: "must be in the future")) }
        if startsAt.timeIntervalSince(now) > horizon { errors.append(.init(field: startField, message: "must be at most 2 years ahead")) }
        return errors
    }
}
