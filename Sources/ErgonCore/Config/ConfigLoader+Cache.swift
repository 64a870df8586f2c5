import Foundation

extension ConfigLoader {
    static let cacheKeys = ["dir", "purge_unused_after", "check_every", "max_size", "required"]
    static let requiredKeys = ["resources", "images"]

    /// Reads `cache`: where resources are kept, the policy, and what is fetched at start.
    static func readCache(_ section: DocumentNode?, paths: ConfigPaths) throws(DocumentNode.Fault) -> ErgonConfig.Cache {
        var cache = ErgonConfig.Cache()
        guard let section else { return cache }
        let fields = try section.fields(allowed: cacheKeys)
        if let node = fields["dir"] { cache.directory = try paths.resolve(node) }
        if let node = fields["purge_unused_after"] { cache.purgeUnusedAfter = try node.duration(positive: true) }
        if let node = fields["check_every"] { cache.checkEvery = try node.duration(positive: true) }
        if let node = fields["max_size"] { cache.maxSize = try node.byteSize(positive: true) }
        if let node = fields["required"], !node.isNull {
            let required = try node.fields(allowed: requiredKeys)
            if let list = required["resources"] {
                for item in try list.list() {
                    let source = try readRequiredResource(item)
                    guard !cache.requiredResources.contains(where: { $0.cacheKey == source.cacheKey }) else {
                        throw item.fault(.invalidValue, "\(source) is listed twice")
                    }
                    cache.requiredResources.append(source)
                }
            }
            if let list = required["images"] {
                for item in try list.list() {
                    let image = try WorkflowLoader.readImage(item)
                    guard !cache.requiredImages.contains(image) else { throw item.fault(.invalidValue, "image \(item.shown) is listed twice") }
                    cache.requiredImages.append(image)
                }
            }
        }
        return cache
    }

    /// A required resource is a task resource without a target: `{type, url, sha256?, unpack?}`.
    private static func readRequiredResource(_ node: DocumentNode) throws(DocumentNode.Fault) -> ResourceSource {
        let resource = try WorkflowLoader.readResource(node, targetRequired: false)
        return resource.source
    }
}
