// swift-tools-version:5.9
// The push SDK for iOS and macOS apps: the UniFFI-generated Swift bindings
// of sdk-ffi (target PushFFI, over the Rust library in PushFFIFFI) and an
// idiomatic wrapper (PushMobile). Run build-xcframework.sh on a Mac first:
// it builds the Rust library for the Apple targets and generates the
// bindings into Sources/PushFFI and PushFFIFFI.xcframework.
import PackageDescription

let package = Package(
    name: "PushMobile",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "PushMobile", targets: ["PushMobile"]),
    ],
    targets: [
        .binaryTarget(name: "PushFFIFFI", path: "PushFFIFFI.xcframework"),
        .target(name: "PushFFI", dependencies: ["PushFFIFFI"], path: "Sources/PushFFI"),
        .target(name: "PushMobile", dependencies: ["PushFFI"], path: "Sources/PushMobile"),
    ]
)
