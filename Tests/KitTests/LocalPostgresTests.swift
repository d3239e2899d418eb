import Foundation
import Platform
import Testing

@Suite struct LocalPostgresTests {
    /// The socket folder of a data folder with a long path lives in /tmp, which a reboot
    /// empties; made again at the next start, it was left open to every local user.
    @Test func aRecreatedSocketFolderIsAsPrivateAsTheFirst() throws {
        let folder = "/tmp/cc-socket-test-\(getpid())/" + String(repeating: "long-path-", count: 8)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "/tmp/cc-socket-test-\(getpid())")
        let cluster = try LocalPostgres(dataFolder: folder)
        defer {
            try? cluster.stop()
            try? FileManager.default.removeItem(atPath: "/tmp/cc-socket-test-\(getpid())")
            try? FileManager.default.removeItem(atPath: cluster.socketDirectory)
            try? FileManager.default.removeItem(atPath: cluster.root)
        }
        #expect(cluster.socketDirectory.hasPrefix("/tmp/cloudclass-"))
        try cluster.create(superuserPassword: nil)
        try cluster.start()
        try cluster.stop()
        try FileManager.default.removeItem(atPath: cluster.socketDirectory)
        try cluster.start()
        let mode = try (FileManager.default.attributesOfItem(atPath: cluster.socketDirectory)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o700)
    }
}
