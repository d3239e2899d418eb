import Foundation
import Scheduling
import ServiceKit
import Store

/// The platform's generated secrets, made once into `<data>/secrets` (mode 0600) and reused.
public struct Secrets: Sendable {
    public let folder: String

    public init(dataFolder: String) throws {
        folder = "\(dataFolder)/secrets"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
    }

    public var signingKeyFile: String { "\(folder)/signing-key.pem" }
    public var postgresPasswordFile: String { "\(folder)/postgres-password" }
    public var serviceTokenFile: String { "\(folder)/service-token" }
    public func databasePasswordFile(for role: ServiceRole) -> String { "\(folder)/database-password-\(role.service)" }

    /// Creates the ones that do not exist yet.
    public func ensure() throws {
        try writeOnce(signingKeyFile) { TokenIssuer.newSigningKeyPEM() }
        try writeOnce(postgresPasswordFile) { Self.randomToken() }
        try writeOnce(serviceTokenFile) { Self.randomToken() }
        for service in ServiceName.allCases {
            try writeOnce(databasePasswordFile(for: ServiceRole(service: service.rawValue))) { Self.randomToken() }
        }
    }

    public func read(_ file: String) throws -> String {
        try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func writeOnce(_ path: String, _ make: () -> String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        guard FileManager.default.createFile(atPath: path, contents: Data(make().utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    static func randomToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
