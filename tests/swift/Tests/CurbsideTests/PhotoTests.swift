import Curbside
import Foundation
import XCTest

/// Photos on drafts through the generated Swift API (the camera file of tests/run:
/// 1600x1200 stored sideways, EXIF orientation 6, GPS 38.9,-77.03).
final class PhotoTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = scratchDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testACameraPhotoIsAddedUprightWithItsPositionOffered() async throws {
        let camera = try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SAMPLE_PHOTO"])
        let core = try await CurbsideCore.open(config: CurbsideConfig(dataDir: dir.path))
        let draft = try await core.drafts().create(edits: [.service(serviceCode: "pothole")])
        let added = try await core.photos().add(draftId: draft.id, sourcePath: camera)
        XCTAssertEqual(added.width, 1200, "turned upright")
        XCTAssertEqual(added.height, 1600)
        let candidate = try XCTUnwrap(added.locationCandidate)
        XCTAssertEqual(candidate.source, .photoExif)
        XCTAssertEqual(candidate.latitude, 38.9, accuracy: 1e-6)
        XCTAssertEqual(added.draft.fields.photos, [added.path])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: added.path))
        XCTAssertNil(bytes.range(of: Data("Exif".utf8)), "no EXIF in the upload")
        let without = try await core.photos().remove(draftId: draft.id, photo: added.path)
        XCTAssertEqual(without.fields.photos, [])
    }

    func testAFileThatIsNotAPhotoIsRefused() async throws {
        let core = try await CurbsideCore.open(config: CurbsideConfig(dataDir: dir.path))
        let draft = try await core.drafts().create(edits: [])
        let notes = dir.appendingPathComponent("notes.txt")
        try Data("not a photo".utf8).write(to: notes)
        do {
            _ = try await core.photos().add(draftId: draft.id, sourcePath: notes.path)
            XCTFail("a text file was accepted")
        } catch let ApiError.InvalidInput(field, _) {
            XCTAssertEqual(field, "photo")
        }
    }
}
