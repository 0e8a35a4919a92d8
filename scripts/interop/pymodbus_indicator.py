#!/usr/bin/env python3
"""An independent Modbus peer for interop tests: pymodbus (not libmodbus) serving fixed register
blocks, so the daemon's Modbus is shown to work with a stack other than its own.

Usage: pymodbus_indicator.py (--tcp-port N | --rtu DEVICE) --device UNIT:ADDRESS:HEX[,HEX...] ...
Prints "listening ..." once serving; runs until killed. Several --device on --rtu is a multi-drop line.
"""
import argparse
import asyncio
import sys

from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def parse_device(text):
    unit, address, values = text.split(":")
    registers = [int(value, 16) for value in values.split(",")]
    block = SimData(address=int(address), count=len(registers), values=registers, datatype=DataType.UINT16)
    return SimDevice(id=int(unit), simdata=[block])


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tcp-port", type=int)
    parser.add_argument("--rtu")
    parser.add_argument("--device", action="append", required=True)
    arguments = parser.parse_args()
    devices = [parse_device(text) for text in arguments.device]
    if arguments.tcp_port is not None:
        server = ModbusTcpServer(devices, address=("127.0.0.1", arguments.tcp_port))
        label = f"tcp 127.0.0.1:{arguments.tcp_port}"
    else:
        server = ModbusSerialServer(devices, port=arguments.rtu, baudrate=19200, parity="N")
        label = f"rtu {arguments.rtu}"
    task = asyncio.create_task(server.serve_forever())
    await asyncio.sleep(0.3)
    print(f"listening {label}", flush=True)
    await task


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
