/// Splits query text into raw `field op value` terms exactly as the CLI's regular expression does:
///
///     ([a-zA-Z0-9_]+)( *[=><!]+| +(?:[lg]te?|nin|neq|eq|not ?eq|not ?in|in) )?( *)(\[[^\]]+\]|"[^"]+"|[^ ]+)?( *)
///
/// applied with `re.findall` to the stripped text, which must be consumed completely.
/// Written by hand so that positions are known for error messages and no regex engine is needed;
/// every branch below is one the expression takes.
struct OfferQueryScanner {
    /// One match of the expression, the groups still raw (operator with its spaces).
    struct RawTerm {
        var field: String
        var op: String
        var value: String
        /// Scalar offsets in the original text.
        var fieldStart: Int
        var opStart: Int
        var valueStart: Int
        var end: Int
    }

    /// The query text as code points; Python indexes strings the same way.
    let scalars: [Unicode.Scalar]

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
    }

    /// The terms, or the offset of the first character no term can start at.
    func scan() -> Result<[RawTerm], UnconsumedText> {
        // `query_str.strip()` first; matching then never looks past the stripped end.
        var start = 0
        var end = scalars.count
        while start < end, PythonText.isSpace(scalars[start]) { start += 1 }
        while end > start, PythonText.isSpace(scalars[end - 1]) { end -= 1 }

        var terms: [RawTerm] = []
        var position = start
        while position < end {
            guard isWordCharacter(scalars[position]) else { return .failure(UnconsumedText(offset: position)) }
            let term = match(at: position, end: end)
            terms.append(term)
            position = skipSpaces(from: term.end, end: end)
        }
        return .success(terms)
    }

    /// A character where no term can start (`findall` skips it, so the text is not all consumed).
    struct UnconsumedText: Error {
        var offset: Int
    }

    /// The text between two offsets.
    func text(_ from: Int, _ to: Int) -> String {
        String(String.UnicodeScalarView(scalars[from..<max(from, to)]))
    }

    private func match(at fieldStart: Int, end: Int) -> RawTerm {
        var cursor = fieldStart
        while cursor < end, isWordCharacter(scalars[cursor]) { cursor += 1 }
        let opStart = cursor
        cursor = matchOperator(from: cursor, end: end)
        let opEnd = cursor
        let valueStart = skipSpaces(from: cursor, end: end)
        let valueEnd = matchValue(from: valueStart, end: end)
        return RawTerm(
            field: text(fieldStart, opStart), op: text(opStart, opEnd), value: text(valueStart, valueEnd),
            fieldStart: fieldStart, opStart: opStart, valueStart: valueStart, end: valueEnd)
    }

    /// The end of the optional operator group starting at `start` (`start` when there is none).
    private func matchOperator(from start: Int, end: Int) -> Int {
        let afterSpaces = skipSpaces(from: start, end: end)
        // ` *[=><!]+`: any run of comparison symbols, valid or not (the caller looks it up).
        if afterSpaces < end, isSymbol(scalars[afterSpaces]) {
            var cursor = afterSpaces
            while cursor < end, isSymbol(scalars[cursor]) { cursor += 1 }
            return cursor
        }
        // ` +word `: a word operator needs at least one space before and exactly one after.
        guard afterSpaces > start else { return start }
        for word in Self.wordOperators {
            let after = afterSpaces + word.count
            guard after < end, scalars[after] == " " else { continue }
            if zip(scalars[afterSpaces..<after], word).allSatisfy({ $0 == $1 }) { return after + 1 }
        }
        return start
    }

    /// The end of the optional value group starting at `start`.
    private func matchValue(from start: Int, end: Int) -> Int {
        guard start < end else { return start }
        // `\[[^\]]+\]` then `"[^"]+"`: a bracket or quote up to the first closing one, at least
        // one character inside (spaces allowed); otherwise `[^ ]+`.
        for (open, close) in [("[", "]"), ("\"", "\"")] as [(Unicode.Scalar, Unicode.Scalar)] {
            guard scalars[start] == open else { continue }
            if let closing = scalars[(start + 1)..<end].firstIndex(of: close), closing > start + 1 {
                return closing + 1
            }
        }
        var cursor = start
        while cursor < end, scalars[cursor] != " " { cursor += 1 }
        return cursor
    }

    private func skipSpaces(from start: Int, end: Int) -> Int {
        var cursor = start
        while cursor < end, scalars[cursor] == " " { cursor += 1 }
        return cursor
    }

    private func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_": return true
        default: return false
        }
    }

    private func isSymbol(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "=" || scalar == ">" || scalar == "<" || scalar == "!"
    }

    // The alternatives of `[lg]te?|nin|neq|eq|not ?eq|not ?in|in`; each must end right before a space,
    // so at most one can match and their order does not matter.
    private static let wordOperators: [[Unicode.Scalar]] = [
        "lte", "lt", "gte", "gt", "nin", "neq", "eq", "noteq", "not eq", "notin", "not in", "in",
    ].map { Array($0.unicodeScalars) }
}
