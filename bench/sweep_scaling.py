"""How a sweep scales: the same 8-run sweep on 1 and 2 local worker processes, and on a Ray
"cluster" of two nodes started on this machine (``ray start --head`` and ``ray start --address``,
1 CPU each, separate processes: the recipe for a real cluster, README "Sweeps").

    python bench/sweep_scaling.py                      # 3 rounds, 8 runs of 1,500 steps
    python bench/sweep_scaling.py --rounds 5 --steps 3000 --no-ray

Each round times the whole sweep (``run_sweep``: worker start, training, final metrics) for each
setting in turn, in fresh sweep folders; the speed-up of a round is its 1-worker time over its
2-worker time. The Ray nodes are started once (their start is reported apart) and stopped at the
end by the process ids they were started with. Report min/median/max over rounds: on a machine
shared with other work, single rounds swing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganplay.engine.sweep import SweepSpec, plan  # noqa: E402
from ganplay.engine.sweep_backends import LocalBackend, RayBackend, ray_available, run_sweep  # noqa: E402

RAY_PORT = 6391


def sweep_runs(n: int, steps: int) -> list:
    """n runs of the vanilla recipe on the protocol's ring (seeds 0..n-1), metrics at the end only."""
    return plan(SweepSpec(presets=["vanilla"], seeds=list(range(n)), steps=steps,
                          overrides=["train.eval_every=0", "train.device=cpu"]))


def time_sweep(runs: list, make_backend) -> float:
    with tempfile.TemporaryDirectory(prefix="sweep-scaling-") as tmp:
        t0 = time.perf_counter()
        backend = make_backend(Path(tmp))
        try:
            results, _ = run_sweep(runs, Path(tmp), backend)
        finally:
            backend.close()
        wall = time.perf_counter() - t0
    bad = [r for r in results.values() if r["status"] != "done"]
    if bad:
        raise SystemExit(f"a run did not finish: {bad[0]['run_id']}: {bad[0].get('reason')}")
    return wall


def start_ray_nodes(temp_dir: str) -> tuple[list[int], float]:
    """Head and one more node, 1 CPU each, as `ray start` does on two machines; returns the pids
    of the processes they left running (found by the session's own temp dir) and the start time."""
    ray_bin = str(Path(sys.executable).with_name("ray"))
    t0 = time.perf_counter()
    subprocess.run([ray_bin, "start", "--head", f"--port={RAY_PORT}", "--num-cpus=1", "--include-dashboard=false",
                    f"--temp-dir={temp_dir}", "--disable-usage-stats"], check=True, capture_output=True)
    subprocess.run([ray_bin, "start", f"--address=127.0.0.1:{RAY_PORT}", "--num-cpus=1", "--disable-usage-stats"],
                   check=True, capture_output=True)
    started = time.perf_counter() - t0
    return _pids_with(temp_dir), started


def _pids_with(text: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if text.encode() in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


def stop_ray_nodes(temp_dir: str) -> None:
    import signal

    for _ in range(3):   # raylets start workers late: sweep up what is left
        pids = _pids_with(temp_dir)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        time.sleep(2.0)
    for pid in _pids_with(temp_dir):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def spread(xs: list[float], spec: str = ".1f") -> str:
    return (f"{format(min(xs), spec)} / {format(statistics.median(xs), spec)} / {format(max(xs), spec)}"
            if xs else "-")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-ray", action="store_true", help="local workers only")
    args = ap.parse_args(argv)
    runs = sweep_runs(args.runs, args.steps)
    use_ray = not args.no_ray and ray_available()
    temp_dir = tempfile.mkdtemp(prefix="gpray")
    walls: dict[str, list[float]] = {"1 local worker": [], "2 local workers": []}
    if use_ray:
        walls["Ray, 2 nodes x 1 CPU"] = []
        pids, started = start_ray_nodes(temp_dir)
        print(f"ray start --head and ray start --address: {started:.1f} s ({len(pids)} processes)", flush=True)
    elif not args.no_ray:
        print("Ray is not installed (pip install \"ganplay[cluster]\"): local workers only", flush=True)
    try:
        for rnd in range(args.rounds):
            walls["1 local worker"].append(time_sweep(runs, lambda d: LocalBackend(d, workers=1)))
            walls["2 local workers"].append(time_sweep(runs, lambda d: LocalBackend(d, workers=2)))
            if use_ray:
                walls["Ray, 2 nodes x 1 CPU"].append(
                    time_sweep(runs, lambda d: RayBackend(d, address=f"127.0.0.1:{RAY_PORT}")))
            print(f"round {rnd + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in walls.items()), flush=True)
    finally:
        if use_ray:
            stop_ray_nodes(temp_dir)
    one = walls["1 local worker"]
    print(f"\n{args.runs} runs x {args.steps} steps (vanilla, ring), {args.rounds} rounds; "
          f"{os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.2f}")
    print(f"{'setting':<22} {'wall s min / median / max':>28} {'speed-up vs 1 worker (per round)':>36}")
    for k, v in walls.items():
        ups = [a / b for a, b in zip(one, v)]
        print(f"{k:<22} {spread(v):>28} {spread(ups, '.2f'):>36}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
