"""scripts/bench footprint: memory and CPU of weighbridged beside a minimal pymodbus poller.

Phase 1, idle: the daemon polls a TCP and an RTU indicator at 5 Hz while the poller polls two TCP
connections at 5 Hz; both are measured over the same window (RSS, PSS, USS and anonymous memory
from /proc/PID/smaps_rollup, CPU from /proc/PID/stat), CPU extrapolated to an hour.
Phase 2, load then soak: a second daemon on the same machine (polling at 50 Hz so that weighings
come quickly) records and reports WEIGHINGS weighings in batches of 1 000 (memory after each),
then idles for SOAK seconds while its memory is sampled: a leak shows as growth from batch to
batch, or over the soak."""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from gatehouse import Site  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def memory(pid):
    """RSS, PSS, USS (private clean + private dirty: what would be freed if the process ended) and
    anonymous memory (heap and stacks: what the kernel cannot drop and re-read), in kB."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                fields[parts[0][:-1]] = int(parts[1])
    # A file page counts as dirty while its page cache copy is (a binary just linked): private
    # clean and private dirty together do not depend on when the kernel last wrote back.
    return (fields.get("Rss", 0), fields.get("Pss", 0),
            fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0), fields.get("Anonymous", 0))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def mb(kilobytes):
    return f"{kilobytes / 1024:.1f}"


def idle_phase(options):
    work = tempfile.mkdtemp(prefix="weighbridged-footprint-", dir="/var/tmp")
    site = Site(options.bin, work, poll_ms=200, settle_ms=2000, daemon=options.daemon)
    port = int(site.tcp_sim.first_line.rsplit(":", 1)[-1])
    poller = subprocess.Popen(
        [sys.executable, options.poller, "5", str(port), str(port)], stdout=subprocess.PIPE, text=True)
    try:
        if poller.stdout.readline().strip() != "polling":
            raise RuntimeError("the pymodbus poller did not start")
        time.sleep(10)  # both settle into their steady state
        processes = {"weighbridged (2 bridges at 5 Hz, store, API client, control)": site.daemon.pid,
                     "pymodbus poller (2 connections at 5 Hz, nothing else)": poller.pid}
        cpu_start = {name: cpu_seconds(pid) for name, pid in processes.items()}
        started = time.monotonic()
        time.sleep(options.idle)
        elapsed = time.monotonic() - started
        if poller.poll() is not None:
            raise RuntimeError(f"the pymodbus poller died (status {poller.returncode}): no comparison")
        print(f"\nfootprint, idle: {options.idle} s measured after 10 s of warm-up")
        print(f"  {'':<62} {'RSS MB':>7} {'PSS MB':>7} {'USS MB':>7} {'anon MB':>7} {'CPU s/hour':>10}")
        for name, pid in processes.items():
            rss, pss, uss, anonymous = memory(pid)
            per_hour = (cpu_seconds(pid) - cpu_start[name]) / elapsed * 3600
            print(f"  {name:<62} {mb(rss):>7} {mb(pss):>7} {mb(uss):>7} {mb(anonymous):>7} {per_hour:>10.1f}")
    finally:
        poller.terminate()
        poller.wait()
        site.close()
        shutil.rmtree(work, ignore_errors=True)


def load_phase(options):
    work = tempfile.mkdtemp(prefix="weighbridged-soak-", dir="/var/tmp")
    site = Site(options.bin, work, poll_ms=20, settle_ms=100, daemon=options.daemon)
    try:
        pid = site.daemon.pid
        before = memory(pid)
        started = time.monotonic()
        # In batches of 1 000 (movements announced a batch at a time, as a day's bookings would
        # be), with the memory after each: caches filling flatten out, a leak keeps climbing.
        ids, curve = [], []
        for batch in range(0, options.weighings, 1000):
            count = min(1000, options.weighings - batch)
            batch_ids, _ = site.drive_confirmations(f"SOAK{batch // 1000:02d}", count, 260, 40, 120)
            site.wait_for_outbox()
            ids += batch_ids
            curve.append((len(ids), memory(pid)))
        reported = sum(1 for movement in ids
                       if [report["state"] for report in site.ctl("show", movement=movement)["reports"]] == ["done"])
        after = memory(pid)
        samples = [after]
        soak_start = time.monotonic()
        while time.monotonic() - soak_start < options.soak:
            time.sleep(min(30, options.soak))
            samples.append(memory(pid))
        rss = [sample[0] for sample in samples]
        print(f"\nfootprint, load and soak: {reported} of {options.weighings} weighings recorded and reported in "
              f"{time.monotonic() - started - options.soak:.0f} s, then {options.soak} s idle")
        print(f"  RSS MB: {mb(before[0])} at start, {mb(after[0])} after the weighings, "
              f"{mb(rss[-1])} at the end of the soak (min {mb(min(rss))}, max {mb(max(rss))} over "
              f"{len(rss)} samples); at the end PSS {mb(samples[-1][1])} MB, USS {mb(samples[-1][2])} MB, "
              f"anonymous {mb(samples[-1][3])} MB (after the weighings {mb(after[3])} MB)")
        print("  anonymous MB after each thousand weighings: "
              + ", ".join(f"{count}: {mb(sample[3])}" for count, sample in curve))
        print(f"  growth over the soak: {(rss[-1] - rss[0]) / 1024:+.1f} MB")
    finally:
        site.close()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--daemon", required=True, help="the weighbridged binary to measure")
    parser.add_argument("--poller", required=True)
    parser.add_argument("--idle", type=int, default=600, help="seconds of the idle window")
    parser.add_argument("--weighings", type=int, default=10000)
    parser.add_argument("--soak", type=int, default=1800, help="seconds of idle after the weighings")
    options = parser.parse_args()
    idle_phase(options)
    load_phase(options)


if __name__ == "__main__":
    main()
