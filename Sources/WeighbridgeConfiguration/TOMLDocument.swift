internal import TOMLKit

/// A parsed TOML value, copied out of TOMLKit's tree once so that the rest of the module works on
/// plain values (TOMLKit's tables are reference types over C++ nodes).
enum TOMLNode: Sendable {
    case table([String: TOMLNode])
    case array([TOMLNode])
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// Dates and times: valid TOML, but no key of ours takes one.
    case other(typeName: String)

    /// How a person would name this kind of value in an error message.
    var typeName: String {
        switch self {
        case .table: "a table"
        case .array: "an array"
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a floating-point number"
        case .boolean: "a boolean"
        case .other(let name): name
        }
    }
}

/// A TOML file: its parsed tree, and where each key was written (for error messages).
struct TOMLDocument: Sendable {
    let fileName: String
    let root: [String: TOMLNode]
    let keyLines: [String: Int]

    /// Parses `text`; a syntax error becomes a `ConfigurationError` with the parser's line.
    init(text: String, fileName: String) throws(ConfigurationError) {
        self.fileName = fileName
        if let line = TOMLHeaderCheck.firstHeaderWithoutKey(in: text) {
            throw ConfigurationError(problems: [
                ConfigurationProblem(
                    file: fileName, key: nil, line: line,
                    message: "TOML syntax: a table header must start with a key (letters, digits, _ or -, "
                        + "or a quoted key)")
            ])
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(problems: [
                ConfigurationProblem(
                    file: fileName, key: nil, line: error.source.begin.line,
                    message: "TOML syntax: \(error.description)")
            ])
        } catch {
            throw ConfigurationError(problems: [
                ConfigurationProblem(file: fileName, key: nil, line: nil, message: "cannot parse: \(error)")
            ])
        }
        self.root = Self.copy(table)
        self.keyLines = TOMLKeyLocator.lines(of: text)
    }

    private static func copy(_ table: TOMLTable) -> [String: TOMLNode] {
        var result: [String: TOMLNode] = [:]
        for key in table.keys {
            if let value = table[key] { result[key] = copy(value) }
        }
        return result
    }

    private static func copy(_ value: any TOMLValueConvertible) -> TOMLNode {
        switch value.type {
        case .table: return .table(value.table.map(copy) ?? [:])
        case .array: return .array(value.array.map { $0.map(copy) } ?? [])
        case .string: return .string(value.string ?? "")
        case .int: return .integer(value.int ?? 0)
        case .double: return .float(value.double ?? 0)
        case .bool: return .boolean(value.bool ?? false)
        case .date: return .other(typeName: "a date")
        case .time: return .other(typeName: "a time")
        case .dateTime: return .other(typeName: "a date-time")
        }
    }
}

/// Finds table headers that do not begin with a key (`[#`, `[=`, `[é]`): toml++ 3 (inside
/// TOMLKit 0.6.0) aborts the process on them with a failed assertion, even in release builds,
/// where the contract is an error naming the file and line and exit 78. Found by fuzzing; the
/// scan skips strings, comments and the brackets of multi-line arrays, so only real headers count.
enum TOMLHeaderCheck {
    static func firstHeaderWithoutKey(in text: String) -> Int? {
        let bytes = Array(text.utf8)
        // toml++ skips a byte order mark, so a header may follow one.
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var depth = 0  // brackets and braces open in a value
        var atLineStart = true
        func isKeyStart(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""),
                UInt8(ascii: "'"):
                true
            default: false
            }
        }
        func skipString(quote: UInt8) {
            let multiLine = index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote
            index += multiLine ? 3 : 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\n") {
                    // An unterminated one-line string ends at the line's end (the loop counts it).
                    guard multiLine else { return }
                    line += 1
                } else if byte == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") {
                    index += 1  // the escaped character is skipped below, a newline counted above
                    if index < bytes.count && bytes[index] == UInt8(ascii: "\n") { continue }
                } else if byte == quote {
                    if !multiLine {
                        index += 1
                        return
                    }
                    if index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote {
                        // Up to two more quotes belong to the content: `"""a""""` is `a"`.
                        index += 3
                        var extra = 0
                        while extra < 2 && index < bytes.count && bytes[index] == quote {
                            index += 1
                            extra += 1
                        }
                        return
                    }
                }
                index += 1
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                atLineStart = true
                index += 1
                continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
                continue
            case UInt8(ascii: "#"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                skipString(quote: byte)
            case UInt8(ascii: "[") where atLineStart && depth == 0:
                var next = index + 1
                if next < bytes.count && bytes[next] == UInt8(ascii: "[") { next += 1 }
                while next < bytes.count && (bytes[next] == UInt8(ascii: " ") || bytes[next] == UInt8(ascii: "\t")) {
                    next += 1
                }
                if next < bytes.count && !isKeyStart(bytes[next]) && bytes[next] != UInt8(ascii: "]") {
                    return line
                }
                // The rest of a header line holds no value brackets.
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                index += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
                index += 1
            default:
                index += 1
            }
            atLineStart = false
        }
        return nil
    }
}

