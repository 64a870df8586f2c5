import Foundation

extension ImageLaunchConfig {
    /// Reads an image configuration blob (`{"config": {"Entrypoint": …, "Cmd": …, "WorkingDir": …}}`);
    /// null or missing fields mean none.
    init(configBlob: [UInt8], describing what: String) throws(RegistryError) {
        guard let json = try? JSONValue.decode(Data(configBlob)), json.objectValue != nil else {
            throw RegistryError(.malformed, "\(what): the image configuration is not a JSON object")
        }
        let config = json["config"]
        func strings(_ key: String) throws(RegistryError) -> [String] {
            guard let value = config?[key], !value.isNull else { return [] }
            guard let items = value.arrayValue, case let texts = items.compactMap(\.stringValue), texts.count == items.count else {
                throw RegistryError(.malformed, "\(what): config.\(key) is not a list of strings")
            }
            return texts
        }
        let workingDir = config?["WorkingDir"]?.stringValue
        self.init(
            entrypoint: try strings("Entrypoint"), cmd: try strings("Cmd"),
            workingDir: workingDir?.isEmpty == false ? workingDir : nil)
    }
}
