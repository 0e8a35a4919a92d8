"""A whole gatehouse on loopback for scripts/chaos and scripts/bench: dwt-sandbox, one simulated
indicator on Modbus TCP and one on Modbus RTU (a socat pty pair), and weighbridged between them,
with a control-socket client and the simulator's command protocol. Standard library only."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request


class DaemonDown(Exception):
    """The control socket is not answering (the daemon is stopped, starting or killed)."""


class Refused(Exception):
    """The daemon answered with an error object."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code


class Simulator:
    """weighbridge-sim over its stdin/stdout command protocol, one command at a time."""

    def __init__(self, binary, args, log):
        self.process = subprocess.Popen(
            [binary, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
        self.first_line = self.process.stdout.readline().strip()
        self.lock = threading.Lock()

    def command(self, line):
        with self.lock:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
            reply = self.process.stdout.readline().strip()
        if not reply.startswith("ok"):
            raise RuntimeError(f"simulator: {line!r} → {reply!r}")
        return reply

    def vehicle(self, gross_kg, hold_ms, ramp_ms, gap_ms):
        """Drives a vehicle on, holds it, drives it off, leaves the deck empty for gap_ms; returns
        when the vehicle came to rest, in microseconds since the epoch."""
        self.command(f"vehicle {gross_kg} {hold_ms} {ramp_ms}")
        self.command("wait-empty")
        settled = int(self.command("settled").split()[-1])
        self.command(f"wait {gap_ms}")
        return settled

    def answers_at_zero(self):
        """How many polls were answered without a fault at the empty deck before the latest
        vehicle drove on."""
        return int(self.command("answers-at-zero").split()[-1])

    def answers_at_rest(self):
        """When polls were answered without a fault while the latest vehicle stood still, in
        milliseconds after it came to rest."""
        return [int(word) for word in self.command("answers-at-rest").split()[2:]]

    def stop(self):
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Site:
    """Starts everything in `work` and stops it on `close()`."""

    def __init__(self, bin_dir, work, seed=1, poll_ms=50, settle_ms=300, store_dir=None, api_latency_ms=0,
                 max_in_flight=4, daemon=None, profile="brief"):
        self.bin = bin_dir
        self.profile = profile
        self.daemon_binary = daemon or f"{bin_dir}/weighbridged"
        self.work = work
        self.poll_ms = poll_ms
        self.settle_ms = settle_ms
        self.store_dir = store_dir or work
        self.socket_path = os.path.join(work, "control.sock")
        self.log = open(os.path.join(work, "processes.log"), "a")
        self.daemon = None
        self.daemon_starts = 0
        self.request_id = 0
        self.processes = []
        self.simulators = {}
        self.tty_holder = None
        try:
            self._start(bin_dir, work, seed, poll_ms, settle_ms, api_latency_ms, max_in_flight)
        except BaseException:
            self.close()
            raise

    def _start(self, bin_dir, work, seed, poll_ms, settle_ms, api_latency_ms, max_in_flight):
        self.sandbox = subprocess.Popen(
            [f"{bin_dir}/dwt-sandbox", "--port", "0", "--latency-ms", str(api_latency_ms)],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.processes.append(self.sandbox)
        self.sandbox_url = self.sandbox.stdout.readline().split()[-1]

        self.tcp_sim = Simulator(
            f"{bin_dir}/weighbridge-sim", ["--tcp-port", "0", "--profile", "laumas", "--division-kg", "20",
                                           "--seed", str(seed)], self.log)
        self.simulators["tcp-in"] = self.tcp_sim
        tcp_port = int(self.tcp_sim.first_line.rsplit(":", 1)[-1])
        sim_tty, daemon_tty = os.path.join(work, "sim-tty"), os.path.join(work, "daemon-tty")
        self.socat = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={sim_tty}", f"pty,raw,echo=0,link={daemon_tty}"],
            stdout=self.log, stderr=self.log)
        self.processes.append(self.socat)
        deadline = time.monotonic() + 10
        while not (os.path.exists(sim_tty) and os.path.exists(daemon_tty)):
            if time.monotonic() > deadline:
                raise RuntimeError("socat did not create the pty pair")
            time.sleep(0.05)
        # 8N1 on the RTU bridge: glibc refuses to set parity on a pty once it has been used (EINVAL).
        # A real serial adapter stays when the daemon restarts; a pty pair ends when its last user
        # closes one side. Holding the daemon's side open (never read) keeps it like the real thing.
        self.tty_holder = os.open(daemon_tty, os.O_RDWR | os.O_NOCTTY)
        self.rtu_sim = Simulator(
            f"{bin_dir}/weighbridge-sim", ["--rtu", sim_tty, "--unit", "1", "--profile", "laumas",
                                           "--division-kg", "20", "--seed", str(seed + 1000)], self.log)
        self.simulators["rtu-in"] = self.rtu_sim

        token, secret = os.path.join(work, "dwt-token"), os.path.join(work, "dwt-client-secret")
        for path, value in [(token, "sandbox-brief-token"), (secret, "sandbox-client-secret")]:
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
                handle.write(value)
        receiver = """name = "Chaos Recovery Facility"
permit = "EPR/AB1234CD"
address = "1 Test Road, Testtown"
postcode = "TE1 1ST"
""" if self.profile == "defra-receipt" else ""
        oauth = f"""[api.oauth]
token_url = "{self.sandbox_url}/oauth2/token"
client_id = "weighbridged"
client_secret_file = "{secret}"
api_code = "ba6eb330-4f7f-11eb-a2fb-67c34e9ac07c"
""" if self.profile == "defra-receipt" else ""
        self.config = os.path.join(work, "weighbridged.toml")
        with open(self.config, "w") as handle:
            handle.write(f"""[site]
id = "SITE-CHAOS"
jurisdiction = "england"
{receiver}[store]
path = "{self.store_dir}/weighbridged.sqlite"
[control]
socket = "{self.socket_path}"
group = "{subprocess.run(['id', '-gn'], capture_output=True, text=True).stdout.strip()}"
[api]
profile = "{self.profile}"
base_url = "{self.sandbox_url}"
token_file = "{token}"
timeout_seconds = 5
backoff_base_ms = 200
backoff_cap_ms = 2000
max_in_flight = {max_in_flight}
{oauth}[[bridge]]
name = "tcp-in"
transport = "tcp"
host = "127.0.0.1"
port = {tcp_port}
profile = "laumas"
poll_ms = {poll_ms}
division_kg = 20
max_kg = 60000
settle_ms = {settle_ms}
[[bridge]]
name = "rtu-in"
transport = "rtu"
device = "{daemon_tty}"
baud = 19200
parity = "N"
unit = 1
profile = "laumas"
poll_ms = {poll_ms}
division_kg = 20
max_kg = 60000
settle_ms = {settle_ms}
[log]
level = "info"
""")
        self.start_daemon()

    # The daemon

    def start_daemon(self, wait=True):
        self.daemon = subprocess.Popen(
            [self.daemon_binary, "--config", self.config], stdout=self.log, stderr=self.log)
        self.daemon_starts += 1
        if wait:
            self.wait_until_answering()

    def wait_until_answering(self, timeout=60):
        """Until the control socket answers and each bridge is armed: the daemon re-arms only after
        the deck has read zero for its zero dwell, so a vehicle driven on sooner is not captured.
        A bridge with a load on it (a vehicle was on the deck when the daemon stopped) is left to
        re-arm when that vehicle leaves. A bridge not yet polled has no phase: not ready either."""
        deadline = time.monotonic() + timeout
        bridges = None
        while True:
            try:
                bridges = self.ctl("bridges")
                if all(b["phase"] is not None and (b["phase"] != "waiting_for_zero" or b["weight_kg"] != 0)
                       for b in bridges):
                    return self.ctl("status")
            except DaemonDown:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise DaemonDown(f"a bridge did not arm within {timeout} s: {bridges}")
            time.sleep(0.05)

    def daemon_alive(self):
        return self.daemon is not None and self.daemon.poll() is None

    def kill_daemon(self):
        """SIGKILL: no chance to finish anything, as after a power cut."""
        if self.daemon_alive():
            self.daemon.send_signal(signal.SIGKILL)
        if self.daemon is not None:
            self.daemon.wait()

    def stop_daemon(self):
        """SIGTERM, as systemd stops it: returns the exit status."""
        if not self.daemon_alive():
            return self.daemon.returncode if self.daemon else None
        self.daemon.send_signal(signal.SIGTERM)
        return self.daemon.wait(timeout=30)

    def ctl(self, command, **arguments):
        """One control-socket request; DaemonDown when nobody answers, Refused on an error."""
        self.request_id += 1
        request = {"v": 1, "id": self.request_id, "cmd": command, **arguments}
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(30)
                connection.connect(self.socket_path)
                connection.sendall((json.dumps(request) + "\n").encode())
                reply = b""
                while not reply.endswith(b"\n"):
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
        except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError, BrokenPipeError,
                socket.timeout) as error:
            raise DaemonDown(str(error))
        if not reply:
            raise DaemonDown("connection closed without an answer")
        answer = json.loads(reply)
        if "error" in answer:
            raise Refused(answer["error"].get("code"), answer["error"].get("message"))
        return answer.get("ok")

    def ctl_when_up(self, command, timeout=120, **arguments):
        """A request that waits out a daemon restart."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.ctl(command, **arguments)
            except DaemonDown:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def listed(self, command, rows, **arguments):
        """Every row of a listing (`movements` under "movements", `outbox` under "entries"),
        newest first, a page at a time."""
        page = self.ctl_when_up(command, limit=1000, **arguments)
        found = page[rows]
        while page["next_before"] is not None:
            page = self.ctl_when_up(command, limit=1000, before=page["next_before"], **arguments)
            found += page[rows]
        return found

    # What a Defra receipt needs that the weighbridge cannot know, as a WMS would supply it.
    RECEIPT = {
        "wasteItems": [{"wasteDescription": "Mixed waste", "physicalForm": "Mixed", "numberOfContainers": 1,
                        "typeOfContainers": "SKI", "containsPops": False, "containsHazardous": False}],
        "carrier": {"registrationNumber": "CBDU123456", "organisationName": "Carrier Ltd",
                    "meansOfTransport": "Road"},
    }

    def expect(self, movement, vehicle, declared_kg, ewc="20 03 01"):
        """A movement expected, with receipt data under `defra-receipt`."""
        receipt = {"receipt": self.RECEIPT} if self.profile == "defra-receipt" else {}
        self.ctl_when_up("expect", movement_id=movement, declared_weight_kg=declared_kg, ewc_codes=[ewc],
                         vehicle_registration=vehicle, **receipt)

    def expect_with_stored_tare(self, movement, vehicle, declared_kg, tare_kg, ewc="20 03 01"):
        """A movement whose vehicle has a stored tare: one weighing completes it."""
        self.expect(movement, vehicle, declared_kg, ewc)
        self.ctl_when_up("tare-set", vehicle=vehicle, tare_kg=tare_kg, expires_at="2099-01-01T00:00:00Z",
                         reason="stored tare for a scripted run")

    def drive_confirmations(self, prefix, count, hold_ms, ramp_ms, gap_ms):
        """`count` movements (10 000 kg declared, stored tares, all within 5%), each weighed once
        over one of the two bridges; returns the ids and, for each, when its vehicle came to rest
        (microseconds since the epoch)."""
        ids, vehicles = [], {}
        for index in range(count):
            ids.append(f"{prefix}-{index:05d}")
            vehicles[ids[-1]] = f"{prefix[:2]}{index:05d}"
            self.expect_with_stored_tare(ids[-1], vehicles[ids[-1]], declared_kg=10000, tare_kg=12000)
        settled = {}

        def drive(bridge, movements):
            for number, movement in enumerate(movements):
                # By registration: a stored tare is used only for a vehicle identified by it.
                self.ctl_when_up("arrive", bridge=bridge, vehicle=vehicles[movement])
                settled[movement] = self.simulators[bridge].vehicle(
                    22000 + 20 * (number % 10), hold_ms, ramp_ms, gap_ms)

        on_both_bridges(ids, drive)
        return ids, settled

    def wait_for_outbox(self, timeout=120):
        """Until no report is waiting to be sent (or `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while self.ctl_when_up("status")["outbox_pending"] > 0 and time.monotonic() < deadline:
            time.sleep(0.2)

    # The sandbox

    def sandbox_request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.sandbox_url}/__sandbox/{path}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def close(self):
        if self.daemon_alive():
            try:
                self.stop_daemon()
            except subprocess.TimeoutExpired:
                self.kill_daemon()
        for simulator in self.simulators.values():
            simulator.stop()
        if self.tty_holder is not None:
            os.close(self.tty_holder)
        for process in self.processes:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.log.close()


BRIDGES = ("tcp-in", "rtu-in")


def on_both_bridges(items, visit):
    """Deals `items` alternately to the TCP and the RTU bridge and runs visit(bridge, its items)
    for both at once; returns when both are done."""
    threads = [threading.Thread(target=visit, args=(bridge, items[offset::2])) for offset, bridge in enumerate(BRIDGES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
