import Foundation
import Synchronization
import TestSupport
import Testing
import WeighbridgeConfiguration
import WeighbridgeCore
import WeighbridgeModbus
import WeighbridgeTesting

/// A bridge configuration for `map` reached over `transport`, polled every 100 ms: a window then
/// survives a gap of up to 200 ms, which a test machine busy with the other suites can make.
func bridge(
    _ name: String = "test", map: RegisterMap, transport: Transport, unit: Int = 1,
    division: Mass = Mass(20, .kilograms), settleMilliseconds: Int = 600, pollMilliseconds: Int = 100
)
    -> BridgeConfiguration
{
    BridgeConfiguration(
        name: name, transport: transport, unit: unit, preset: .generic, registers: map,
        pollMilliseconds: pollMilliseconds, division: division, maximum: Mass(60_000, .kilograms),
        settleMilliseconds: settleMilliseconds, responseTimeoutMilliseconds: 1_000,
        byteTimeoutMilliseconds: nil, gapMilliseconds: 2)
}

func serialTransport(_ device: String) -> Transport {
    .rtu(SerialSettings(device: device, baud: 19_200, parity: .even, dataBits: 8, stopBits: 1))
}

let wallClock: @Sendable () -> Timestamp = {
    Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000))
}
