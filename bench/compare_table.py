#!/usr/bin/env python3
"""Medians and ratios of bench/compare.sh's JSON lines, as a markdown table (issue 6's targets).

Usage: bench/compare_table.py RESULTS.jsonl [--session N]   (default: the file's last session)
"""
import json
import statistics
import sys

# figure, row, field, better ("high" or "low"), target ratio Switchboard/nchan, how the target reads
FIGURES = [
    ("events delivered per second (1,000 subs, max rate, 16 publishers)", "throughput", "delivered_per_second", "high", 2.0, ">= 2x nchan"),
    ("events delivered per second (1,000 subs, max rate, 4 publishers)", "throughput4", "delivered_per_second", "high", None, "-"),
    ("latency p50 ms at 100 ev/s", "latency100", "latency_ms_p50", "low", None, "-"),
    ("latency p99 ms at 100 ev/s", "latency100", "latency_ms_p99", "low", 1.0, "<= nchan"),
    ("latency p50 ms at 300 ev/s", "latency300", "latency_ms_p50", "low", None, "-"),
    ("latency p99 ms at 300 ev/s", "latency300", "latency_ms_p99", "low", 1.0, "<= nchan"),
    ("latency p50 ms at 300 ev/s, 300 subs", "latency300x300", "latency_ms_p50", "low", None, "-"),
    ("latency p99 ms at 300 ev/s, 300 subs", "latency300x300", "latency_ms_p99", "low", 1.0, "(<= nchan)"),
    ("KiB per idle WebSocket (10,000)", "idle", "kib_per_connection", "low", 1.5, "<= 1.5x nchan"),
    ("publishes per second (wrk, no subscribers)", "publish", "requests_per_second", "high", 1.0, ">= nchan"),
]


def load(path, session):
    lines = [json.loads(line) for line in open(path) if line.strip().startswith("{")]
    if session is None and lines:
        session = max(line.get("session", 0) for line in lines)
    return [line for line in lines if line.get("session", 0) == session]


def values(lines, row, target, field):
    """FIELD of every run of ROW against TARGET; only the valid ones when the tool judged some valid."""
    runs = [line["result"] for line in lines
            if line["row"] == row and line["target"] == target and line.get("result")
            and isinstance(line["result"].get(field), (int, float))]
    valid = [result for result in runs if result.get("valid")]
    return [result[field] for result in (valid or runs)]


def validity(lines, row, target):
    """'v/n': runs of ROW against TARGET that the tool marked valid, of those with a result ('' if none says)."""
    judged = [line["result"].get("valid") for line in lines
              if line["row"] == row and line["target"] == target and line.get("result") and "valid" in line["result"]]
    return f"{sum(1 for v in judged if v)}/{len(judged)}" if judged else ""


def fmt(value):
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def main():
    args = sys.argv[1:]
    session = int(args[args.index("--session") + 1]) if "--session" in args else None
    lines = load(args[0], session)
    median = lambda xs: statistics.median(xs) if xs else None
    runs = max((line["run"] for line in lines), default=0)
    print(f"\n{runs} run(s) each; medians (of the valid runs where the tool judged validity and some were valid).\n")
    print("| figure | Switchboard | nchan | ratio | target | met? | valid runs (SB · nchan) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for figure, row, field, better, target, reads in FIGURES:
        sb, nc = median(values(lines, row, "switchboard", field)), median(values(lines, row, "nchan", field))
        if sb is None and nc is None:
            continue
        ratio = sb / nc if sb is not None and nc else None
        met = "-"
        if target is not None and ratio is not None:
            met = "yes" if (ratio >= target if better == "high" else ratio <= target) else "no"
        valid = [validity(lines, row, t) for t in ("switchboard", "nchan")]
        if any(v and v.split("/")[0] == "0" for v in valid):
            met = f"not valid ({met})"
        elif met != "-" and any(v and v.split("/")[0] != v.split("/")[1] for v in valid):
            met = f"{met} (valid runs only)"
        shown = " · ".join(v or "-" for v in valid) if any(valid) else "-"
        print(f"| {figure} | {fmt(sb)} | {fmt(nc)} | {f'{ratio:.2f}x' if ratio is not None else 'n/a'} | {reads} | {met} | {shown} |")
    plain = median(values(lines, "throughput", "switchboard", "delivered_per_second"))
    zstd = median(values(lines, "zstd", "switchboard", "delivered_per_second"))
    ratio = zstd / plain if zstd is not None and plain else None
    met = "n/a" if ratio is None else ("yes" if ratio >= 0.9 else "no")
    print(f"| events delivered per second, all subscribers zstd | {fmt(zstd)} | (plain: {fmt(plain)}) "
          f"| {f'{ratio:.2f}x' if ratio is not None else 'n/a'} of plain | >= 0.90x plain | {met} "
          f"| {validity(lines, 'zstd', 'switchboard') or '-'} |")

    notes = []
    for line in lines:
        result, where = line.get("result"), f"{line['row']} {line['target']} run {line['run']}"
        if result is None:
            notes.append(f"{where}: failed (exit {line['exit']}), no result")
            continue
        rate = result.get("rate")
        if result.get("invalid_reasons"):
            reasons = list(result["invalid_reasons"])
            share = result.get("broker_cpu_share", 0)
            if rate and share >= 0.95 and not any("broker used" in r for r in reasons):
                reasons.append(f"the broker used {share:.0%} of its core (saturated at this rate)")
            notes.append(f"{where}: NOT VALID: " + "; ".join(reasons))
        elif rate and "valid" not in result and result.get("publishes_per_second", rate) < 0.95 * rate:
            notes.append(f"{where}: the fixed rate was not held ({result['publishes_per_second']:.0f}/s of {rate}/s, "
                         f"backlog up to {result.get('publish_backlog_max', 0):,}): the system was saturated, so its latency is queueing")
        if line["row"] in ("throughput", "throughput4", "zstd") and result.get("broker_cpu_share", 1) < 0.9:
            notes.append(f"{where}: the broker used only {result['broker_cpu_share']:.0%} of its core "
                         "(not saturated: another process on core 0, or the publishers too slow)")
        waits = {who: result.get(f"{who}_runqueue_share", 0) for who in ("broker", "bench")}
        if "other_cpu_share" in result:
            # The tool has two threads and Switchboard several on one core each, so their run-queue
            # waits are mostly their own threads taking turns; what else ran is measured directly.
            if result["other_cpu_share"] > 0.10:
                notes.append(f"{where}: disturbed: everything but the broker and the load tool used "
                             f"{result['other_cpu_share']:.0%} of a core during the run")
        elif max(waits.values()) > 0.05:
            notes.append(f"{where}: disturbed, other processes took the cores: the broker waited "
                         f"{waits['broker']:.0%} and the load tool {waits['bench']:.0%} of the run for theirs")
        if result.get("bench_bottleneck") and "valid" not in result:
            notes.append(f"{where}: the load tool was {result['bench_cpu_share']:.0%} busy (it may be the bottleneck)")
        problems = {k: result[k] for k in ("lost", "duplicates", "out_of_order", "gaps", "subscribe_failed",
                                            "closed_by_broker", "non_2xx_3xx", "socket_errors") if result.get(k)}
        if problems:
            notes.append(f"{where}: " + ", ".join(f"{k} {v:,}" for k, v in problems.items()))
        elif line["exit"] != 0:
            notes.append(f"{where}: exit {line['exit']}")
    if notes:
        print("\nNotes:")
        for note in notes:
            print(f"- {note}")


if __name__ == "__main__":
    main()
