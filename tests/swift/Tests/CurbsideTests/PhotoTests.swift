import Curbside
import Foundation
import XCTest

/// Photos on drafts through the generated Swift API. tests/run writes the camera file
/// (`curbside sample-photo`: 1600x1200 stored sideways, EXIF orientation 6, GPS 38.9,-77.03).
final class PhotoTests: XCTestCase {
    private var dir: URL!
    private var camera: String!

    override func setUpWithError() throws {
        camera = try XCTUnwrap(ProcessInfo.processInfo.environment["CURBSIDE_SAMPLE_PHOTO"], "run through tests/run")
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("curbside-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testACameraPhotoIsAddedUprightWithItsPositionOffered() async throws {
        let core = try CurbsideCore(dataDir: dir.path)
        let draft = try await core.createDraft(fields: DraftFields(serviceCode: "pothole"))
        let added = try await core.addPhoto(draftId: draft.id, path: camera)
        XCTAssertEqual(added.width, 1200)
        XCTAssertEqual(added.height, 1600)
        let candidate = try XCTUnwrap(added.locationCandidate)
        XCTAssertEqual(candidate.source, .photoExif)
        XCTAssertEqual(candidate.latitude, 38.9, accuracy: 1e-6)
        XCTAssertEqual(added.draft.fields.photos, [added.path])
        let without = try await core.removePhoto(draftId: draft.id, path: added.path)
        XCTAssertTrue(without.fields.photos.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: added.path))
    }

    func testAFileThatIsNotAPhotoIsRefused() async throws {
        let core = try CurbsideCore(dataDir: dir.path)
        let draft = try await core.createDraft(fields: DraftFields(description: "bad photo"))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let notes = dir.appendingPathComponent("notes.txt")
        try Data("not a photo".utf8).write(to: notes)
        do {
            _ = try await core.addPhoto(draftId: draft.id, path: notes.path)
            XCTFail("a text file was accepted as a photo")
        } catch let ApiError.InvalidInput(field, _) {
            XCTAssertEqual(field, "photo")
        }
    }
}
