"""scripts/chaos: vehicles through weighbridge-sim (TCP and RTU) → weighbridged → dwt-sandbox while
faults are injected at random (seeded): API flapping and 429 storms, indicator disconnects, RTU
garbage and bad CRCs, SIGKILL of the daemon every 10–30 s, and a disk-full window under the store.
At the end it checks that nothing was lost or reported twice and prints what it did.

A vehicle whose weighing the daemon did not record (it was killed while the vehicle stood on the
deck) drives on again, as a driver would be waved back at a real gatehouse: no ticket was given,
so nothing was acknowledged. A weighing the daemon holds because the disk is full is waited for.
Every weighing the daemon did acknowledge (a ticket shown by `show`) must still be there at the
end, whole."""

import argparse
import collections
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from gatehouse import Refused, Site  # noqa: E402

HOLD_MS, RAMP_MS, GAP_MS = 700, 150, 300
HELD_LIMIT_S = 120  # a disk-full window lasts 3–8 s: a weighing held longer is a failure
CAPTURED = re.compile(r"captured .+? on \S+, ticket (\d+), for (\S+)")
HELD = re.compile(r"weighing on \S+ of .+? recorded after being held")
HIGH_RISK_CODE = "16 06 05"  # lithium-ion batteries: high-risk under the default policy


class Faults:
    """Injects faults on its own thread until stopped; counts what it injected."""

    def __init__(self, site, rng, disk_full_dir):
        self.site = site
        self.rng = rng
        self.disk_full_dir = disk_full_dir
        self.injected = collections.Counter()
        # (start, end, bridge or None for all, what): the faults that can cost a capture, for the
        # re-drive accounting. API faults never can.
        self.windows = []
        self.exits = collections.Counter()  # exit status → times the daemon stopped by itself
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.errors = []

    def run(self):
        # [when next, action, seconds between two of them]; the first of each comes sooner.
        now = time.monotonic()
        schedule = [
            [now + self.rng.uniform(10, 30), self.kill_and_restart, (10, 30)],
            [now + self.rng.uniform(2, 6), self.api_fault, (3, 10)],
            [now + self.rng.uniform(3, 8), self.indicator_fault, (4, 12)],
        ]
        if self.disk_full_dir:
            schedule.append([now + self.rng.uniform(15, 40), self.disk_full_window, (60, 120)])
        while not self.stopping.wait(0.1):
            try:
                self.supervise()
                for entry in schedule:
                    if time.monotonic() >= entry[0]:
                        entry[1]()
                        entry[0] = time.monotonic() + self.rng.uniform(*entry[2])
            except Exception as error:  # a fault that could not be injected is a harness failure
                self.errors.append(f"{type(error).__name__}: {error}")
                self.stopping.set()

    def supervise_only(self):
        """No fault at all (a calm day): only restart a daemon that stopped by itself."""
        while not self.stopping.wait(0.1):
            try:
                self.supervise()
            except Exception as error:
                self.errors.append(f"{type(error).__name__}: {error}")
                self.stopping.set()

    def supervise(self):
        """systemd's Restart=on-failure: a daemon that exited on its own comes back (RestartSec)."""
        with self.lock:
            if self.site.daemon_alive():
                return
            self.exits[self.site.daemon.returncode] += 1
            stopped = time.monotonic()
            time.sleep(1)
            self.site.start_daemon(wait=False)
            self.windows.append((stopped, time.monotonic(), None, "the daemon stopped by itself"))

    def kill_and_restart(self):
        with self.lock:
            killed = time.monotonic()
            self.site.kill_daemon()
            self.injected["daemon SIGKILL"] += 1
            # systemd's RestartSec: a moment before it comes back.
            time.sleep(self.rng.uniform(0.2, 1.5))
            self.site.start_daemon(wait=False)
            self.windows.append((killed, time.monotonic(), None, "daemon SIGKILL"))

    def api_fault(self):
        kind = self.rng.choice(["503", "500", "504 after processing", "drop-after", "drop-before", "429 storm",
                                "latency"])
        count = self.rng.randint(3, 30) if kind == "429 storm" else self.rng.randint(1, 8)
        fault = {
            "503": {"status": 503, "retry_after": 1},
            "500": {"status": 500},
            "504 after processing": {"status": 504, "after_processing": True},
            "drop-after": {"drop": "after"},
            "drop-before": {"drop": "before"},
            "429 storm": {"status": 429, "retry_after": 1},
            "latency": {"latency_ms": self.rng.randint(200, 2000)},
        }[kind]
        self.site.sandbox_request("POST", "faults", {"faults": [fault] * count})
        self.injected[f"API {kind}"] += 1

    def indicator_fault(self):
        kind = self.rng.choice(["tcp disconnect", "rtu garbage", "rtu bad CRC", "rtu silence"])
        started = time.monotonic()
        if kind == "tcp disconnect":
            self.site.tcp_sim.command("drop")
        else:
            fault = {"rtu garbage": "garbage", "rtu bad CRC": "crc", "rtu silence": "no-reply"}[kind]
            self.site.rtu_sim.command(f"fault {fault}")
            time.sleep(self.rng.uniform(0.5, 2.5))
            self.site.rtu_sim.command("fault none")
        self.injected[kind] += 1
        self.windows.append((started, time.monotonic(), "tcp-in" if kind == "tcp disconnect" else "rtu-in", kind))

    def disk_full_window(self):
        """Fills the store's file system to the last byte for a few seconds, then frees it."""
        filler = os.path.join(self.disk_full_dir, "filler")
        started = time.monotonic()
        try:
            # Unbuffered: a buffered file would try the failed write again when closed, and raise.
            with open(filler, "wb", buffering=0) as handle:
                try:
                    while True:
                        handle.write(b"\0" * 65536)
                except OSError:
                    pass
            time.sleep(self.rng.uniform(3, 8))
        finally:
            os.remove(filler)
            self.windows.append((started, time.monotonic(), None, "disk full window"))
        self.injected["disk full window"] += 1


