// swift-tools-version:5.9
// The Swift test package that tests/run assembles on Linux: the generated `Curbside` module
// over the host-built libcurbside_ffi, the framework-free code of ios-sample, and the tests.
// tests/run copies the generated Curbside.swift and CurbsideFFI.h in; they are never committed.
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
            path: "Tests/CurbsideTests"
        ),
    ]
)
