"""``ganplay sweep``: a grid of training runs (presets x data sets x --vary values x seeds, or a
TOML sweep file, or a published table) on all local cores or on Ray; see ``engine/sweep.py``."""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

TABLES = ("veegan", "stable-robustness", "stable-robustness-edges")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sweep", help="train a grid of runs (presets x data x --vary x seeds) on all cores or on Ray",
        description="Train every combination of presets, data sets, --vary values and seeds (or a TOML sweep "
                    "file, or a published table), one run folder each under the sweep folder, on all local "
                    "cores (one run per core, one torch thread each) or on Ray. Writes results.csv/json, "
                    "summary.txt and chart.png; an interrupted sweep resumes with the same arguments or "
                    "--resume DIR (finished runs are skipped).")
    p.add_argument("--presets", default=None, metavar="A,B,...",
                   help="recipes (default: stable; with --table veegan: every 2D preset)")
    p.add_argument("--data", default=None, metavar="D1,D2",
                   help="data sets: ring and grid are the VEEGAN protocol's (ring r=1 sigma 0.01, 5x5 grid sigma "
                        "0.05); any other data set name at its defaults (default: ring)")
    p.add_argument("--vary", action="append", default=[], metavar="FIELD=V1,V2",
                   help="one run per value; repeatable: the product is taken (as in 'ganplay compare')")
    p.add_argument("--seeds", default=None, metavar="N|S1,S2", help="N seeds (0..N-1) or a list (default 1)")
    p.add_argument("--steps", type=int, default=None, help="steps of every run (default: each preset's own)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="override a field in every run; repeatable")
    p.add_argument("--config", metavar="FILE", help="a base TOML config under the presets")
    p.add_argument("--file", metavar="SWEEP.toml", help="a sweep file (see 'ganplay sweep --help-file')")
    p.add_argument("--help-file", action="store_true", help="print the sweep file format and exit")
    p.add_argument("--table", choices=TABLES,
                   help="a published table: veegan = the VEEGAN/GDPP/PacGAN 2D protocol for every 2D preset "
                        "(5 seeds) next to the published rows; stable-robustness = 'stable' on rings of 3-12 "
                        "modes, radii 0.5-5, widths 0.005-0.1 and grids 3x3-7x7 (3 seeds); "
                        "stable-robustness-edges = one factor at a time at each end of those ranges")
    p.add_argument("-o", "--out", metavar="DIR", help="sweep folder (default sweeps/<time>-<name>)")
    p.add_argument("--resume", metavar="DIR", help="continue the sweep in DIR (its plan, finished runs skipped)")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local worker processes (default) or Ray (pip install \"ganplay[cluster]\")")
    p.add_argument("--address", metavar="auto|HOST:PORT", help="a running Ray cluster (implies --backend ray)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="runs at once (default: one per core; Ray: the cluster's CPUs)")
    p.add_argument("--save-every", type=float, default=None, metavar="SECONDS",
                   help="save each run's state every SECONDS of training, so an interrupted sweep continues it "
                        "(default 30; 0: only at its end or when stopped)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_sweep)


def _spec(args: argparse.Namespace) -> Any:
    from .engine.config import load_toml, to_dict
    from .engine.population import parse_vary
    from .engine.sweep import SweepError, SweepSpec, data_sets, load_sweep_file, parse_seeds
    from .engine.sweep_tables import drop_twins, robustness_spec, veegan_spec

    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    if args.table:
        if args.file or args.data or args.vary or (args.presets and args.table != "veegan"):
            raise SweepError("--table is a fixed grid: give --seeds, --steps or --set to scale it (and "
                             "--presets to pick the veegan table's recipes), not --file, --data or --vary")
        if args.table == "veegan":
            names = [n.strip() for n in args.presets.split(",") if n.strip()] if args.presets else None
            spec = veegan_spec(len(seeds) if seeds else 5, args.steps, names)
        else:
            scale = "edges" if args.table.endswith("edges") else "full"
            spec = robustness_spec(scale, len(seeds) if seeds else 3, args.steps)
        if seeds:
            spec.seeds = seeds
    elif args.file:
        spec = load_sweep_file(args.file)
        if seeds:
            spec.seeds = seeds
        if args.steps is not None:
            spec.steps = args.steps
    else:
        spec = SweepSpec()
        if args.presets:
            spec.presets = [n.strip() for n in args.presets.split(",") if n.strip()]
        if args.data:
            spec.data = data_sets(args.data.split(","))
        spec.vary = [parse_vary(v) for v in args.vary]
        spec.seeds = seeds or [0]
        spec.steps = args.steps
        spec.name = "-".join(spec.presets[:2]) + ("-etc" if len(spec.presets) > 2 else "")
    spec.overrides = list(spec.overrides) + list(args.set or [])
    if args.config:
        spec.base = to_dict(load_toml(args.config))
    if args.table and args.table.startswith("stable-robustness"):
        drop_twins(spec)   # a case its twin's runs repeat to the bit is not trained twice
    return spec


@contextlib.contextmanager
def _presses() -> Iterator[Any]:
    """Count Ctrl-C presses instead of raising: 1 = finish cleanly (running runs save), 2 = kill."""
    count = [0]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: count[0]
        return

    def on_sigint(signum: int, frame: Any) -> None:
        count[0] += 1
        if count[0] == 1:
            print("\nganplay: stopping: the running runs save their state and end (Ctrl-C again ends them now); "
                  "the same command resumes the sweep", file=sys.stderr, flush=True)

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: count[0]
    finally:
        signal.signal(signal.SIGINT, old)


def _progress_printer(quiet: bool) -> Any:
    tty = sys.stderr.isatty()
    last = [""]

    def show(prog: Any) -> None:
        if quiet:
            return
        line = prog.line()
        if tty:
            print("\r" + line + "\033[K", end="", file=sys.stderr, flush=True)
        else:   # a log: one line per change of the counts, not one per second
            key = line.split(";")[0]
            if key != last[0]:
                print(line, file=sys.stderr, flush=True)
                last[0] = key

    return show


def cmd_sweep(args: argparse.Namespace) -> int:
    from .engine.sweep import SweepError, plan, plan_name, read_plan, write_report
    from .engine.sweep_backends import make_backend, run_sweep
    from .engine.sweep_tables import format_robustness, format_veegan, robustness_cases, robustness_twins

    if args.help_file:
        from .engine.sweep import load_sweep_file

        import textwrap

        print("A sweep file (TOML):\n" + textwrap.dedent(load_sweep_file.__doc__.split("::", 1)[1]).strip("\n"))
        return 0
    if args.workers is not None and args.workers < 1:
        raise SweepError("'--workers' must be at least 1")
    if args.resume:
        sweep_dir = Path(args.resume)
        runs = read_plan(sweep_dir)
        name = plan_name(sweep_dir)
    else:
        spec = _spec(args)
        runs = plan(spec)
        name = args.table or spec.name
        sweep_dir = Path(args.out) if args.out else Path("sweeps") / time.strftime(f"%Y%m%d-%H%M%S-{name}")
    from .engine.sweep import SAVE_EVERY_S

    save_every = SAVE_EVERY_S if args.save_every is None else max(0.0, args.save_every)
    backend = make_backend(args.backend, sweep_dir, workers=args.workers, address=args.address,
                           save_every=save_every)
    if not args.quiet:
        where = (f"on Ray ({backend.slots} CPUs, {getattr(backend, 'nodes', 1)} node(s), "
                 f"{getattr(backend, 'gpus', 0):g} GPUs)" if backend.name == "ray"
                 else f"in {backend.slots} local worker process(es) of 1 torch thread")
        print(f"ganplay: sweep of {len(runs)} runs into '{sweep_dir}' {where}", file=sys.stderr, flush=True)
    show = _progress_printer(args.quiet)

    def on_result(res: dict[str, Any]) -> None:
        if res["status"] in ("failed", "diverged") and not args.quiet:
            print(f"\nganplay: run {res['run_id']} {res['status']}: {res.get('reason', '')}", file=sys.stderr, flush=True)

    try:
        with _presses() as stop:
            results, interrupted = run_sweep(runs, sweep_dir, backend, on_progress=show, on_result=on_result,
                                             stop=stop, name=name)
    finally:
        backend.close()
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    rows, summary = write_report(sweep_dir, runs, results, name)
    table = args.table or (name if name in TABLES else None)
    if table == "veegan":
        print(format_veegan(rows))
    elif table and table.startswith("stable-robustness"):
        scale = "edges" if table.endswith("edges") else "full"
        print(format_robustness(rows, twins=robustness_twins(robustness_cases(scale))))
    else:
        print(summary)
    print(f"ganplay: results in {sweep_dir / 'results.csv'}, {sweep_dir / 'results.json'}, "
          f"{sweep_dir / 'summary.txt'} and {sweep_dir / 'chart.png'}", file=sys.stderr)
    if interrupted:
        print(f"ganplay: sweep interrupted; continue it with: ganplay sweep --resume {sweep_dir}", file=sys.stderr)
        from .cli import EXIT_INTERRUPTED

        return EXIT_INTERRUPTED
    return 0
