import JWTKit

/// The access-token key pair: made by `up` (and tests), the private half for scheduling, the
/// public half for everyone.
public enum AccessTokenKeys {
    /// A new ES256 private key in PEM.
    public static func newSigningKeyPEM() -> String {
        ES256PrivateKey().pemRepresentation
    }

    /// The public key (PEM) of an ES256 private key given in PEM.
    public static func publicKeyPEM(ofSigningKey pem: String) throws -> String {
        try ES256PrivateKey(pem: pem).publicKey.pemRepresentation
    }
}
