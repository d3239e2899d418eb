import Foundation
import Platform
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct LogFilesTests {
    func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("logs-\(UUID())").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// A writer holding the log open with O_APPEND (as nginx and the services do) goes on
    /// writing at the start of the emptied file; what it wrote before is in `.1`.
    @Test func anOversizedLogIsRotatedUnderItsOpenWriter() throws {
        let logs = try folder()
        let file = "\(logs)/scheduling.log"
        try LogFiles.prepare(file)
        #expect(try mode(file) == 0o640)
        #expect(try mode(logs) == 0o750)
        let writer = open(file, O_WRONLY | O_APPEND)
        defer { close(writer) }
        let before = String(repeating: "x", count: 2000) + "\n"
        _ = before.withCString { write(writer, $0, strlen($0)) }

        let rotation = LogFiles(folder: logs, maximumBytes: 1000, keep: 2)
        #expect(rotation.rotateOversized() == [file])
        _ = "after\n".withCString { write(writer, $0, strlen($0)) }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "after\n")
        #expect(try String(contentsOfFile: "\(file).1", encoding: .utf8) == before)
        #expect(try mode("\(file).1") == 0o640)
        #expect(rotation.rotateOversized().isEmpty, "small again")

        // Older copies move up; beyond `keep` the oldest goes.
        for round in 0..<3 {
            _ = (String(repeating: "\(round)", count: 1500) + "\n").withCString { write(writer, $0, strlen($0)) }
            rotation.rotateOversized()
        }
        #expect(try String(contentsOfFile: "\(file).1", encoding: .utf8).hasPrefix("2"))
        #expect(try String(contentsOfFile: "\(file).2", encoding: .utf8).hasPrefix("1"))
        #expect(!FileManager.default.fileExists(atPath: "\(file).3"))
    }
}
