import Foundation
import ServiceKit
import SessionTokens

/// The attendance service's settings beyond the shared ones.
public struct AttendanceConfig: Sendable {
    public var service: ServiceSettings
    public var tokenKey: SessionTokenKey
    /// Signs a move's playback URL (`switch_to`), as broadcast signs the join's.
    public var playbackKey: PlaybackSigningKey
    /// How often a player beats (the answer's `heartbeat_seconds`).
    public var heartbeatSeconds = 30
    /// A minute counts as watched from this many of its seconds played.
    public var watchedSecondsPerMinute = 30
    /// After the lesson's scheduled end plus this, beats are answered `ended`.
    public var endGrace: Duration = .seconds(600)
    /// A session without a beat for this long is no longer watching.
    public var idleTimeout: Duration = .seconds(90)
    /// How long a beat waits for its batch to commit before it is told to retry (503).
    public var commitTimeout: Duration = .seconds(2)
    /// How far a claim may run ahead of the server's clock, or start before the token was
    /// issued (players' clocks and buffers are not exact).
    public var claimSlackSeconds = 5
    /// Beats a session may send at once, and how often one more is allowed.
    public var beatBurst = 6
    public var beatRefill: Duration = .seconds(5)
    /// Beats held unwritten before new ones are refused (503) rather than queued.
    public var pendingBeatsLimit = 200_000
    /// How often the leases of the sessions beating are renewed (bandwidth's last 90 s) and those
    /// of sessions left released.
    public var leaseRenewalInterval: Duration = .seconds(15)
    /// How long a move (`switch_to`) is repeated in the answers, so a lost answer loses nothing.
    public var moveRepeat: Duration = .seconds(90)
    /// How often each process reads the lessons ended early (cancelled), to answer `ended`.
    public var lessonEndsRefresh: Duration = .seconds(5)
    /// How often the rolls of lessons that ended are kept (a report asked for sooner keeps its own).
    public var rollKeepingInterval: Duration = .seconds(20)
    /// How far back a service that has never kept a roll looks for ended lessons.
    public var rollFirstLookBack: TimeInterval = 86_400

    public init(service: ServiceSettings, tokenKey: SessionTokenKey, playbackKey: PlaybackSigningKey) {
        self.service = service
        self.tokenKey = tokenKey
        self.playbackKey = playbackKey
    }

    public static func fromEnvironment(_ env: ConfigReader, service: ServiceSettings) throws -> AttendanceConfig {
        let key = try env.requiredSecret(ServiceDescriptor.Secret.sessionTokenKey.variable)
        let playbackKey = try env.requiredSecret(ServiceDescriptor.Secret.playbackSigningKey.variable)
        var config = AttendanceConfig(service: service, tokenKey: SessionTokenKey(secret: key), playbackKey: PlaybackSigningKey(secret: playbackKey))
        config.heartbeatSeconds = try env.int("CLOUDCLASS_HEARTBEAT_SECONDS", default: config.heartbeatSeconds, in: 5...300)
        config.watchedSecondsPerMinute = try env.int("CLOUDCLASS_WATCHED_SECONDS_PER_MINUTE", default: config.watchedSecondsPerMinute, in: 1...60)
        return config
    }
}
