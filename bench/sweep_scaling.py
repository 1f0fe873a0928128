"""How a sweep scales: the same 8-run sweep on 1 and 2 local worker processes, and on a Ray
"cluster" of two nodes started on this machine (``ray start --head`` and ``ray start --address``,
1 CPU each, separate processes: the recipe for a real cluster, README "Sweeps").

    python bench/sweep_scaling.py                      # 3 rounds, 8 runs of 1,500 steps
    python bench/sweep_scaling.py --rounds 5 --steps 3000 --no-ray

Each round times the whole sweep (``run_sweep``: worker start, training, final metrics) for each
setting in turn, in fresh sweep folders; the speed-up of a round is its 1-worker time over its
2-worker time. The Ray nodes are started once (their start is reported apart) and stopped at the
end by the process groups they were started in. Report min/median/max over rounds: on a machine
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


def time_sweep(runs: list, make_backend) -> tuple[float, float]:
    """The sweep's wall time, and how many runs were in flight on average (the runs' own wall
    times over the sweep's: 2.0 means two trained side by side all along)."""
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
    return wall, sum(r["wall_s"] for r in results.values()) / wall


def start_ray_nodes(temp_dir: str) -> tuple[list[int], float]:
    """Head and one more node, 1 CPU each, as `ray start` does on two machines; returns the
    process groups they left running (each `ray start` leaves its daemons in the group of its own
    pid) and the start time. Recent Ray (2.5x) may require the cluster's token from a node that
    joins (~/.ray/auth_token, written by Ray): every node and this driver use token mode when the
    file is there (``main``)."""
    ray_bin = str(Path(sys.executable).with_name("ray"))
    groups = []
    t0 = time.perf_counter()
    for args in (["--head", f"--port={RAY_PORT}", "--include-dashboard=false", f"--temp-dir={temp_dir}"],
                 [f"--address=127.0.0.1:{RAY_PORT}"]):
        p = subprocess.Popen([ray_bin, "start", *args, "--num-cpus=1", "--disable-usage-stats"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        groups.append(p.pid)
        out, _ = p.communicate()
        if p.returncode != 0:
            stop_ray_nodes(groups)
            raise SystemExit(f"ray start {' '.join(args)} failed:\n{out[-2000:]}")
    return groups, time.perf_counter() - t0


def stop_ray_nodes(groups: list[int]) -> None:
    """End the daemons of the `ray start` calls of this bench, by their process groups."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for g in groups:
            try:
                os.killpg(g, sig)
            except OSError:
                pass
        time.sleep(3.0)


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
    if (Path.home() / ".ray" / "auth_token").exists():   # before ray is imported: it reads this then
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    runs = sweep_runs(args.runs, args.steps)
    use_ray = not args.no_ray and ray_available()
    temp_dir = tempfile.mkdtemp(prefix="gpray")   # short: Ray's socket paths must fit 107 bytes
    groups: list[int] = []
    walls: dict[str, list[float]] = {"1 local worker": [], "2 local workers": []}
    flight: dict[str, list[float]] = {k: [] for k in walls}
    if use_ray:
        walls["Ray, 2 nodes x 1 CPU"] = []
        flight["Ray, 2 nodes x 1 CPU"] = []
        groups, started = start_ray_nodes(temp_dir)
        print(f"ray start --head and ray start --address: {started:.1f} s", flush=True)
    elif not args.no_ray:
        print("Ray is not installed (pip install \"ganplay[cluster]\"): local workers only", flush=True)
    try:
        for rnd in range(args.rounds):
            makers = {"1 local worker": lambda d: LocalBackend(d, workers=1),
                      "2 local workers": lambda d: LocalBackend(d, workers=2)}
            if use_ray:
                makers["Ray, 2 nodes x 1 CPU"] = lambda d: RayBackend(d, address=f"127.0.0.1:{RAY_PORT}")
            for k, make in makers.items():
                wall, inflight = time_sweep(runs, make)
                walls[k].append(wall)
                flight[k].append(inflight)
            print(f"round {rnd + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in walls.items()), flush=True)
    finally:
        if use_ray:
            stop_ray_nodes(groups)
    one = walls["1 local worker"]
    print(f"\n{args.runs} runs x {args.steps} steps (vanilla, ring), {args.rounds} rounds; "
          f"{os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.2f}")
    print(f"{'setting':<22} {'wall s min / median / max':>28} {'speed-up vs 1 worker (per round)':>36} "
          f"{'runs in flight':>18}")
    for k, v in walls.items():
        ups = [a / b for a, b in zip(one, v)]
        print(f"{k:<22} {spread(v):>28} {spread(ups, '.2f'):>36} {spread(flight[k], '.2f'):>18}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
