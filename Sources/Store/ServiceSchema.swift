/// What the migrator makes for a service before its own migrations run: its role and schema, and
/// the extensions it uses (creating one needs the superuser; its migrations run as its role).
public struct ServiceSchema: Sendable, Equatable {
    public var service: String
    /// Extensions created in `public` before its migrations (e.g. `btree_gist`).
    public var extensions: [String]
    /// Versions applied before migrations were kept per service, when one flat folder and
    /// `public.schema_migrations` held them: they are adopted as this service's, and (having
    /// been written then) run as the migrating superuser, setting their own role.
    public var legacyFlatVersions: ClosedRange<Int>?

    public init(service: String, extensions: [String] = [], legacyFlatVersions: ClosedRange<Int>? = nil) {
        self.service = service
        self.extensions = extensions
        self.legacyFlatVersions = legacyFlatVersions
    }

    public var role: ServiceRole { ServiceRole(service: service) }
}
