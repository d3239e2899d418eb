import Foundation
import Hummingbird
import ServiceKit
import SessionTokens

/// The answer to a beat: when to beat next, and whether the lesson is over.
struct BeatAnswer: ResponseEncodable {
    var heartbeat_seconds: Int
    var ended: Bool?
}

/// `POST /api/v1/sessions/{id}/heartbeat` and `…/leave`: the busiest path of the platform.
/// A beat is checked by its token alone (no lookup), merged into the journal, and answered only
/// once the batch holding it has committed.
struct HeartbeatsController: Sendable {
    let config: AttendanceConfig
    let journal: SessionJournal
    let live: LiveSessions

    func register(on routes: RouteTable) {
        let holders = Callers.custom("session", SessionAuthenticator(key: config.tokenKey))
        routes.post("/api/v1/sessions/:id/heartbeat", for: holders, use: beat)
        routes.post("/api/v1/sessions/:id/leave", for: holders, use: leave)
    }

    @Sendable func beat(_ request: Request, context: CallerContext<SessionHolder>) async throws -> BeatAnswer {
        let claims = context.caller.claims
        let now = Date()
        let body = try await request.decodeJSON(as: BeatBody.self, context: context)
        let beat = try CheckedBeat(body, claims: claims, now: now, slackSeconds: config.claimSlackSeconds)
        switch live.admitBeat(claims, now: now) {
        case .left:
            throw Problem(.gone, detail: "This viewing session was left; join the lesson again to go on watching.")
        case .tooMany(let retryAfter):
            throw Problem.retryLater(.tooManyRequests, after: Double(retryAfter), detail: "Too many beats for this session; beat every \(config.heartbeatSeconds) s.")
        case .admitted:
            break
        }
        try await durably(SessionWrite(claims: claims, at: now, played: beat.played, firstSecond: beat.firstSecond, leaving: false))
        let ended = now > claims.lessonEndsAt.addingTimeInterval(config.endGrace.seconds)
        return BeatAnswer(heartbeat_seconds: config.heartbeatSeconds, ended: ended ? true : nil)
    }

    @Sendable func leave(_ request: Request, context: CallerContext<SessionHolder>) async throws -> HTTPResponse.Status {
        let claims = context.caller.claims
        let now = Date()
        // Leaving twice changes nothing and says so the same way.
        guard live.leave(claims, now: now) else { return .noContent }
        try await durably(SessionWrite(claims: claims, at: now, played: nil, firstSecond: nil, leaving: true))
        return .noContent
    }

    /// Recorded, then waited for until its batch committed; 503 when the store is behind.
    func durably(_ write: SessionWrite) async throws {
        guard !journal.isFull else {
            throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "Attendance is catching up with its store; send this beat again.")
        }
        let sequence = journal.record(write)
        guard await journal.committed(sequence, within: config.commitTimeout) else {
            throw Problem.retryLater(.serviceUnavailable, after: 1, detail: "The beat could not be stored in time; send it again with the next one.")
        }
    }
}

typealias SessionJournal = GroupCommitJournal<SessionWrite>

extension Duration {
    var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
