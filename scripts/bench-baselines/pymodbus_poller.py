"""The memory and CPU baseline: the smallest useful poller a site might write in Python with
pymodbus instead of running weighbridged. It polls the laumas block (holding registers 6–10) of
each indicator given at RATE_HZ, decodes gross weight and the stable bit, and keeps the latest
reading; no store, no rules, no reporting. Usage: pymodbus_poller.py RATE_HZ PORT [PORT …]"""

import sys
import time

from pymodbus.client import ModbusTcpClient

rate, ports = float(sys.argv[1]), [int(port) for port in sys.argv[2:]]
clients = [ModbusTcpClient("127.0.0.1", port=port) for port in ports]
for client in clients:
    client.connect()
latest = {}
print("polling", flush=True)
next_poll = time.monotonic()
while True:
    for port, client in zip(ports, clients):
        reply = client.read_holding_registers(6, count=5, device_id=1)
        if not reply.isError():
            words = reply.registers
            gross = (words[1] << 16 | words[2]) - ((1 << 32) if words[1] & 0x8000 else 0)
            latest[port] = (gross, bool(words[0] & (1 << 11)))
    next_poll += 1 / rate
    time.sleep(max(0, next_poll - time.monotonic()))
