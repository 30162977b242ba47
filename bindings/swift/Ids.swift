/// A draft's id (a UUID made on the device); use it as `DraftId`.
public struct DraftIdentifier: Hashable, Sendable, CustomStringConvertible {
    /// The UUID, as text.
    public let value: String
    /// Wraps an id read back from storage or a URL.
    public init(value: String) { self.value = value }
    public var description: String { value }
}

/// A submitted report's id (a UUID made on the device); use it as `ReportId`.
public struct ReportIdentifier: Hashable, Sendable, CustomStringConvertible {
    /// The UUID, as text.
    public let value: String
    /// Wraps an id read back from storage or a URL.
    public init(value: String) { self.value = value }
    public var description: String { value }
}
