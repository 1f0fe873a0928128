"""Memory of the training process with rewind on: the window's own training process
(``transport.serve`` running a ``TrainLoop``, frames drained as the window would) trains the ring
GAN of the default config at full speed; every ``--sample`` seconds this script reads the
process's VmRSS from ``/proc/<pid>/status`` and asks the loop (``Describe``) for its step and the
bytes its rewind snapshots hold.

    nice -n 19 .venv/bin/python bench/rewind_memory.py --minutes 10 --sample 30

prints one row per sample, then start, min / median / max and end of the RSS, and whether the
buffer stayed under ``train.rewind_mb``. ``--set train.rewind_every=0`` gives the same run
without rewind, for the difference. Linux only (``/proc``).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import pickle
import statistics
import sys
import threading
import time
from pathlib import Path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


def main(argv: list[str] | None = None) -> int:
    from ganplay.engine.config import Config, apply_overrides
    from ganplay.live import protocol as P
    from ganplay.live.loop import TrainLoop
    from ganplay.live.transport import serve

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    ap.add_argument("--set", action="append", default=[], help="config overrides, e.g. train.rewind_mb=64")
    ap.add_argument("--json", help="write the samples here")
    args = ap.parse_args(argv)

    cfg = apply_overrides(Config(), ["train.device=cpu", *args.set])
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=serve, args=(there, TrainLoop, P.Reset(cfg)), daemon=True)
    proc.start()
    there.close()
    described: list[dict] = []
    got = threading.Event()
    send_lock = threading.Lock()

    def send(cmd: P.Command) -> None:
        with send_lock:
            here.send_bytes(pickle.dumps(cmd))

    def drain() -> None:   # the window's side: read every frame and event off the pipe
        try:
            while True:
                msg = pickle.loads(here.recv_bytes())
                if isinstance(msg, P.Described):
                    described.append(msg.info)
                    got.set()
                elif isinstance(msg, (P.Failed, P.WorkerDied, P.ResetFailed)):
                    print("training process:", msg, file=sys.stderr)
        except (EOFError, OSError):
            return

    threading.Thread(target=drain, daemon=True).start()

    def ask() -> dict:
        got.clear()
        send(P.Describe())
        if not got.wait(120):
            raise RuntimeError("the training process did not answer")
        return described[-1]

    ask()                       # the trainer is built
    send(P.Play())
    rows = []
    t0 = time.perf_counter()
    end = t0 + 60 * args.minutes
    print(f"{'t (s)':>7} {'step':>8} {'RSS MB':>8} {'snapshots':>9} {'buffer MB':>9}")
    while True:
        info = ask()
        rw = info["rewind"]
        row = {"t": time.perf_counter() - t0, "step": info["step"], "rss_mb": rss_mb(proc.pid),
               "snapshots": len(rw["steps"]), "buffer_mb": rw["bytes"] / 2**20, "cap_mb": rw["cap_bytes"] / 2**20}
        rows.append(row)
        print(f"{row['t']:7.0f} {row['step']:8d} {row['rss_mb']:8.1f} {row['snapshots']:9d} {row['buffer_mb']:9.1f}",
              flush=True)
        if time.perf_counter() >= end:
            break
        time.sleep(max(0.0, min(args.sample, end - time.perf_counter())))
    send(P.Stop())
    proc.join(10)
    rss = [r["rss_mb"] for r in rows]
    cap = rows[-1]["cap_mb"]
    worst = max(r["buffer_mb"] for r in rows)
    print(f"\nRSS MB: start {rss[0]:.1f}, min {min(rss):.1f}, median {statistics.median(rss):.1f}, "
          f"max {max(rss):.1f}, end {rss[-1]:.1f}")
    print(f"steps: {rows[-1]['step']} in {rows[-1]['t']:.0f} s; rewind buffer at most {worst:.1f} MB "
          f"of a {cap:.0f} MB cap ({'under' if worst <= cap else 'OVER'} it), "
          f"{rows[-1]['snapshots']} snapshots at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if worst <= cap else 1


if __name__ == "__main__":
    sys.exit(main())
