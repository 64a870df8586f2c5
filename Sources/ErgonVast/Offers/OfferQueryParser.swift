/// Turns the raw terms of a query into filter fields, one term after another, with the CLI's
/// exact conversions (see `parse_query` in `vastai/api/query.py`). Kept apart from the scanner:
/// the scanner decides what the text says, this decides what it means.
struct OfferQueryParser {
    /// The filter built so far, seeded with the defaults.
    var fields: [String: [OfferOperator: JSONValue]]
    /// Where each field's last term is, for later errors.
    var locations: [String: OfferQuery.Location] = [:]

    private let scanner: OfferQueryScanner
    private let acceptingUnknownFields: Bool

    init(text: String, fields: [String: [OfferOperator: JSONValue]], acceptingUnknownFields: Bool = false) {
        self.scanner = OfferQueryScanner(text)
        self.fields = fields
        self.acceptingUnknownFields = acceptingUnknownFields
    }

    /// A term's value once the separators are trimmed: text, a list (`in`/`notin`), or a driver
    /// version the CLI already turned into an integer (nil for Python's `None`).
    private enum RawValue {
        case text(String)
        case list([String])
        case version(Double?)
    }

    mutating func run() throws(OfferQueryError) {
        let terms: [OfferQueryScanner.RawTerm]
        switch scanner.scan() {
        case .success(let scanned): terms = scanned
        case .failure(let unconsumed): throw unconsumedError(at: unconsumed.offset)
        }
        for term in terms {
            try apply(term)
        }
    }

    private mutating func apply(_ term: OfferQueryScanner.RawTerm) throws(OfferQueryError) {
        let trimmed = PythonText.strip(term.value, chars: ",[]")
        var field = term.field
        // An alias renames the field; a default stored under the alias moves with it.
        if let target = OfferFields.aliases[field] {
            if let moved = fields.removeValue(forKey: field) { fields[target] = moved }
            field = target
        }
        guard let op = OfferOperator(spelling: PythonText.strip(term.op)) else {
            throw operatorError(term)
        }
        // Ergon refuses what the CLI only warns about; checked after the operator so that a stray
        // word (the second half of an unquoted value) gets the quoting hint instead.
        guard OfferFields.isKnown(field) || acceptingUnknownFields else {
            let hint = OfferFields.closest(to: field).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw error(.unknownField, token: term.field, at: term.fieldStart, "unknown field \"\(term.field)\"\(hint)")
        }

        var value = RawValue.text(trimmed)
        if field == "driver_version", trimmed.unicodeScalars.contains(".") {
            value = .version(PythonText.numericVersion(trimmed))
        }
        if op.takesList {
            guard case .text(let text) = value else {
                throw error(.invalidValue, term, "a dotted driver_version cannot be used with \(op.rawValue); "
                    + "compare one version with = != < <= > >=")
            }
            // Split on code points, as Python does (a comma followed by a combining mark still splits).
            value = .list(text.unicodeScalars.split(separator: ",", omittingEmptySubsequences: false)
                .map { PythonText.strip(String(String.UnicodeScalarView($0))) }.filter { !$0.isEmpty })
        }
        try checkNotBlank(value, term)

        if case .text(let text) = value, ["?", "*", "any"].contains(text) {
            guard op == .eq else {
                throw error(.wildcardOperator, term, "wildcard \"\(text)\" only works with = (it drops the field); "
                    + "got \"\(PythonText.strip(term.op))\"")
            }
            fields[field] = nil
            locations[field] = nil
            return
        }
        fields[field, default: [:]][op] = try convert(value, field: field, term)
        locations[field] = OfferQuery.Location(token: termText(term), position: characterOffset(term.fieldStart))
    }

