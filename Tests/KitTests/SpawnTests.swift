import Foundation
import Platform
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a started program inherits from us: its standard streams and nothing else.
@Suite struct SpawnTests {
    /// A listening socket or a connection left in a child keeps a stopped server's port taken
    /// and a closed connection open (its peer never sees the end).
    @Test func aStartedProgramHoldsNoneOfOurDescriptors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cc-spawn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let held = open(folder.appendingPathComponent("held").path, O_CREAT | O_WRONLY, 0o600)
        #expect(held > 2)
        defer { close(held) }

        // `ls` lists its own descriptors: 0–2, and the one it reads the folder through.
        let listed = try Shell.run(["ls", "-1", "/proc/self/fd"]).split(separator: "\n").compactMap { Int32($0) }
        #expect(!listed.contains(held), "the child holds our descriptor \(held): \(listed)")
        #expect(listed.filter { $0 > 2 }.count <= 1, "\(listed)")
    }
}
