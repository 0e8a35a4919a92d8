import Foundation
import WeighbridgeConfiguration
import WeighbridgeControlProtocol
import WeighbridgeCore

/// The parsers that take bytes from outside: each must end every input in a value or its own
/// typed error, never a crash, a hang or an error that does not say where.
enum FuzzTarget: String, CaseIterable {
    /// `weighbridged.toml`: TOML (toml++ underneath) and then our schema.
    case configuration
    /// One control-socket request line.
    case control
    /// One block of holding registers, decoded with a preset's map: the first byte picks the
    /// preset, the second the division, the rest are the registers (big-endian words).
    case registers
    /// Toledo continuous output as a serial line delivers it: the first byte's low bit says
    /// whether frames carry a checksum, the rest of it the size of the pieces the bytes come in.
    case toledo
    /// SMA replies as a serial line delivers them: the first byte is the size of the pieces.
    case sma
    /// Dini answers (READ's standard string, PID's alibi record, ERRnn) as a serial line delivers
    /// them: the first byte is the size of the pieces.
    case dini
    /// Frames of a generic description as a serial line delivers them: the first byte's low bit
    /// picks a description with a start marker and status masks or one of lines with none, the
    /// rest of it the size of the pieces.
    case generic

    func run(_ bytes: [UInt8]) {
        switch self {
        case .configuration:
            do {
                _ = try Configuration.parse(String(decoding: bytes, as: UTF8.self), fileName: "fuzz.toml")
            } catch {
                // The contract: a configuration error names the file.
                guard error.description.contains("fuzz.toml") else {
                    fatalError("a configuration error that does not name its file: \(error)")
                }
            }
        case .control:
            switch ControlRequest.decode(bytes) {
            case .success, .failure: break
            }
        case .registers:
            guard bytes.count >= 2 else { return }
            let maps = IndicatorPreset.allCases.compactMap(\.registerMap)
            let map = maps[Int(bytes[0]) % maps.count]
            let divisions: [Int64] = [1, 2, 5, 10, 20, 50, 100]
            let division = Mass(grams: divisions[Int(bytes[1]) % divisions.count] * 1_000)
            let words = stride(from: 2, to: bytes.count - 1, by: 2).map {
                UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1])
            }
            if let reading = try? map.decode(words, division: division) {
                // Decoded weights are whole grams: formatting them must always work.
                _ = reading.weight?.formatted(in: .kilograms)
            }
        case .toledo:
            guard let first = bytes.first else { return }
            var stream = ToledoContinuousStream(checksum: first & 1 == 1)
            for piece in Self.pieces(of: bytes.dropFirst(), size: Int(first >> 1) + 1) {
                for case .frame(let frame) in stream.receive(piece) {
                    // Decoded weights are whole grams: formatting them must always work.
                    _ = frame.reading.weight?.formatted(in: .kilograms)
                }
            }
        case .sma:
            guard let first = bytes.first else { return }
            var reader = SMAReplyReader()
            for piece in Self.pieces(of: bytes.dropFirst(), size: Int(first) + 1) {
                for case .frame(let reply) in reader.receive(piece) {
                    _ = reply.reading.weight?.formatted(in: .kilograms)
                }
            }
        case .dini:
            guard let first = bytes.first else { return }
            var reader = DiniReplyReader()
            for piece in Self.pieces(of: bytes.dropFirst(), size: Int(first) + 1) {
                for case .frame(let answer) in reader.receive(piece) {
                    _ = answer.reading.weight?.formatted(in: .kilograms)
                    if case .stored(let id?) = answer.kind { _ = id.description }
                }
            }
        case .generic:
            guard let first = bytes.first else { return }
            var reader = GenericFrameReader(format: Self.described[Int(first & 1)], unit: .kilograms)
            for piece in Self.pieces(of: bytes.dropFirst(), size: Int(first >> 1) + 1) {
                for case .frame(let frame) in reader.receive(piece) {
                    _ = frame.reading.weight?.formatted(in: .kilograms)
                }
            }
        }
    }

    /// A description with a start marker, a fixed length, implied decimals and status masks, and
    /// one of CR LF lines with no start marker and the unit in the frame.
    private static let described = [
        GenericFrameFormat(
            request: nil, start: [0x02], end: [0x0D], length: 17, weight: .init(offset: 4, length: 6),
            impliedDecimals: 2, unit: nil, negative: .init(offset: 2, test: .mask(0x02)), stable: nil,
            motion: .init(offset: 2, test: .mask(0x08))),
        GenericFrameFormat(
            request: nil, start: [], end: [0x0D, 0x0A], length: nil, weight: .init(offset: 2, length: 9),
            impliedDecimals: nil, unit: .init(offset: 12, length: 2), stable: .init(offset: 0, test: .equals([0x53])),
            motion: nil, zero: .init(offset: 1, test: .equals([0x5A]))),
    ]

    /// `input` in pieces of `size` bytes, the last shorter: as a serial line delivers a stream.
    private static func pieces(of input: ArraySlice<UInt8>, size: Int) -> [ArraySlice<UInt8>] {
        stride(from: input.startIndex, to: input.endIndex, by: size).map {
            input[$0..<min(input.endIndex, $0 + size)]
        }
    }
}

#if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    private func runLibFuzzer(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// The target libFuzzer's callback runs (chosen once, before fuzzing starts).
    nonisolated(unsafe) private var selected = FuzzTarget.configuration

    /// libFuzzer's entry point; the SwiftPM-built `main` below hands over to libFuzzer's driver.
    @_cdecl("LLVMFuzzerTestOneInput")
    func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        selected.run(Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
#endif

/// `weighbridge-fuzz`. Built by scripts/fuzz with `-sanitize=fuzzer -DFUZZING`, it is a libFuzzer
/// binary for the target named by `WEIGHBRIDGE_FUZZ_TARGET`, taking libFuzzer's arguments.
/// Built normally, it replays inputs: `weighbridge-fuzz TARGET FILE|DIRECTORY…` runs every file
/// through the target (the committed corpora and past crashes, as regression tests).
@main
struct WeighbridgeFuzz {
    static func main() {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
        #if FUZZING
            guard let name = ProcessInfo.processInfo.environment["WEIGHBRIDGE_FUZZ_TARGET"],
                let target = FuzzTarget(rawValue: name)
            else { fail("set WEIGHBRIDGE_FUZZ_TARGET to \(names)") }
            selected = target
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(runLibFuzzer(&argc, &argv, fuzzOneInput))
        #else
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
                fail("usage: weighbridge-fuzz \(names) FILE|DIRECTORY…")
            }
            var count = 0
            for path in arguments.dropFirst() {
                for file in files(at: path) {
                    guard let data = FileManager.default.contents(atPath: file) else { fail("cannot read \(file)") }
                    target.run(Array(data))
                    count += 1
                }
            }
            print("replayed \(count) inputs through \(target.rawValue)")
        #endif
    }

    /// `path` itself, or the regular files directly inside it, sorted.
    private static func files(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            fail("no such file \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }.filter {
            var nested: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &nested) && !nested.boolValue
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(2)
    }
}
