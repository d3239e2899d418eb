import Foundation

/// What an edge served, read from its nginx access log (`log_format edge` in
/// Deploy/nginx/edge.conf: `$msec $session $body_bytes_sent $status $stream $cache_status`):
/// the bytes sent and the playback sessions seen, from the lines appended since the last read.
/// A rotated or truncated log is followed from its start.
public struct AccessLogMeter: Sendable {
    public let path: String
    /// A session counts as watching while it fetched anything this recently (a player asks for
    /// its playlist every second or two).
    public let viewerWindow: Double
    private var offset: UInt64 = 0
    private var inode: UInt64?
    /// The file's first bytes: a new file can reuse the old one's inode.
    private var head = Data()
    private var partialLine = Data()
    private var lastSeen: [String: Double] = [:]

    public init(path: String, viewerWindow: Double = 10) {
        self.path = path
        self.viewerWindow = viewerWindow
    }

    public struct Reading: Sendable, Equatable {
        public var bytes: UInt64
        public var requests: Int
        /// Sessions that fetched something within the viewer window.
        public var viewers: Int

        public init(bytes: UInt64, requests: Int, viewers: Int) {
            self.bytes = bytes
            self.requests = requests
            self.viewers = viewers
        }
    }

    /// Reads what was appended since the last call; `now` is seconds since the epoch.
    public mutating func read(now: Double) -> Reading {
        var reading = Reading(bytes: 0, requests: 0, viewers: 0)
        if let data = appended() {
            partialLine.append(data)
            if let lastNewline = partialLine.lastIndex(of: UInt8(ascii: "\n")) {
                let complete = partialLine[partialLine.startIndex...lastNewline]
                partialLine = Data(partialLine[partialLine.index(after: lastNewline)...])
                for line in complete.split(separator: UInt8(ascii: "\n")) {
                    guard let entry = Self.parse(line) else { continue }
                    reading.bytes += entry.bytes
                    reading.requests += 1
                    if (200..<400).contains(entry.status) { lastSeen[entry.session] = max(lastSeen[entry.session] ?? 0, entry.time) }
                }
            }
        }
        lastSeen = lastSeen.filter { now - $0.value <= viewerWindow }
        reading.viewers = lastSeen.count
        return reading
    }

    struct Entry {
        var time: Double
        var session: String
        var bytes: UInt64
        var status: Int
    }

    static func parse(_ line: Data.SubSequence) -> Entry? {
        let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard fields.count >= 4, let time = Double(String(decoding: fields[0], as: UTF8.self)),
            let bytes = UInt64(String(decoding: fields[2], as: UTF8.self)), let status = Int(String(decoding: fields[3], as: UTF8.self))
        else { return nil }
        return Entry(time: time, session: String(decoding: fields[1], as: UTF8.self), bytes: bytes, status: status)
    }

    /// The bytes appended since the last read, following a rotation (another file: a new
    /// inode or other first bytes) or a truncation from the new file's start; nil when the log
    /// is not there (yet).
    private mutating func appended() -> Data? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = (attributes[.size] as? NSNumber)?.uint64Value, let handle = FileHandle(forReadingAtPath: path)
        else { return nil }
        defer { try? handle.close() }
        let fileInode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value
        let fileHead = (try? handle.read(upToCount: 64)) ?? Data()
        let common = min(fileHead.count, head.count)
        if fileInode != inode || size < offset || fileHead.prefix(common) != head.prefix(common) {
            inode = fileInode
            offset = 0
            partialLine = Data()
        }
        head = fileHead
        guard size > offset else { return nil }
        do {
            try handle.seek(toOffset: offset)
            // At most 64 MiB a read: a backlog is caught up over a few reads.
            let data = try handle.read(upToCount: Int(min(size - offset, 64 << 20))) ?? Data()
            offset += UInt64(data.count)
            return data
        } catch {
            return nil
        }
    }
}

/// The machine's CPU use from /proc/stat, in percent of one core (so 0 to 100 × cores), as
/// the fleet's report takes it.
public struct CPUMeter: Sendable {
    private var last: (busy: UInt64, total: UInt64)?

    public init() {}

    public mutating func read() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let first = text.split(separator: "\n").first else { return 0 }
        let values = first.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard values.count >= 5 else { return 0 }
        let total = values.reduce(0, +)
        let idle = values[3] + values[4]
        let now = (busy: total - idle, total: total)
        defer { last = now }
        guard let last, now.total > last.total else { return 0 }
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
        return Double(now.busy - last.busy) / Double(now.total - last.total) * 100 * cores
    }
}
