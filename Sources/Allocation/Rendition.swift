/// One HLS playlist of a lesson at one quality. The playback URL names one rendition, so what an
/// allocation accounts is what the player pulls, and a change of rendition is a new allocation.
public struct Rendition: Sendable, Hashable, Codable {
    public var name: String
    /// What a viewer of this rendition pulls, in Mbit/s.
    public var bitrate: Double
    /// Audio-only is the last resort, after every video rendition (and another network).
    public var isVideo: Bool

    public init(name: String, bitrate: Double, isVideo: Bool = true) {
        self.name = name
        self.bitrate = bitrate
        self.isVideo = isVideo
    }

    /// Best first: 1080p 3 Mbit/s, 720p 1.5, 480p 0.8, audio 64 kbit/s.
    public static let standard: [Rendition] = [
        Rendition(name: "1080p", bitrate: 3.0),
        Rendition(name: "720p", bitrate: 1.5),
        Rendition(name: "480p", bitrate: 0.8),
        Rendition(name: "audio", bitrate: 0.064, isVideo: false),
    ]
}

/// How the allocator searches, step by step; every figure configurable.
public struct AllocationPolicy: Sendable {
    /// Best first; the video renditions come before any audio-only one.
    public var renditions: [Rendition] = Rendition.standard
    /// How many of the nearest regions (by distance between capitals) may serve a viewer on
    /// their own network before the viewer is stepped down a rendition.
    public var nearbyRegions = 3
    /// An edge already carrying the lesson is preferred unless it runs more than this far above
    /// its pool's mean utilisation.
    public var affinitySlack = 0.10
    /// May a viewer be served from another operator's network (slow and costly) before refusal?
    public var crossNetwork = true
    /// What a refusal asks the player to wait before trying again.
    public var retryAfterSeconds = 10.0
    /// Pool utilisations from which the best renditions stop being handed out to new viewers:
    /// at 80% full the best goes, at 90% the second too. When a morning's demand outruns the
    /// fleet, everyone then gets watchable video instead of the first comers 1080p and the last
    /// ones a refusal.
    public var stepDownAt: [Double] = [0.80, 0.90]

    public init() {}
}
