import Curbside
import Foundation
import XCTest

/// The README's Swift example (written out by tests/run) runs as documented.
final class ReadmeTests: XCTestCase {
    func testTheReadmesExampleReportsAPothole() async throws {
        let dir = scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = try await reportAPothole(dataDir: dir.path, profileJSON: profile("springfield", endpoint: try Sandbox.endpoint()),
                                              apiKey: "sandbox-key")
        XCTAssertEqual(report.serviceCode, "pothole")
        XCTAssertEqual(report.description, "Deep pothole")
    }
}
