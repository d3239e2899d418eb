import Foundation
import SessionTokens
import Synchronization

/// What this process remembers of the sessions beating here: each one's beat allowance (a
/// token bucket: a burst, then one beat per `refill`) and when it was left, so a token issued
/// before the leave cannot beat again (a later join's token can). Forgotten a while after the
/// session falls silent; the lasting record is the store's.
final class LiveSessions: Sendable {
    enum Admission: Equatable {
        case admitted
        /// Too many beats: try again after this many seconds.
        case tooMany(retryAfter: Int)
        /// This token's session was left after the token was issued.
        case left
    }

    private struct Entry {
        var allowance: Double
        var refilledAt: Date
        var lastSeen: Date
        var leftAt: Date?
        var lessonEndsAt: Date
    }

    private let entries = Mutex<[UUID: Entry]>([:])
    let burst: Double
    let refillSeconds: Double
    /// How long a silent session is remembered (its leave longer: until its lesson ended).
    let memory: TimeInterval

    init(burst: Int, refill: Duration, memory: Duration = .seconds(900)) {
        self.burst = Double(burst)
        refillSeconds = Double(refill.components.seconds) + Double(refill.components.attoseconds) / 1e18
        self.memory = Double(memory.components.seconds)
    }

    func admitBeat(_ claims: SessionClaims, now: Date) -> Admission {
        entries.withLock { entries in
            var entry = entries[claims.session]
                ?? Entry(allowance: burst, refilledAt: now, lastSeen: now, lessonEndsAt: claims.lessonEndsAt)
            if let leftAt = entry.leftAt, claims.issuedAt <= leftAt { return .left }
            entry.allowance = min(burst, entry.allowance + now.timeIntervalSince(entry.refilledAt) / refillSeconds)
            entry.refilledAt = now
            entry.lastSeen = now
            guard entry.allowance >= 1 else {
                entries[claims.session] = entry
                return .tooMany(retryAfter: Int(((1 - entry.allowance) * refillSeconds).rounded(.up)))
            }
            entry.allowance -= 1
            entries[claims.session] = entry
            return .admitted
        }
    }

    /// The session is left: tokens issued up to `now` no longer beat. False when it already was
    /// (by this token or a later one).
    @discardableResult
    func leave(_ claims: SessionClaims, now: Date) -> Bool {
        entries.withLock { entries in
            var entry = entries[claims.session]
                ?? Entry(allowance: burst, refilledAt: now, lastSeen: now, lessonEndsAt: claims.lessonEndsAt)
            if let leftAt = entry.leftAt, claims.issuedAt <= leftAt { return false }
            entry.leftAt = now
            entry.lastSeen = now
            entries[claims.session] = entry
            return true
        }
    }

    /// Leaves remembered from the store after a restart.
    func restoreLeaves(_ leaves: [(session: UUID, leftAt: Date, lessonEndsAt: Date)], now: Date) {
        entries.withLock { entries in
            for leave in leaves where entries[leave.session] == nil {
                entries[leave.session] = Entry(allowance: burst, refilledAt: now, lastSeen: leave.leftAt, leftAt: leave.leftAt, lessonEndsAt: leave.lessonEndsAt)
            }
        }
    }

    /// Forgets sessions silent for `memory`, keeping a leave until its lesson has ended.
    func forgetSilent(now: Date, endGrace: TimeInterval) -> Int {
        entries.withLock { entries in
            let before = entries.count
            entries = entries.filter { _, entry in
                now.timeIntervalSince(entry.lastSeen) < memory || (entry.leftAt != nil && now < entry.lessonEndsAt.addingTimeInterval(endGrace))
            }
            return before - entries.count
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
