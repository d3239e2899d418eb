// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "CloudClass",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cloudclass", targets: ["cloudclass"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.2"),
    ],
    targets: [
        .executableTarget(
            name: "cloudclass",
            dependencies: [
                "ServiceKit", "Store", "ServiceCatalog", "Platform", "Allocation", "Reference", "EdgeAgent", "Bandwidth", "SessionTokens", "Attendance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Regions and networks: facts with no dependencies, for code that does no I/O.
        .target(name: "Reference"),
        // The bandwidth allocation core: pure computation, used by the service and `simulate`.
        .target(name: "Allocation", dependencies: ["Reference"]),
        .target(
            name: "ServiceKit",
            dependencies: [
                "Store", "Reference",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "InternalProtocol",
            dependencies: [
                "ServiceKit", "Store",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Store",
            dependencies: [
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Scheduling",
            dependencies: [
                "ServiceKit", "Store", "InternalProtocol",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Bandwidth",
            dependencies: [
                "ServiceKit", "Store", "InternalProtocol", "Allocation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The session token: minted by broadcast at join, checked by attendance on every beat.
        .target(name: "SessionTokens", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "Attendance",
            dependencies: [
                "ServiceKit", "Store", "InternalProtocol", "SessionTokens",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Beside each edge's nginx: its access log measured and reported to the fleet.
        .target(
            name: "EdgeAgent",
            dependencies: [
                "ServiceKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ServiceCatalog",
            dependencies: ["ServiceKit", "Scheduling", "Bandwidth", "Attendance"]
        ),
        .target(
            name: "Platform",
            dependencies: [
                "ServiceKit", "Store",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "Store", "Platform", "ServiceCatalog", "ServiceKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "KitTests",
            dependencies: [
                "ServiceKit", "Store", "Platform", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "AttendanceTests",
            dependencies: [
                "Attendance", "Scheduling", "Bandwidth", "InternalProtocol", "SessionTokens", "ServiceKit", "Store", "TestSupport", "Platform",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "AllocationTests",
            dependencies: ["Allocation", "Reference"]
        ),
        .testTarget(
            name: "BandwidthTests",
            dependencies: [
                "Bandwidth", "ServiceKit", "Store", "TestSupport", "InternalProtocol", "Platform", "EdgeAgent",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Store", "TestSupport", "ServiceCatalog"]
        ),
        .testTarget(
            name: "SchedulingTests",
            dependencies: [
                "Scheduling", "ServiceKit", "ServiceCatalog", "Store", "Platform", "TestSupport", "InternalProtocol",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
    ]
)
