"""scripts/bench latency: weigh-to-report latency, from the moment a simulated vehicle comes to rest
on the deck to the moment dwt-sandbox has the whole report, minus the configured settle time
(the time the rules make a weight wait before it counts). Vehicles cross a TCP and an RTU bridge
in turn, each a movement with a stored tare, so one weighing completes it and is reported."""

import argparse
import datetime
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from gatehouse import Site  # noqa: E402


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def rfc3339_microseconds(text):
    """'2026-11-26T07:09:14.123Z' → microseconds since the epoch (the daemon writes UTC, ms)."""
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1_000_000)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--poll-ms", type=int, default=20)
    parser.add_argument("--settle-ms", type=int, default=200)
    options = parser.parse_args()

    work = tempfile.mkdtemp(prefix="weighbridged-latency-", dir="/var/tmp")
    site = Site(options.bin, work, poll_ms=options.poll_ms, settle_ms=options.settle_ms)
    try:
        # Each vehicle stands for the settle time plus a margin of three polls and 200 ms.
        movements, settled = site.drive_confirmations(
            "LAT", options.vehicles, options.settle_ms + 3 * options.poll_ms + 200, 150, 250)
        site.wait_for_outbox()
        received = {}
        for request in site.sandbox_request("GET", "requests"):
            if request["status"] in (200, 201, 204) and request["method"] == "PUT":
                movement = request["path"].rsplit("/", 1)[-1]
                received.setdefault(movement, request["received_at_us"])
        missing = [movement for movement in movements if movement not in received or movement not in settled]
        latencies = [(received[m] - settled[m]) / 1000 - options.settle_ms for m in movements if m not in missing]
        if not latencies:
            print(f"vehicles={len(movements)} reported=0: nothing reached the sandbox")
            sys.exit(1)
        # Where the time goes: rest → capture (polling, the settle rule) and capture → sandbox
        # (store, decision, outbox, HTTP), from the capture time the daemon recorded.
        captured = {m: rfc3339_microseconds(site.ctl("show", movement=m)["weighings"][0]["weighed_at"])
                    for m in movements if m not in missing}
        to_capture = [(captured[m] - settled[m]) / 1000 - options.settle_ms for m in captured]
        to_report = [(received[m] - captured[m]) / 1000 for m in captured]
        print(f"vehicles={len(movements)} reported={len(latencies)} missing={len(missing)} "
              f"p50_ms={percentile(latencies, 0.5):.1f} p99_ms={percentile(latencies, 0.99):.1f} "
              f"max_ms={max(latencies):.1f} poll_ms={options.poll_ms} settle_ms={options.settle_ms}; "
              f"rest→capture p50_ms={percentile(to_capture, 0.5):.1f} p99_ms={percentile(to_capture, 0.99):.1f}, "
              f"capture→sandbox p50_ms={percentile(to_report, 0.5):.1f} p99_ms={percentile(to_report, 0.99):.1f}")
        sys.exit(1 if missing else 0)
    finally:
        site.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
