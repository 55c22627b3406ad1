#!/usr/bin/env python3
"""Computes the expected aggregates of every golden case, independently of the C# code.

For each <case>.csv (time,value) and <case>.json (configuration), this replays the documented
pipeline semantics (docs/pipeline.md) in exact rational arithmetic (fractions.Fraction on the
doubles as parsed) and writes the correctly rounded results into the "expected" member of the
JSON file. Run it after adding a case: python3 make_expected.py
"""
import csv
import json
import math
import pathlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal, getcontext
from fractions import Fraction

getcontext().prec = 60
TICKS = 10_000_000
EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)
MAX_MAGNITUDE = 1e150


def ticks_of(text):
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    d = t - EPOCH
    return (d.days * 86400 + d.seconds) * TICKS + d.microseconds * 10


def iso(ticks):
    t = EPOCH + timedelta(microseconds=ticks // 10)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += "." + f"{t.microsecond:06d}".rstrip("0")
    return text + "Z"


def span_ticks(text):
    h, m, s = text.split(":")
    return int((int(h) * 3600 + int(m) * 60) * TICKS + Fraction(s) * TICKS)


def sqrt_float(fr):
    return float((Decimal(fr.numerator) / Decimal(fr.denominator)).sqrt())


class Median:
    def __init__(self, size):
        self.size, self.values = size, []

    def reset(self):
        self.values = []

    def apply(self, x):
        self.values = (self.values + [x])[-self.size:]
        s = sorted(self.values)
        n = len(s)
        return "pass", s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class Calibration:
    def __init__(self, scale, offset):
        self.scale, self.offset = scale, offset

    def reset(self):
        pass

    def apply(self, x):
        return "pass", self.scale * x + self.offset


class Deadband:
    def __init__(self, delta):
        self.delta, self.last = delta, None

    def reset(self):
        self.last = None

    def apply(self, x):
        if self.last is not None and abs(x - self.last) < self.delta:
            return "suppressed", self.last
        self.last = x
        return "pass", x


class Range:
    def __init__(self, lo, hi, clamp):
        self.lo, self.hi, self.clamp = lo, hi, clamp

    def reset(self):
        pass

    def apply(self, x):
        if self.lo <= x <= self.hi:
            return "pass", x
        if not self.clamp:
            return "rejected", x
        return "clamped", self.lo if x < self.lo else self.hi


def make_filter(f):
    kind = f["Kind"]
    if kind == "median":
        return Median(f["Size"])
    if kind == "calibration":
        return Calibration(f.get("Scale", 1.0), f.get("Offset", 0.0))
    if kind == "deadband":
        return Deadband(f["Delta"])
    if kind == "range":
        return Range(f["Min"], f["Max"], f.get("Clamp", False))
    raise ValueError(kind)


class Window:
    def __init__(self, start):
        self.start = start
        self.samples = []   # (ticks, value)
        self.raw = []
        self.errors = 0
        self.suppressed = 0
        self.oor = False
        self.stuck = False


def run(case, rows):
    w = span_ticks(case["window"])
    interval = span_ticks(case["interval"])
    expected = w // interval
    lo, hi = case.get("range", [-math.inf, math.inf])
    lo, hi = max(lo, -MAX_MAGNITUDE), min(hi, MAX_MAGNITUDE)
    filters = [make_filter(f) for f in case.get("filters", [])]
    stuck_after = case.get("stuckAfter", 0)
    calibrated = any(isinstance(f, Calibration) for f in filters)
    out, cur = [], None
    last_ticks, last_raw, repeats, last_seen = None, None, 0, None

    def close(win):
        if win is None or not win.samples:
            return
        xs = [Fraction(v) for _, v in win.samples]
        ts = [Fraction(t - win.start, TICKS) for t, _ in win.samples]
        n = len(xs)
        mean = sum(xs) / n
        var = sum((x - mean) ** 2 for x in xs) / n
        mt = sum(ts) / n
        stt = sum((t - mt) ** 2 for t in ts)
        rate = None if n < 2 or stt == 0 else float(sum((t - mt) * (x - mean) for t, x in zip(ts, xs)) / stt * 3600)
        end = win.start + w
        flags = []
        if n + win.suppressed < expected:
            flags.append("gaps")
        if win.errors:
            flags.append("read-errors")
        if win.oor:
            flags.append("out-of-range")
        if win.stuck:
            flags.append("stuck")
        if end - last_seen > 2 * interval:
            flags.append("stale")
        out.append({
            "start": iso(win.start), "end": iso(end), "count": n, "expected": expected,
            "errors": win.errors, "suppressed": win.suppressed,
            "min": min(v for _, v in win.samples), "max": max(v for _, v in win.samples),
            "mean": float(mean), "stddev": sqrt_float(var),
            "first": win.samples[0][1], "last": win.samples[-1][1],
            "ratePerHour": rate,
            "rawMean": float(sum(Fraction(r) for r in win.raw) / len(win.raw)) if filters else None,
            "calibrated": calibrated, "flags": flags,
        })

    for time_text, token in rows:
        t = ticks_of(time_text)
        start = t - t % w
        if cur is None or start != cur.start:
            close(cur)
            cur = Window(start)
        if token == "error":
            cur.errors += 1
            continue
        if last_ticks is not None and (t < last_ticks or t - last_ticks > interval * 7 // 2):
            for f in filters:
                f.reset()
            repeats = 0
        last_ticks = t
        x = float(token)
        if not math.isfinite(x):
            cur.errors += 1
            continue
        if x < lo or x > hi:
            cur.errors += 1
            cur.oor = True
            continue
        if stuck_after:
            repeats = repeats + 1 if x == last_raw else 1
            last_raw = x
            if repeats >= stuck_after:
                cur.stuck = True
        cur.raw.append(x)
        outcome, v = "pass", x
        clamped = False
        for f in filters:
            outcome, v = f.apply(v)
            if outcome == "clamped":
                clamped, outcome = True, "pass"
            if outcome != "pass":
                break
        if outcome == "pass":
            if clamped:
                cur.oor = True
            cur.samples.append((t, v))
            last_seen = t
        elif outcome == "suppressed":
            cur.suppressed += 1
            last_seen = t
        else:
            cur.errors += 1
            cur.oor = True

    flush = ticks_of(case["flushAt"])
    if cur is not None and flush >= cur.start + w:
        close(cur)
    return out


def main():
    here = pathlib.Path(__file__).parent
    for spec in sorted(here.glob("*.json")):
        case = json.loads(spec.read_text())
        with open(spec.with_suffix(".csv"), newline="") as f:
            rows = [(r[0], r[1]) for r in csv.reader(f) if r and not r[0].startswith("#") and r[0] != "time"]
        case["expected"] = run(case, rows)
        spec.write_text(json.dumps(case, indent=2) + "\n")
        print(f"{spec.name}: {len(case['expected'])} aggregates")


if __name__ == "__main__":
    main()
