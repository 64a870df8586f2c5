// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Ergon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ergon", targets: ["ergon"]),
        .library(name: "ErgonCore", targets: ["ErgonCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // Domain types, the task state machine, the Backend/TaskQueue/LogStore protocols,
        // the pure Reconciler, the Scheduler service, config and workflow loading.
        .target(name: "CMallocControl"),
        .target(
            name: "ErgonCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Docker Engine API client over the unix socket and the DockerBackend.
        .target(
            name: "ErgonDocker",
            dependencies: [
                "ErgonCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Vast.ai side: the offer query language, the API client, the VastBackend, and the
        // registry reads (launch configuration, size, and whether an image has /bin/sh, which
        // reads gzip layers with CompressNIO).
        .target(
            name: "ErgonVast",
            dependencies: [
                "ErgonCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Object storage: the SigV4 signer, a small S3 client on AsyncHTTPClient, and the
        // S3 log store (multipart parts plus live segments, see the README).
        .target(
            name: "ErgonS3",
            dependencies: [
                "ErgonCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A Vast API look-alike (seeded market, instance lifecycle, fault injection) for tests,
        // demos and rehearsing configs; `--docker` runs each instance on the local engine.
        .target(
            name: "VastSimulator",
            dependencies: [
                "ErgonVast", "ErgonDocker", "ErgonCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The embedded task queue (SQLite through GRDB).
        .target(
            name: "ErgonCache",
            dependencies: [
                "ErgonCore", "ErgonS3",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ErgonSQLite",
            dependencies: [
                "ErgonCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The shared task queue on PostgreSQL (postgres-nio): many agents, NOTIFY wake-ups.
        .target(
            name: "ErgonPostgres",
            dependencies: [
                "ErgonCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The agent's HTTP server: the worker API rented hosts call back (Arkindex's contract,
        // WORKER_CONTRACT.md) and the operator's task API.
        .target(
            name: "ErgonServer",
            dependencies: [
                "ErgonCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The command line: every subcommand, kept in a library so tests can drive it.
        .target(
            name: "ErgonCLI",
            dependencies: [
                "ErgonCore", "ErgonDocker", "ErgonSQLite", "ErgonPostgres", "ErgonVast", "VastSimulator", "ErgonS3", "ErgonServer", "ErgonCache",
                "CMallocControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(name: "ergon", dependencies: ["ErgonCLI"]),
        // Helpers shared by the test suites: temporary directories, the Docker engine trait,
        // running the built `ergon` binary.
        .target(
            name: "ErgonTestSupport",
            dependencies: [
                "ErgonCore", "ErgonVast", "VastSimulator", "ErgonPostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/ErgonTestSupport"
        ),
        .testTarget(
            name: "ErgonCoreTests",
            dependencies: [
                "ErgonCore", "ErgonTestSupport",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ErgonSQLiteTests", dependencies: ["ErgonSQLite", "ErgonCore", "ErgonTestSupport"]),
        .testTarget(name: "ErgonPostgresTests", dependencies: ["ErgonPostgres", "ErgonCore", "ErgonTestSupport"]),
        .testTarget(name: "ErgonDockerTests", dependencies: ["ErgonDocker", "ErgonCore", "ErgonTestSupport"]),
        .testTarget(
            name: "ErgonVastTests",
            dependencies: [
                "ErgonVast", "VastSimulator", "ErgonCore", "ErgonTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ErgonS3Tests",
            dependencies: [
                "ErgonS3", "ErgonCore", "ErgonTestSupport", "ErgonDocker", "ErgonSQLite",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Support/presign-gate.py"]
        ),
        .testTarget(
            name: "ErgonServerTests",
            dependencies: [
                "ErgonServer", "ErgonCore", "ErgonTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "ErgonCacheTests",
            dependencies: [
                "ErgonCache", "ErgonCore", "ErgonS3", "ErgonTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ErgonCLITests",
            dependencies: [
                "ErgonCLI", "ErgonCore", "ErgonSQLite", "ErgonVast", "VastSimulator", "ErgonS3", "ErgonCache", "ErgonPostgres", "ErgonTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
