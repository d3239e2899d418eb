import Foundation
import ServiceKit
import Store

/// The platform's generated secrets, made once into `<data>/secrets` (mode 0600) and reused:
/// those the services declare, the service token, the database passwords, and the access-token
/// public key beside its private half.
public struct Secrets: Sendable {
    public let folder: String

    public init(dataFolder: String) throws {
        folder = "\(dataFolder)/secrets"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
    }

    public func file(_ secret: ServiceDescriptor.Secret) -> String { "\(folder)/\(secret.name)" }
    public var publicKeyFile: String { "\(folder)/access-token-public-key.pem" }
    public var postgresPasswordFile: String { "\(folder)/postgres-password" }
    public func databasePasswordFile(for role: ServiceRole) -> String { "\(folder)/database-password-\(role.service)" }

    /// Creates the ones that do not exist yet, each name once however many services declare it.
    public func ensure(for services: [ServiceDescriptor]) throws {
        try writeOnce(postgresPasswordFile) { Self.randomToken() }
        for secret in ServiceDescriptor.sharedSecrets + services.flatMap(\.secrets) {
            switch secret.kind {
            case .token:
                try writeOnce(file(secret)) { Self.randomToken() }
            case .accessTokenSigningKey:
                try writeOnce(file(secret)) { AccessTokenKeys.newSigningKeyPEM() }
                let publicKey = try AccessTokenKeys.publicKeyPEM(ofSigningKey: try read(file(secret)))
                try Data(publicKey.utf8).write(to: URL(fileURLWithPath: publicKeyFile))
            }
        }
        for service in services {
            try writeOnce(databasePasswordFile(for: service.schema.role)) { Self.randomToken() }
        }
    }

    /// The environment `service` gets: every declared secret of every service removed from
    /// `environment` (inline or as a file), then the shared ones and its own added back as files.
    public func environment(for service: ServiceDescriptor, among services: [ServiceDescriptor], base environment: [String: String]) -> [String: String] {
        var environment = environment
        for secret in ServiceDescriptor.sharedSecrets + services.flatMap(\.secrets) {
            environment[secret.variable] = nil
            environment["\(secret.variable)_FILE"] = nil
        }
        environment[ServiceDescriptor.publicKeyVariable] = nil
        environment["\(ServiceDescriptor.publicKeyVariable)_FILE"] = publicKeyFile
        for secret in ServiceDescriptor.sharedSecrets + service.secrets {
            environment["\(secret.variable)_FILE"] = file(secret)
        }
        return environment
    }

    /// A secret no service declares (a demo edge's report token, the playback key nginx
    /// checks): made once under `name`, then read.
    public func named(_ name: String) throws -> String {
        let path = "\(folder)/\(name)"
        try writeOnce(path) { Self.randomToken() }
        return try read(path)
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
