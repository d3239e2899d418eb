import Foundation
import Logging

/// One JSON object per line on standard error: what log collectors (journald, Loki, …) parse
/// without guessing. `CLOUDCLASS_LOG_FORMAT=text` switches to swift-log's plain lines.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata { fields[key] = value.description }
        for (key, value) in event.metadata ?? [:] { fields[key] = value.description }
        fields["ts"] = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        fields["level"] = event.level.rawValue
        fields["logger"] = label
        fields["msg"] = event.message.description
        guard var line = try? JSONEncoder.sortedKeys.encode(fields) else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)
    }

    /// Sets up swift-log once per process from `CLOUDCLASS_LOG_FORMAT` and `CLOUDCLASS_LOG_LEVEL`.
    public static func bootstrap(_ config: ConfigReader = ConfigReader()) {
        let level = config.string("CLOUDCLASS_LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info
        if config.string("CLOUDCLASS_LOG_FORMAT") == "text" {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        }
    }
}
