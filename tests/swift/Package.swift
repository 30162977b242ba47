// swift-tools-version:6.0
// The Swift test package that tests/run assembles on Linux: the generated `Curbside` module
// over the host-built libcurbside_ffi, the framework-free code of ios-sample, and the tests.
// tests/run copies the generated Curbside.swift and CurbsideFFI.h in; they are never committed.
// Swift 6 language mode, as apps build it (ios-sample/Package.swift).
import PackageDescription

let package = Package(
    name: "CurbsideSwiftTests",
    targets: [
        .systemLibrary(name: "CurbsideFFI", path: "Sources/CurbsideFFI"),
        .target(name: "Curbside", dependencies: ["CurbsideFFI"], path: "Sources/Curbside",
                resources: [.copy("Resources/Localizable.xcstrings")]),
        .target(name: "CurbsideSampleCore", dependencies: ["Curbside"], path: "Sources/CurbsideSampleCore"),
        .testTarget(
            name: "CurbsideTests",
            dependencies: ["Curbside", "CurbsideSampleCore"],
            path: "Tests/CurbsideTests",
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ],
    swiftLanguageModes: [.v6]
)