/// Finds the line each key path was written on, by a light scan of the text: table headers
/// (`[a.b]`, `[[bridge]]` counted per array), `key = …` lines and the keys inside inline tables.
/// TOMLKit does not expose node positions; this covers what our schema uses.
enum TOMLKeyLocator {
    static func lines(of text: String) -> [String: Int] {
        var result: [String: Int] = [:]
        var prefix = ""
        var arrayCounts: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = stripComment(String(rawLine)).trimming(" \t\r")
            guard !line.isEmpty else { continue }
            if line.hasPrefix("[[") && line.hasSuffix("]]") {
                let name = normalise(String(line.dropFirst(2).dropLast(2)))
                let arrayPath = resolveArrayPrefix(name, counts: arrayCounts)
                let position = arrayCounts[arrayPath, default: 0]
                arrayCounts[arrayPath] = position + 1
                prefix = "\(arrayPath)[\(position)]"
                result[prefix] = result[prefix] ?? lineNumber
            } else if line.hasPrefix("[") && line.hasSuffix("]") {
                prefix = resolveArrayPrefix(normalise(String(line.dropFirst().dropLast())), counts: arrayCounts)
                result[prefix] = result[prefix] ?? lineNumber
            } else if let equals = line.firstIndex(of: "=") {
                let key = normalise(String(line[..<equals]))
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                result[path] = result[path] ?? lineNumber
                let value = line[line.index(after: equals)...]
                if let open = value.firstIndex(of: "{") {
                    for part in value[value.index(after: open)...].split(separator: ",") {
                        guard let innerEquals = part.firstIndex(of: "=") else { continue }
                        let inner = normalise(String(part[..<innerEquals].filter { $0 != "{" }))
                        result["\(path).\(inner)"] = result["\(path).\(inner)"] ?? lineNumber
                    }
                }
            }
        }
        return result
    }

    /// `bridge.registers` after `[[bridge]]` number n means `bridge[n-1].registers`.
    private static func resolveArrayPrefix(_ name: String, counts: [String: Int]) -> String {
        let parts = name.split(separator: ".").map(String.init)
        var resolved: [String] = []
        for (position, part) in parts.enumerated() {
            let path = (resolved + [part]).joined(separator: ".")
            let isLast = position == parts.count - 1
            if let count = counts[path], count > 0, !isLast {
                resolved.append("\(part)[\(count - 1)]")
            } else {
                resolved.append(part)
            }
        }
        return resolved.joined(separator: ".")
    }

    private static func normalise(_ key: String) -> String {
        key.split(separator: ".").map {
            String($0).trimming(" \t").trimming("\"'")
        }.joined(separator: ".")
    }

    private static func stripComment(_ line: String) -> String {
        var inString: Character?
        for (offset, character) in line.enumerated() {
            if let quote = inString {
                if character == quote { inString = nil }
            } else if character == "\"" || character == "'" {
                inString = character
            } else if character == "#" {
                return String(line.prefix(offset))
            }
        }
        return line
    }
}

extension String {
    func trimming(_ set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }

}
