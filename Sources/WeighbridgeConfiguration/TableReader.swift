import WeighbridgeCore

/// Collects every problem found while reading one file.
final class ProblemLog {
    let document: TOMLDocument
    private(set) var problems: [ConfigurationProblem] = []

    init(document: TOMLDocument) {
        self.document = document
    }

    /// Records a problem with `path`, located at the key's line, or failing that its table's.
    func report(_ path: String?, _ message: String) {
        var line: Int?
        if var candidate = path {
            while line == nil {
                line = document.keyLines[candidate]
                guard line == nil, let dot = candidate.lastIndex(of: ".") else { break }
                candidate = String(candidate[..<dot])
            }
        }
        problems.append(ConfigurationProblem(file: document.fileName, key: path, line: line, message: message))
    }
}

/// Reads the keys of one table, checking each value's type, and reports keys nobody asked for:
/// a misspelt key must never silently fall back to a default.
struct TableReader {
    let path: String
    let table: [String: TOMLNode]
    let log: ProblemLog
    private var used: Set<String> = []

    init(path: String, table: [String: TOMLNode], log: ProblemLog) {
        self.path = path
        self.table = table
        self.log = log
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func report(_ key: String?, _ message: String) {
        log.report(key.map(keyPath) ?? (path.isEmpty ? nil : path), message)
    }

    /// The string at `key` without reading it (no type check, no problem reported): for rules
    /// that depend on another key that is itself validated where it belongs.
    func peekString(_ key: String) -> String? {
        if case .string(let text)? = table[key] { return text }
        return nil
    }

    /// Whether the key is present (and marks it read).
    mutating func has(_ key: String) -> Bool {
        used.insert(key)
        return table[key] != nil
    }

    private mutating func value(_ key: String) -> TOMLNode? {
        used.insert(key)
        return table[key]
    }

    private func wrongType(_ key: String, expected: String, found: TOMLNode) {
        report(key, "expected \(expected), found \(found.typeName)")
    }

    mutating func string(_ key: String) -> String? {
        guard let node = value(key) else { return nil }
        guard case .string(let text) = node else {
            wrongType(key, expected: "a string", found: node)
            return nil
        }
        return text
    }

    mutating func requiredString(_ key: String, why: String = "") -> String? {
        guard let text = string(key) else {
            if table[key] == nil { report(key, "is required" + (why.isEmpty ? "" : " (\(why))")) }
            return nil
        }
        guard !text.trimmingWhitespace.isEmpty else {
            report(key, "must not be empty")
            return nil
        }
        return text
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let node = value(key) else { return nil }
        guard case .integer(let number) = node else {
            wrongType(key, expected: "an integer", found: node)
            return nil
        }
        guard range.contains(number) else {
            report(key, "\(number) is out of range \(range.lowerBound)…\(range.upperBound)")
            return nil
        }
        return number
    }

    mutating func boolean(_ key: String) -> Bool? {
        guard let node = value(key) else { return nil }
        guard case .boolean(let flag) = node else {
            wrongType(key, expected: "true or false", found: node)
            return nil
        }
        return flag
    }

    /// A decimal number given as an integer, a float or a string ("2.5"). Floats are read through
    /// their shortest decimal form, which is what was written for any value with ≤ 15 digits.
    mutating func decimalText(_ key: String) -> String? {
        guard let node = value(key) else { return nil }
        switch node {
        case .integer(let number): return String(number)
        case .float(let number) where number.isFinite: return "\(number)"
        case .string(let text): return text
        default:
            wrongType(key, expected: "a number", found: node)
            return nil
        }
    }

    mutating func mass(_ key: String, unit: MassUnit) -> Mass? {
        guard let text = decimalText(key) else { return nil }
        do {
            return try Mass(parsing: text, defaultUnit: unit)
        } catch {
            report(key, error.description)
            return nil
        }
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, as type: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        guard let text = string(key) else { return nil }
        guard let choice = Choice(rawValue: text) else {
            let allowed = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            report(key, "\"\(text)\" is not one of \(allowed)")
            return nil
        }
        return choice
    }

    mutating func stringArray(_ key: String) -> [String]? {
        guard let node = value(key) else { return nil }
        guard case .array(let items) = node else {
            wrongType(key, expected: "an array of strings", found: node)
            return nil
        }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else {
                wrongType(key, expected: "an array of strings", found: item)
                return nil
            }
            strings.append(text)
        }
        return strings
    }

    /// A sub-table; a missing one reads as empty, so its keys take their defaults.
    mutating func table(_ key: String) -> TableReader? {
        guard let node = value(key) else { return TableReader(path: keyPath(key), table: [:], log: log) }
        guard case .table(let inner) = node else {
            wrongType(key, expected: "a table", found: node)
            return nil
        }
        return TableReader(path: keyPath(key), table: inner, log: log)
    }

    /// An array of tables (`[[bridge]]`).
    mutating func tables(_ key: String) -> [TableReader] {
        guard let node = value(key) else { return [] }
        guard case .array(let items) = node else {
            wrongType(key, expected: "an array of tables ([[\(key)]])", found: node)
            return []
        }
        var readers: [TableReader] = []
        for (index, item) in items.enumerated() {
            guard case .table(let inner) = item else {
                report("\(key)[\(index)]", "expected a table, found \(item.typeName)")
                continue
            }
            readers.append(TableReader(path: keyPath("\(key)[\(index)]"), table: inner, log: log))
        }
        return readers
    }

    /// Reports every key of this table that was never read. Values are not echoed: a secret
    /// pasted under a wrong key must not reach a terminal or a log.
    func rejectUnknownKeys() {
        for key in table.keys.sorted() where !used.contains(key) {
            report(key, "unknown key (check its spelling; see etc/weighbridged.toml for every key)")
        }
    }
}
