import Testing
import WeighbridgeCore

@Suite("Report Server ID: recorded exactly, read by people")
struct ServerIdentificationTests {
    @Test("libmodbus's answer (id, run indicator, text) reads as its text, id and state; the record keeps every byte")
    func libmodbusAnswer() {
        let answer = ServerIdentification(bytes: [0xB4, 0xFF] + Array("LMB3.1.6".utf8))
        #expect(answer.recorded == "..LMB3.1.6 [B4FF4C4D42332E312E36]")
        #expect(ServerIdentification(recorded: answer.recorded) == answer)
        #expect(answer.readable == "LMB3.1.6 (id B4, running)")
        #expect(ServerIdentification(bytes: [0x01, 0x00] + Array("FT-11".utf8)).readable == "FT-11 (id 01, stopped)")
    }

    @Test("any other answer is shown as recorded; text that is not a record reads as nothing")
    func otherAnswers() {
        let binary = ServerIdentification(bytes: [0x07, 0x42, 0x00, 0x9F])
        #expect(binary.readable == binary.recorded)
        #expect(binary.recorded == ".B.. [0742009F]")
        #expect(ServerIdentification(recorded: "sim") == nil)
        #expect(ServerIdentification(recorded: "x [ABC]") == nil)
        #expect(ServerIdentification(recorded: "x [ZZ]") == nil)
    }
}
