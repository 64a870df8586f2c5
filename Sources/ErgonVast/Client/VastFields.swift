import Foundation

/// Reads the members of a Vast API object as leniently as Vast writes them: numbers may come as
/// strings, any member may be missing or null. A null reads as missing.
struct VastFields: Sendable {
    /// The object read (any other value has no members).
    let raw: JSONValue

    init(_ raw: JSONValue) {
        self.raw = raw
    }

    /// An integer: a whole number, or a string holding one.
    func int(_ key: String) -> Int? {
        switch raw[key] {
        case .number(let number)?:
            return JSONValue.number(number).intValue
        case .string(let text)?:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if let whole = Int(trimmed) { return whole }
            return Double(trimmed).flatMap { JSONValue.number($0).intValue }
        default:
            return nil
        }
    }

    /// A number, or a string holding one.
    func double(_ key: String) -> Double? {
        switch raw[key] {
        case .number(let number)?:
            return number
        case .string(let text)?:
            return Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
        default:
            return nil
        }
    }

    /// A string (a number reads as its decimal text; identifiers sometimes change type).
    func string(_ key: String) -> String? {
        switch raw[key] {
        case .string(let text)?:
            return text
        case .number?:
            return int(key).map(String.init) ?? double(key).map { String($0) }
        default:
            return nil
        }
    }

    /// A boolean: `true`/`false`, `1`/`0`, or a string spelling one of those.
    func bool(_ key: String) -> Bool? {
        switch raw[key] {
        case .bool(let flag)?:
            return flag
        case .number(let number)?:
            return number == 1 ? true : number == 0 ? false : nil
        case .string(let text)?:
            switch text.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: return nil
            }
        default:
            return nil
        }
    }

    /// A point in time written as seconds since 1970.
    func date(_ key: String) -> Date? {
        double(key).map { Date(timeIntervalSince1970: $0) }
    }

    /// The member, unless it is missing or null.
    func value(_ key: String) -> JSONValue? {
        guard let value = raw[key], !value.isNull else { return nil }
        return value
    }
}

extension VastFields {
    /// The integer `key`, or throws naming it.
    func requiredInt(_ key: String) throws(VastFieldMissing) -> Int {
        guard let value = int(key) else { throw VastFieldMissing(field: key) }
        return value
    }

    /// The number `key`, or throws naming it.
    func requiredDouble(_ key: String) throws(VastFieldMissing) -> Double {
        guard let value = double(key) else { throw VastFieldMissing(field: key) }
        return value
    }

    /// The string `key`, or throws naming it.
    func requiredString(_ key: String) throws(VastFieldMissing) -> String {
        guard let value = string(key) else { throw VastFieldMissing(field: key) }
        return value
    }
}
