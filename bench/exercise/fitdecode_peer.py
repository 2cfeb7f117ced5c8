"""Peer for bench/exercise/compare.sh: reads FIT files with fitdecode and sums
the seconds with heart rate above 85 % HRmax (samples weighted by duration,
intervals over 5 s missing), REPS times. Prints the elapsed seconds."""
import sys, time
import fitdecode

def seconds_above(path, thr, gap=5.0):
    ts, hr = [], []
    with fitdecode.FitReader(path) as f:
        for frame in f:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                t = frame.get_value("timestamp", fallback=None)
                h = frame.get_value("heart_rate", fallback=None)
                if t is not None:
                    ts.append(t.timestamp()); hr.append(h)
    total = 0.0
    for i in range(len(ts)):
        dt = ts[i + 1] - ts[i] if i + 1 < len(ts) else 1.0
        if dt <= gap and hr[i] is not None and 0 < hr[i] < 255 and hr[i] > thr:
            total += dt
    return total

reps, hrmax, files = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
t0 = time.perf_counter()
above = 0.0
for _ in range(reps):
    for f in files:
        above += seconds_above(f, 0.85 * hrmax)
print(f"fitdecode_seconds {time.perf_counter() - t0:.6f} total_above {above:.0f}")
