#!/usr/bin/env python3
"""Prints the demo's summary table from `weighbridgectl --json show ID` replies, one per line."""
import json
import sys

HEADER = ("MOVEMENT", "DECLARED", "NET", "DEVIATION", "STATE", "REASON", "REPORT", "ATTEMPTS")


def row(movement):
    decision = (movement.get("decisions") or [{}])[-1]
    report = (movement.get("reports") or [{}])[-1]
    net = movement.get("net_kg")
    deviation = movement.get("deviation_percent")
    return (
        movement["movement_id"],
        f"{movement['declared_kg']} kg",
        f"{net} kg" if net is not None else "-",
        f"{deviation}%" if deviation else "-",
        movement["state"],
        decision.get("reason") or "-",
        f"{report.get('kind', '-')} {report.get('state', '')}".strip(),
        str(report.get("attempts", "-")),
    )


def main():
    table = [HEADER] + [row(json.loads(line)) for line in sys.stdin if line.strip()]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(HEADER))]
    for cells in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip())


if __name__ == "__main__":
    main()
