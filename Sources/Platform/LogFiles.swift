import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The platform's log files: readable by their owner and group only (they hold usernames and
/// client addresses), and kept below a size so `up` cannot fill a disk over a school term.
public struct LogFiles: Sendable {
    public static let mode: Int = 0o640

    public let folder: String
    /// A log beyond this size is rotated.
    public let maximumBytes: Int
    /// How many rotated copies (`name.log.1` … `.N`) are kept.
    public let keep: Int
    /// Logs outside `folder` (PostgreSQL's, in its own folder).
    public let others: [String]

    public init(folder: String, maximumBytes: Int, keep: Int, others: [String] = []) {
        self.folder = folder
        self.maximumBytes = maximumBytes
        self.keep = keep
        self.others = others
    }

    /// Makes the folder (0750) and `file` (0640) if they are missing, and tightens them if not.
    public static func prepare(_ file: String) throws {
        let fm = FileManager.default
        let folder = (file as NSString).deletingLastPathComponent
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try fm.setAttributes([.posixPermissions: 0o750], ofItemAtPath: folder)
        if !fm.fileExists(atPath: file) { fm.createFile(atPath: file, contents: nil) }
        try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
    }

    /// Every log in the folder (and the others) larger than `maximumBytes`, rotated; returns their paths.
    @discardableResult
    public func rotateOversized() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let files = names.filter { $0.hasSuffix(".log") }.map { "\(folder)/\($0)" } + others
        var rotated: [String] = []
        for file in files where Self.size(of: file) > maximumBytes {
            if (try? Self.rotate(file, keep: keep)) != nil { rotated.append(file) }
        }
        return rotated
    }

    /// `file` becomes `file.1` (older copies move up, the oldest beyond `keep` goes) and starts
    /// empty. Copy-then-truncate, because the writers (nginx, PostgreSQL, the services) hold the
    /// file open with O_APPEND and would go on writing into a renamed file: after the truncation
    /// their next write lands at the new end. Lines written between the copy and the truncation
    /// (microseconds) are lost; nothing else is.
    public static func rotate(_ file: String, keep: Int) throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: "\(file).\(keep)")
        if keep > 1 {
            for index in stride(from: keep - 1, through: 1, by: -1) where fm.fileExists(atPath: "\(file).\(index)") {
                try fm.moveItem(atPath: "\(file).\(index)", toPath: "\(file).\(index + 1)")
            }
        }
        try fm.copyItem(atPath: file, toPath: "\(file).1")
        try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: "\(file).1")
        guard truncate(file, 0) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file])
        }
    }

    static func size(of file: String) -> Int {
        var info = stat()
        return stat(file, &info) == 0 ? Int(info.st_size) : 0
    }
}