class Driver:
    """Drives the vehicles of one bridge, one after another."""

    def __init__(self, site, bridge, movements, rng, faults):
        self.site = site
        self.bridge = bridge
        self.movements = movements
        self.rng = rng
        self.faults = faults
        self.acknowledged = {}  # ticket → (movement, weight_kg)
        self.reweighed = 0
        # (movement, when the drive began, when it was found not captured, how often the
        # indicator answered at the empty deck before it, and when while it stood still: ms after
        # it came to rest; 0 and None if it was not driven)
        self.redrives = []
        self.errors = []

    def run(self):
        try:
            for movement in self.movements:
                self.visit(movement)
        except Exception as error:
            self.errors.append(f"{self.bridge}: {type(error).__name__}: {error}")

    def visit(self, movement):
        """Each pass of the movement (one with a stored tare, gross then tare without), until its
        weighing is acknowledged."""
        for index, weight in enumerate(movement["passes"]):
            self.weigh(movement, index, weight)

    def weigh(self, movement, index, weight):
        simulator = self.site.simulators[self.bridge]
        drive, held_since, began, at_zero, at_rest = True, None, time.monotonic(), 0, None
        while True:
            if drive:
                began, at_zero, at_rest = time.monotonic(), 0, None
            if drive and self.arrive(movement, index):
                simulator.vehicle(weight, HOLD_MS, RAMP_MS, GAP_MS)
                at_zero, at_rest = simulator.answers_at_zero(), simulator.answers_at_rest()
            # The capture may still be committing on a loaded machine: look a few times.
            for _ in range(10):
                shown = self.site.ctl_when_up("show", movement=movement["id"])
                if len(shown["weighings"]) > index:
                    for weighing in shown["weighings"]:
                        self.acknowledged[weighing["ticket"]] = (movement["id"], str(weighing["weight_kg"]))
                    return
                time.sleep(0.1)
            # The daemon holds this vehicle's weighing until the store can take it (a full disk;
            # the bridge takes no other meanwhile): the driver waits for the ticket, as the
            # gatehouse would tell them to, instead of weighing again.
            drive = not self.holding()
            if drive:
                self.reweighed += 1
                self.redrives.append((movement["id"], began, time.monotonic(), at_zero, at_rest))
                held_since = None
            else:
                held_since = held_since or time.monotonic()
                if time.monotonic() - held_since > HELD_LIMIT_S:
                    raise RuntimeError(f"{movement['id']}: weighing held unrecorded for over {HELD_LIMIT_S} s")
                time.sleep(0.2)

    def holding(self):
        bridges = self.site.ctl_when_up("bridges")
        return any(bridge["name"] == self.bridge and bridge.get("held_weighing_kg") is not None for bridge in bridges)

    def arrive(self, movement, index):
        """Announces the vehicle for pass `index`; False when the movement already has it. A
        vehicle on a stored tare is announced by its registration, as the daemon needs for a
        one-pass net; a vehicle weighed twice by its movement's id."""
        movement_id = movement["id"]
        while True:
            try:
                if not movement["stored_tare"]:
                    self.site.ctl_when_up("arrive", bridge=self.bridge, movement=movement_id)
                    return True
                if len(self.site.ctl_when_up("show", movement=movement_id)["weighings"]) > index:
                    return False  # recorded after all, just later than the driver looked
                arrival = self.site.ctl_when_up("arrive", bridge=self.bridge, vehicle=movement["vehicle"])
                if arrival["subject"] == f"movement {movement_id}":
                    return True
                # The registration matched no open movement: its weighing was recorded between the
                # look and the announcement. Take the announcement back; the vehicle has its ticket.
                self.site.ctl_when_up("depart", vehicle=movement["vehicle"])
                if len(self.site.ctl_when_up("show", movement=movement_id)["weighings"]) > index:
                    return False
                raise RuntimeError(f"arrive {movement['vehicle']} announced {arrival['subject']}, "
                                   f"not movement {movement_id}")
            except Refused as refusal:
                if refusal.code == "unavailable":
                    time.sleep(0.5)  # the store refused the write (a full disk): as an operator would, retry
                    continue
                shown = self.site.ctl_when_up("show", movement=movement_id)
                if shown["state"] == "arrived":
                    return True  # the arrival from before a restart stands
                if len(shown["weighings"]) > index:
                    return False
                raise RuntimeError(f"arrive {movement_id} refused: {refusal}; it is {shown['state']}")


