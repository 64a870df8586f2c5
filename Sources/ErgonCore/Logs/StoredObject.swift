/// A file or object a store holds, as `ergon gc` lists and removes it.
public struct StoredObject: Sendable, Hashable {
    /// The store's own name for it: a file path, or an object key in the bucket.
    public var key: String
    /// Its size in bytes.
    public var size: Int64
    /// Set for an unfinished multipart upload of `key` (S3), not an object: its parts are stored
    /// until it is aborted, which is how it is removed. Its size is not known (0).
    public var uploadID: String?

    public init(key: String, size: Int64, uploadID: String? = nil) {
        self.key = key
        self.size = size
        self.uploadID = uploadID
    }
}
