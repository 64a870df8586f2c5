/// A file or object a store holds, as `ergon gc` lists and removes it.
public struct StoredObject: Sendable, Hashable {
    /// The store's own name for it: a file path, or an object key in the bucket.
    public var key: String
    /// Its size in bytes.
    public var size: Int64

    public init(key: String, size: Int64) {
        self.key = key
        self.size = size
    }
}