    /// The JSON value the CLI sends for a term: `_` becomes a space and surrounding quotes go,
    /// unit-converted fields become floats, `true`/`false`/`None`/`null` become JSON literals.
    private func convert(_ value: RawValue, field: String, _ term: OfferQueryScanner.RawTerm) throws(OfferQueryError) -> JSONValue {
        switch value {
        case .version(let number):
            return .number(number ?? 0)
        case .list(let items):
            guard OfferFields.multipliers[field] == nil else {
                throw error(.invalidValue, term, "\(field) takes one number (in \(unitName(field))), not a list")
            }
            return .array(items.map { .string(Self.unquote($0)) })
        case .text(let raw):
            let text = Self.unquote(raw)
            if let multiplier = OfferFields.multipliers[field] {
                guard let number = PythonText.float(text) else {
                    throw error(.invalidNumber, term, "\(field) needs a number (in \(unitName(field))), got \"\(text)\"")
                }
                // Python would send inf/nan (or an overflowed product) as bare `Infinity`/`NaN`,
                // which is not JSON; refuse instead.
                let converted = number * multiplier
                guard converted.isFinite else {
                    throw error(.invalidNumber, term, "\(field) needs a finite number, got \"\(text)\"")
                }
                return .number(converted)
            }
            switch text {
            case "true", "True": return .bool(true)
            case "false", "False": return .bool(false)
            case "None", "null": return .null
            default: return .string(text)
            }
        }
    }

    private func checkNotBlank(_ value: RawValue, _ term: OfferQueryScanner.RawTerm) throws(OfferQueryError) {
        switch value {
        case .text(let text) where text.isEmpty:
            throw error(.blankValue, term, "value cannot be blank (quote values that contain spaces: \"RTX 4090\" or RTX_4090)")
        case .list(let items) where items.isEmpty:
            throw error(.blankValue, term, "the list has no items")
        case .version(let number) where number == nil || number == 0:
            throw error(.invalidValue, term, "driver_version must look like 535.86.05 (three dot-separated numbers, not all zero)")
        default:
            return
        }
    }

    /// `_` → space, then surrounding double quotes removed (in that order, as the CLI does).
    private static func unquote(_ text: String) -> String {
        let spaced = String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "_" ? " " : $0 }))
        return PythonText.strip(spaced, chars: "\"")
    }

    private func unitName(_ field: String) -> String {
        field == "duration" ? "days" : "GB"
    }

    private func operatorError(_ term: OfferQueryScanner.RawTerm) -> OfferQueryError {
        let op = PythonText.strip(term.op)
        if op.isEmpty {
            return error(.unknownOperator, term, "missing operator after \"\(term.field)\": a term is field, operator, "
                + "value (= != < <= > >=, or eq neq gt gte lt lte in notin between spaces); if this word belongs to the "
                + "previous value, quote that value (\"RTX 4090\") or write _ for its spaces (RTX_4090)")
        }
        return OfferQueryError(
            code: .unknownOperator, token: op, position: characterOffset(term.opStart + leadingSpaces(term)),
            message: "unknown operator \"\(op)\" (use = == != < <= > >=, or eq neq noteq gt gte lt lte in notin nin)")
    }

    private func leadingSpaces(_ term: OfferQueryScanner.RawTerm) -> Int {
        term.op.unicodeScalars.prefix { $0 == " " }.count
    }

    private func unconsumedError(at offset: Int) -> OfferQueryError {
        var end = offset
        while end < scanner.scalars.count, scanner.scalars[end] != " " { end += 1 }
        let token = scanner.text(offset, end)
        return OfferQueryError(
            code: .unconsumedText, token: token, position: characterOffset(offset),
            message: "cannot read \"\(token)\": a term is field, operator, value (a value with spaces needs "
                + "quotes or _ for each space, e.g. gpu_name=RTX_4090)")
    }

    private func termText(_ term: OfferQueryScanner.RawTerm) -> String {
        scanner.text(term.fieldStart, term.end)
    }

    private func error(_ code: OfferQueryError.Code, _ term: OfferQueryScanner.RawTerm, _ message: String) -> OfferQueryError {
        error(code, token: termText(term), at: term.fieldStart, message)
    }

    private func error(_ code: OfferQueryError.Code, token: String, at offset: Int, _ message: String) -> OfferQueryError {
        OfferQueryError(code: code, token: token, position: characterOffset(offset), message: message)
    }

    /// Offsets are counted in code points while scanning; users count characters.
    private func characterOffset(_ scalarOffset: Int) -> Int {
        scanner.text(0, scalarOffset).count
    }
}