def plan(rng, vehicles, seed):
    """The day's movements, with the decision each must get under the 5% rule."""
    movements = []
    for index in range(vehicles):
        tare = rng.randrange(8000, 14000, 20)
        declared = rng.randrange(2000, 20000, 400)
        shape = index % 10
        if shape == 0:
            net = declared * 105 // 100  # exactly +5.00%: confirmed
        elif shape == 1:
            net = declared * 95 // 100  # exactly −5.00%: confirmed
        elif shape == 2:
            net = declared * 105 // 100 + 20  # just over: Discrepancy
        else:
            net = declared + rng.randrange(-8, 9) * declared // 100 // 20 * 20
        high_risk = rng.random() < 0.05
        within = abs(net - declared) * 100 <= 5 * declared
        # Half on a stored tare (one weighing), half weighed loaded and then empty (two).
        stored_tare = index % 2 == 0
        movements.append({
            "id": f"CH{seed}-{index:04d}", "vehicle": f"CH{index:04d}", "tare_kg": tare, "declared_kg": declared,
            "stored_tare": stored_tare, "passes": [tare + net] if stored_tare else [tare + net, tare],
            "ewc": HIGH_RISK_CODE if high_risk else "20 03 01",
            "expected": "confirmed" if within and not high_risk else "discrepancy",
        })
    return movements


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--vehicles", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=["brief", "defra-receipt"], default="brief")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--calm", action="store_true",
                        help="inject no fault at all: every vehicle must be captured on its first drive")
    parser.add_argument("--without-disk-full", action="store_true",
                        help="leave out the disk-full window (it needs root, to mount a small ext4 file system)")
    options = parser.parse_args()

    rng = random.Random(options.seed)
    work = tempfile.mkdtemp(prefix=f"weighbridged-chaos-{options.seed}-", dir="/var/tmp")
    store_dir, disk_full, mounted = os.path.join(work, "store"), None, False
    os.makedirs(store_dir)
    # A small file system of its own under the store, so the disk can be filled without
    # touching the machine's: ext4 on a loop device, the file system a gatehouse box runs on
    # (fsync, delayed allocation, the journal are its own, not a tmpfs's). Mounting needs root:
    # without it the run stops, unless the disk-full window was left out on purpose.
    if not options.without_disk_full and not options.calm:
        image = os.path.join(work, "store.ext4")
        with open(image, "wb") as handle:
            handle.truncate(64 << 20)
        for step, command in [
            ("making an ext4 file system", ["mkfs.ext4", "-q", "-F", "-m", "0", image]),
            ("mounting it on a loop device", ["mount", "-o", "loop", image, store_dir]),
        ]:
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                shutil.rmtree(work, ignore_errors=True)
                sys.exit(f"chaos: the disk-full window needs a file system of its own; {step} failed "
                         f"({done.stderr.strip() or done.returncode}): run as root, or leave the window "
                         f"out with --without-disk-full")
        disk_full, mounted = store_dir, True
    started = time.monotonic()
    site = None
    failures = []
    try:
        site = Site(options.bin, work, seed=options.seed, store_dir=store_dir, profile=options.profile)
        movements = plan(rng, options.vehicles, options.seed)
        for movement in movements:
            if movement["stored_tare"]:
                site.expect_with_stored_tare(movement["id"], movement["vehicle"], movement["declared_kg"],
                                             movement["tare_kg"], movement["ewc"])
            else:
                site.expect(movement["id"], movement["vehicle"], movement["declared_kg"], movement["ewc"])

        faults = Faults(site, random.Random(options.seed * 7919), disk_full)
        drivers = [Driver(site, bridge, movements[offset::2], random.Random(options.seed + offset), faults)
                   for offset, bridge in enumerate(["tcp-in", "rtu-in"])]
        threads = [threading.Thread(target=driver.run) for driver in drivers]
        fault_thread = threading.Thread(target=faults.supervise_only if options.calm else faults.run)
        fault_thread.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        faults.stopping.set()
        fault_thread.join()
        with faults.lock:
            if not site.daemon_alive():
                site.start_daemon(wait=False)
        site.sandbox_request("POST", "clear-faults")
        site.rtu_sim.command("fault none")
        failures += faults.errors + [error for driver in drivers for error in driver.errors]

        # Let the outbox drain, then judge.
        deadline = time.monotonic() + 180
        while True:
            status = site.ctl_when_up("status")
            if status["outbox_pending"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        resolve_unknown_receipts(site, movements)
        failures += judge(site, movements, drivers, faults.windows, calm=options.calm)
        exit_status = site.stop_daemon()
        if exit_status != 0:
            failures.append(f"the daemon's exit status on SIGTERM was {exit_status}, not 0")
        report(options, movements, faults, drivers, site, failures, time.monotonic() - started, mounted)
    finally:
        if site is not None:
            site.close()
        if mounted:
            subprocess.run(["umount", store_dir])
        if options.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


def resolve_unknown_receipts(site, movements):
    """What the operator's guide says to do with an `unknown` receipt: look for it in the service
    (here the sandbox's request log: a POST for the movement that it stored) and record what was
    found, or resend it when it is not there. Counted for the report."""
    resolve_unknown_receipts.found = resolve_unknown_receipts.resent = 0
    stored = collections.defaultdict(int)
    for request in site.sandbox_request("GET", "requests"):
        if request["method"] == "POST" and request["path"] == "/movements/receive" and request["status"] == 201:
            for movement in movements:
                if f'"{movement["id"]}"' in request["body"]:
                    stored[movement["id"]] += 1
    for entry in site.listed("outbox", "entries", state="unknown"):
        if stored[entry["movement_id"]]:
            site.ctl_when_up("resolve", entry=entry["id"], tracking_id="found-in-the-service",
                             reason="the receipt is in the service")
            resolve_unknown_receipts.found += 1
        else:
            site.ctl_when_up("resolve", entry=entry["id"], resend=True, reason="not in the service")
            resolve_unknown_receipts.resent += 1
    deadline = time.monotonic() + 120
    while site.ctl_when_up("status")["outbox_pending"] > 0 and time.monotonic() < deadline:
        time.sleep(0.5)


REDRIVE_MARGIN_S = 3
# How long a link can stay silent after its indicator's fault ends: BridgeAcquisition's reconnect
# backoff (ceilings 0.1 s doubling to 10 s, reached after a few failures) and one serial response
# timeout (0.5 s).
LINK_RECOVERY_S = 10.5


# Readings at zero that arm a bridge when they span its zero dwell (two poll intervals in chaos):
# three, and two to spare.
ZERO_ANSWERS_TO_ARM = 5


def longest_steady_read(answers, poll_ms):
    """The longest stretch (ms) of answers at rest with no gap over two poll intervals: the most
    the daemon's settle window can have seen, since a longer gap starts the window again."""
    longest, first, previous = 0, None, None
    for answer in answers:
        if previous is None or answer - previous > 2 * poll_ms:
            first = answer
        previous = answer
        longest = max(longest, answer - first)
    return longest


def classify_redrives(drivers, windows, poll_ms, settle_ms):
    """Sorts each re-drive by its cause: a fault that can cost any capture (a kill, the daemon
    stopping, a full disk) within REDRIVE_MARGIN_S of the drive, or this bridge's indicator fault
    with the link recovering from it (LINK_RECOVERY_S). Otherwise, what the indicator saw decides:
    read at the empty deck (ZERO_ANSWERS_TO_ARM) and then steadily for a whole settle window (and
    a poll to spare) while the vehicle stood still, the daemon dropped a capture it had; read with
    gaps over two poll intervals, the poller was starved of CPU and rightly started its window
    again; anything else has nothing to explain it."""
    causes = collections.defaultdict(list)
    unexplained = []
    for driver in drivers:
        for movement, began, noticed, at_zero, answers in driver.redrives:
            answers = answers or []
            daemon_down = any(bridge is None and start - REDRIVE_MARGIN_S <= noticed and end + REDRIVE_MARGIN_S >= began
                              for start, end, bridge, _ in windows)
            recovering = any(start <= noticed and end + LINK_RECOVERY_S >= began and bridge == driver.bridge
                             for start, end, bridge, _ in windows)
            steady = longest_steady_read(answers, poll_ms)
            gaps = [later - earlier for earlier, later in zip(answers, answers[1:])]
            last = min(((began - end, what) for start, end, bridge, what in windows
                        if start <= noticed and bridge in (None, driver.bridge)), default=None)
            since = f"; the last fault: {last[1]}, {last[0]:.1f} s before it" if last else ""
            drive = (f"{movement} on {driver.bridge} ({noticed - began:.1f} s drive{since}; read {at_zero} times "
                     f"at zero before, at rest at {answers} ms)")
            if daemon_down:
                causes["the daemon down or its disk full"].append(drive)
            elif recovering:
                causes["the indicator's fault, or the link recovering from it"].append(drive)
            elif at_zero >= ZERO_ANSWERS_TO_ARM and steady >= settle_ms + poll_ms:
                unexplained.append(f"{drive}: read steadily for {steady} ms and not captured")
            elif gaps and max(gaps) > 2 * poll_ms:
                causes["polls too far apart for a settle window"].append(drive)
            else:
                unexplained.append(drive)
    return causes, unexplained


def judge(site, movements, drivers, windows, calm):
    failures = []
    causes, unexplained = classify_redrives(drivers, windows, site.poll_ms, site.settle_ms)
    judge.redrive_causes, judge.unexplained = causes, len(unexplained)
    failures += [f"re-drive with nothing to explain it: {item}" for item in unexplained]
    if calm:
        failures += [f"a calm run weighed a vehicle again, after {cause}: {drive}"
                     for cause, drives in causes.items() for drive in drives]
    tickets = {}
    terminal = collections.Counter()
    for movement in movements:
        shown = site.ctl_when_up("show", movement=movement["id"])
        terminal[shown["state"]] += 1
        if shown["state"] != movement["expected"]:
            failures.append(f"{movement['id']}: {shown['state']}, expected {movement['expected']}")
        for weighing in shown["weighings"]:
            tickets[weighing["ticket"]] = (movement["id"], str(weighing["weight_kg"]))
        reports = shown["reports"]
        # Defra has no Discrepancy: one is held locally, and nothing is reported for it.
        reported = site.profile == "brief" or movement["expected"] == "confirmed"
        if reported and (len(reports) != 1 or reports[0]["state"] != "done"):
            failures.append(f"{movement['id']}: reports {[(r['kind'], r['state']) for r in reports]}")
        if not reported and reports:
            failures.append(f"{movement['id']}: a local Discrepancy was reported: {reports}")
    unattributed = site.ctl_when_up("status")["unattributed_tickets"]
    if unattributed:
        failures.append(f"weighings left unattributed (an acknowledged arrival was lost?): tickets {unattributed}")
    for ticket in unattributed:
        tickets.setdefault(ticket, ("unattributed", None))
    for driver in drivers:
        for ticket, (movement, weight) in driver.acknowledged.items():
            if tickets.get(ticket) != (movement, weight):
                failures.append(f"acknowledged ticket {ticket} ({movement}, {weight} kg) is now {tickets.get(ticket)}")
    # What the daemon itself acknowledged, across every restart: its journal's "captured" lines.
    with open(os.path.join(site.work, "processes.log"), errors="replace") as log:
        text = log.read()
        logged = CAPTURED.findall(text)
        judge.held = len(HELD.findall(text))
    for ticket, movement in logged:
        if tickets.get(int(ticket), (None,))[0] != movement:
            failures.append(f"the daemon logged ticket {ticket} captured for {movement}; "
                            f"the store has {tickets.get(int(ticket))}")
    if tickets and not logged:
        failures.append("no capture found in the daemon's log: the check of its acknowledgments saw nothing")
    # A report resent under another key, or answered 409, would be a second report to the API.
    keys = collections.defaultdict(set)
    for request in site.sandbox_request("GET", "requests"):
        if request["method"] == "PUT":
            keys[request["path"]].add(request["idempotency_key"])
            if request["status"] == 409:
                failures.append(f"409 at the sandbox for {request['path']}: a conflicting second report")
    failures += [f"{path} sent under {len(found)} idempotency keys" for path, found in keys.items() if len(found) > 1]
    if tickets and sorted(tickets) != list(range(1, max(tickets) + 1)):
        missing = sorted(set(range(1, max(tickets) + 1)) - set(tickets))
        failures.append(f"tickets not gap-free: missing {missing[:10]}")
    summary = site.sandbox_request("GET", "summary")
    if summary["duplicates"] != 0:
        failures.append(f"{summary['duplicates']} duplicate reports at the sandbox")
    if site.profile == "brief" and (summary["confirmations"] != terminal["confirmed"]
                                    or summary["discrepancies"] != terminal["discrepancy"]):
        failures.append(f"sandbox holds {summary['confirmations']} confirmations and {summary['discrepancies']} "
                        f"discrepancies; the daemon decided {terminal['confirmed']} and {terminal['discrepancy']}")
    if site.profile == "defra-receipt" and summary["receipts"] != terminal["confirmed"]:
        failures.append(f"sandbox holds {summary['receipts']} receipts; the daemon confirmed {terminal['confirmed']}")
    audit = site.ctl_when_up("audit-verify")
    if not audit.get("intact"):
        failures.append(f"audit chain broken: {audit}")
    judge.tickets, judge.terminal, judge.summary, judge.audit, judge.logged = tickets, terminal, summary, audit, logged
    return failures


def report(options, movements, faults, drivers, site, failures, elapsed, mounted):
    two_pass = sum(1 for movement in movements if not movement["stored_tare"])
    print(f"\nchaos, {options.profile}, seed {options.seed}: {len(movements)} vehicles ({two_pass} weighed twice) "
          f"over a TCP and an RTU bridge in {elapsed:.0f} s")
    print(f"  {'fault injected':<28} {'times':>6}")
    for name, count in sorted(faults.injected.items()):
        print(f"  {name:<28} {count:>6}")
    if options.calm:
        print("  a calm run: no fault injected, so every vehicle must be captured on its first drive")
    elif not mounted:
        print(f"  {'disk full window':<28} {'left out (--without-disk-full)':>6}")
    for status, count in sorted(faults.exits.items()):
        print(f"  the daemon stopped by itself with status {status} {count} times (restarted, as systemd would)")
    print(f"  daemon starts: {site.daemon_starts}; vehicles waved back to weigh again: "
          f"{sum(driver.reweighed for driver in drivers)} ({getattr(judge, 'unexplained', 0)} with nothing to "
          f"explain it); weighings held through a full disk, then recorded: {getattr(judge, 'held', 0)}")
    for cause, drives in sorted(getattr(judge, "redrive_causes", {}).items()):
        print(f"    weighed again after {cause}: {len(drives)}")
    terminal = getattr(judge, "terminal", {})
    summary = getattr(judge, "summary", {})
    print(f"  movements: {dict(terminal)}; weighings recorded: {len(getattr(judge, 'tickets', {}))}, "
          f"acknowledged: {sum(len(driver.acknowledged) for driver in drivers)} seen by the drivers, "
          f"{len(getattr(judge, 'logged', []))} in the daemon's log")
    print(f"  sandbox: {summary.get('confirmations')} confirmations, {summary.get('discrepancies')} discrepancies, "
          f"{summary.get('receipts')} receipts, {summary.get('duplicates')} duplicates, "
          f"{summary.get('requests')} requests")
    print(f"  unknown receipts resolved as the guide says: {getattr(resolve_unknown_receipts, 'found', 0)} found in "
          f"the service, {getattr(resolve_unknown_receipts, 'resent', 0)} resent")
    print(f"  audit chain: {getattr(judge, 'audit', {})}")
    if failures:
        print(f"FAILED ({len(failures)}):")
        for failure in failures[:40]:
            print(f"  - {failure}")
    else:
        print("  zero lost, zero duplicates, every movement decided as the 5% rule says, chain intact: PASSED")


if __name__ == "__main__":
    main()
