import Foundation
import InternalProtocol
import ServiceKit
import SessionTokens
import Synchronization

/// What this process remembers of the sessions beating here: each one's beat allowance (a
/// token bucket: a burst, then one beat per `refill`), when it was left (so a token issued
/// before the leave cannot beat again; a later join's token can), and its place — the bandwidth
/// allocation it holds and what the last renewal said of it. Forgotten a while after the session
/// falls silent; the lasting record is the store's.
final class LiveSessions: Sendable {
    enum Admission: Equatable {
        case admitted(PlaceChange?)
        /// Too many beats: try again after this many seconds.
        case tooMany(retryAfter: Int)
        /// This token's session was left after the token was issued.
        case left
    }

    /// What a renewal said the player must do, told with its beats.
    enum PlaceChange: Equatable {
        /// Its edge is draining or down: play from this allocation instead.
        case moved(Allocation, learnedAt: Date)
        /// Its place is gone (moved with nowhere to go, or expired): join the lesson again.
        case rejoin(afterSeconds: Int)
    }

    /// A session's allocation as of a renewal round.
    struct Held {
        var session: UUID
        var allocation: UUID
    }

    private struct Entry {
        var allowance: Double
        var refilledAt: Date
        var lastSeen: Date
        var leftAt: Date?
        var lessonEndsAt: Date
        /// The allocation the player pulls from (the newest token's, or where a move sent it).
        var allocation: UUID?
        /// When the token that set `allocation` was issued: an older token (another tab) does
        /// not take the place back.
        var placeIssuedAt: Date = .distantPast
        var placeChange: PlaceChange?
        /// Left, and its allocation not yet handed back.
        var releasePending = false
    }

    private let entries = Mutex<[UUID: Entry]>([:])
    let burst: Double
    let refillSeconds: Double
    /// How long a silent session is remembered (its leave longer: until its lesson ended).
    let memory: TimeInterval
    /// How long a move is repeated in the answers (a lost answer must not lose it).
    let moveRepeat: TimeInterval

    init(burst: Int, refill: Duration, memory: Duration = .seconds(900), moveRepeat: Duration) {
        self.burst = Double(burst)
        refillSeconds = refill.inSeconds
        self.memory = memory.inSeconds
        self.moveRepeat = moveRepeat.inSeconds
    }

    func admitBeat(_ claims: SessionClaims, now: Date) -> Admission {
        entries.withLock { entries in
            var entry = entries[claims.session] ?? Entry(allowance: burst, refilledAt: now, lastSeen: now, lessonEndsAt: claims.lessonEndsAt)
            if let leftAt = entry.leftAt, claims.issuedAt <= leftAt { return .left }
            entry.allowance = min(burst, entry.allowance + now.timeIntervalSince(entry.refilledAt) / refillSeconds)
            entry.refilledAt = now
            entry.lastSeen = now
            guard entry.allowance >= 1 else {
                entries[claims.session] = entry
                return .tooMany(retryAfter: Int(((1 - entry.allowance) * refillSeconds).rounded(.up)))
            }
            entry.allowance -= 1
            if claims.issuedAt > entry.placeIssuedAt {
                // A newer join: its allocation is the place now, whatever a renewal said of the old one.
                entry.allocation = claims.allocation
                entry.placeIssuedAt = claims.issuedAt
                entry.placeChange = nil
            }
            if case .moved(_, let learnedAt) = entry.placeChange, now.timeIntervalSince(learnedAt) > moveRepeat { entry.placeChange = nil }
            entries[claims.session] = entry
            return .admitted(entry.placeChange)
        }
    }

    /// The session is left: tokens issued up to `now` no longer beat, and its allocation is
    /// handed back with the next renewals. False when it already was (by this token or a later one).
    @discardableResult
    func leave(_ claims: SessionClaims, now: Date) -> Bool {
        entries.withLock { entries in
            var entry = entries[claims.session] ?? Entry(allowance: burst, refilledAt: now, lastSeen: now, lessonEndsAt: claims.lessonEndsAt)
            if let leftAt = entry.leftAt, claims.issuedAt <= leftAt { return false }
            entry.leftAt = now
            entry.lastSeen = now
            if entry.allocation == nil { entry.allocation = claims.allocation }
            entry.releasePending = true
            entries[claims.session] = entry
            return true
        }
    }

    // MARK: Leases

    /// The allocations of the sessions that beat within `within` and are not left: those whose
    /// leases the next renewal keeps.
    func held(now: Date, within: TimeInterval) -> [Held] {
        entries.withLock { entries in
            entries.compactMap { session, entry in
                guard entry.leftAt == nil, now.timeIntervalSince(entry.lastSeen) <= within, let allocation = entry.allocation else { return nil }
                if case .rejoin = entry.placeChange { return nil }
                return Held(session: session, allocation: allocation)
            }
        }
    }

    /// The allocations of sessions left since the last call, to release.
    func takeReleases() -> [UUID] {
        entries.withLock { entries in
            var released: [UUID] = []
            for (session, entry) in entries where entry.releasePending {
                if let allocation = entry.allocation { released.append(allocation) }
                entries[session]?.releasePending = false
            }
            return released
        }
    }

    /// What the renewal of `held` said; ignored when the session has changed place since.
    func renewed(_ held: Held, _ renewal: Renewal, now: Date, rejoinSpread: Int) {
        entries.withLock { entries in
            guard var entry = entries[held.session], entry.allocation == held.allocation else { return }
            switch renewal.state {
            case .renewed:
                return
            case .moved:
                guard let target = renewal.movedTo else { return }
                entry.allocation = target.allocationID
                entry.placeChange = .moved(target, learnedAt: now)
            case .lost:
                entry.placeChange = .rejoin(afterSeconds: max(1, Int((renewal.retryAfterSeconds ?? 1).rounded(.up))))
            case .unknown:
                // Expired while nobody renewed it (attendance or bandwidth was away): every such
                // player rejoins, spread over a beat so they do not all come back at once.
                entry.placeChange = .rejoin(afterSeconds: Int.random(in: 1...max(1, rejoinSpread)))
            }
            entries[held.session] = entry
        }
    }

    // MARK: Memory

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
                entry.releasePending || now.timeIntervalSince(entry.lastSeen) < memory
                    || (entry.leftAt != nil && now < entry.lessonEndsAt.addingTimeInterval(endGrace))
            }
            return before - entries.count
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
