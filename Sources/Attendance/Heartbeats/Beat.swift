import Foundation
import ServiceKit
import SessionTokens

/// A heartbeat's body: what the player played since its last acknowledged beat, as ranges of
/// lesson seconds `[from, to)` (second 0 is the lesson's scheduled start). A beat that was not
/// answered is sent again with the next one's ranges, so a lost beat loses nothing, and the
/// union makes the repetition harmless. An empty list says "still here, paused".
struct BeatBody: Decodable {
    var played: [[Int]]
}

/// A beat as checked: the seconds it adds and where they start.
struct CheckedBeat: Sendable {
    var played: PlayedTime
    var firstSecond: Int?

    static let mostRanges = 120

    /// What the server's clock allows: nothing past now (plus a little slack), nothing before
    /// the token was issued (minus that slack), nothing outside the lesson. A beat claiming any
    /// of that is refused whole, naming the range.
    init(_ body: BeatBody, claims: SessionClaims, now: Date, slackSeconds: Int) throws {
        guard body.played.count <= Self.mostRanges else {
            throw Problem.invalid(field: "played", "at most \(Self.mostRanges) ranges a beat")
        }
        let lessonSeconds = Int(claims.lessonEndsAt.timeIntervalSince(claims.lessonStartsAt))
        let earliest = Int(claims.issuedAt.timeIntervalSince(claims.lessonStartsAt).rounded(.down)) - slackSeconds
        let latest = Int(now.timeIntervalSince(claims.lessonStartsAt).rounded(.up)) + slackSeconds
        var errors: [Problem.FieldError] = []
        var played = PlayedTime(lessonSeconds: lessonSeconds)
        var firstSecond: Int?
        for (index, range) in body.played.enumerated() {
            let field = "played[\(index)]"
            guard range.count == 2 else {
                errors.append(.init(field: field, message: "must be [from, to] in lesson seconds"))
                continue
            }
            let (from, to) = (range[0], range[1])
            if from < 0 || to > lessonSeconds {
                errors.append(.init(field: field, message: "must lie within the lesson's seconds 0…\(lessonSeconds)"))
            } else if from >= to {
                errors.append(.init(field: field, message: "must end after it starts"))
            } else if to > latest {
                errors.append(.init(field: field, message: "claims seconds not yet broadcast (the lesson is at second \(latest - slackSeconds))"))
            } else if from < earliest {
                errors.append(.init(field: field, message: "claims seconds before this session's token was issued (second \(earliest + slackSeconds))"))
            } else {
                played.add(from..<to)
                firstSecond = min(firstSecond ?? from, from)
            }
        }
        guard errors.isEmpty else { throw Problem.invalid(Array(errors.prefix(10))) }
        self.played = played
        self.firstSecond = firstSecond
    }
}
