"""``ganplay compare``: train several recipes side by side headless and print their ranking."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_STEPS = 2000


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compare", help="train 2-8 recipes on the same data and seed; print a ranking table",
        description="Train several configurations on the same data stream, seed and step budget "
                    "(same-shaped ones as one batched problem) and rank them by modes covered, "
                    "high-quality samples, reverse KL and W1.")
    p.add_argument("--presets", metavar="A,B,...", help="comma-separated recipes (see 'ganplay presets')")
    p.add_argument("--preset", help="base recipe for --vary")
    p.add_argument("--config", metavar="FILE", help="base TOML config")
    p.add_argument("--set", action="append", metavar="SECTION.FIELD=VALUE", default=[],
                   help="override a field in every configuration; repeatable (e.g. --set data.name=grid)")
    p.add_argument("--vary", action="append", metavar="FIELD=V1,V2", default=[],
                   help="one configuration per value (loss, sn, k, unrolled, pack, lr, seed, ema, r1, "
                        "real_label, init or any section.field); repeatable: the product is taken")
    p.add_argument("--steps", type=int, default=None, help=f"steps for every configuration (default {DEFAULT_STEPS})")
    p.add_argument("-n", "--eval-n", type=int, default=2500, help="samples for the final metrics (default 2500)")
    p.add_argument("--no-batch", action="store_true", help="train every configuration alone (for timing)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="train in N worker processes of one torch thread each (0: all in this process); "
                        "default: one per core when the run is long enough (train.threads set: 0)")
    p.add_argument("--json", metavar="FILE", help="write configs + final metrics as JSON")
    p.add_argument("--csv", metavar="FILE", help="write configs + final metrics as CSV")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_compare)


def build_configs(args: argparse.Namespace) -> tuple[list[Any], list[str]]:
    from .engine.config import Config, ConfigError, load_toml
    from .engine.population import parse_vary, preset_configs, vary_configs
    from .engine.presets import apply_preset

    overrides = list(args.set or [])
    steps = args.steps if args.steps is not None else DEFAULT_STEPS
    if steps < 0:
        raise ConfigError("'--steps' must be >= 0")
    overrides += [f"train.steps={steps}", "train.steps_per_mode=0"]   # one budget for every recipe
    base = Config()
    if args.preset:
        base = apply_preset(args.preset, base)
    if args.config:
        base = load_toml(args.config, base)
    specs = [parse_vary(v) for v in args.vary or []]
    if args.presets:
        names = [n.strip() for n in args.presets.split(",") if n.strip()]
        bases, labels = preset_configs(names, base, overrides)
    else:
        if not specs:
            raise ConfigError("give --presets A,B,... or at least one --vary FIELD=V1,V2")
        from .engine.config import apply_overrides

        bases, labels = [apply_overrides(base.copy(), overrides).validate()], []
    cfgs, out_labels = vary_configs(bases, specs, labels or None)
    if len(cfgs) < 2 and not specs and len(bases) < 2:
        raise ConfigError("compare needs at least two configurations")
    return cfgs, out_labels


def cmd_compare(args: argparse.Namespace) -> int:
    from .engine.config import ConfigError
    from .engine.population import Population, WorkerError
    from .engine.runs import RunError
    from .engine.threads import choose_threads, choose_workers, use_threads

    cfgs, labels = build_configs(args)
    steps = cfgs[0].train.steps
    for path in (args.json, args.csv):
        if path:
            _check_writable(Path(path), RunError)
    if args.workers is not None and args.workers < 0:
        raise ConfigError("'--workers' must be >= 0")
    workers = choose_workers(cfgs, steps, batch=not args.no_batch) if args.workers is None else args.workers
    use_threads(max(choose_threads(c) for c in cfgs))   # this process: training (no workers), metrics
    try:
        with Population(cfgs, labels, batch=not args.no_batch, workers=workers) as pop:
            return _train_population(args, pop, steps)
    except WorkerError as exc:  # a message, not a traceback, and the way round it
        raise RunError(f"{exc}\n(run it again with --workers 0 to train every recipe in this process)") from None


def _train_population(args: argparse.Namespace, pop: Any, steps: int) -> int:
    from .engine.population import comparison_records, format_table, ranking, to_csv, to_json
    from .engine.runs import RunError

    if pop.device_message:
        print(f"ganplay: {pop.device_message}", file=sys.stderr)
    if not args.quiet:
        for line in pop.plan():
            print(f"ganplay: {line}", file=sys.stderr)
    every = max(1, steps // 10)
    t0 = time.perf_counter()
    s = 0
    while s < steps and not pop.all_stopped:
        s += pop.run(min(every - s % every, steps - s))   # workers run a chunk without waiting
        if not args.quiet and (s % every == 0 or s == steps):
            rate = s / max(time.perf_counter() - t0, 1e-9)
            print(f"step {s:>7}/{steps}  {rate * len(pop):.0f} GAN steps/s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    rows = pop.evaluate(n=args.eval_n)
    ranked = ranking(rows)
    print(format_table(ranked))
    for r in ranked:
        if r.get("stopped"):
            print(f"ganplay: {r['label']} stopped: {r['stopped']}", file=sys.stderr)
    if not args.quiet:
        print(f"ganplay: {pop.step_count} steps of {len(pop)} GANs in {wall:.1f} s", file=sys.stderr)
    records = comparison_records(pop.labels, pop.configs, ranked)
    try:
        if args.json:
            Path(args.json).write_text(to_json(records), encoding="utf-8")
        if args.csv:
            Path(args.csv).write_text(to_csv(records), encoding="utf-8")
    except OSError as exc:
        raise RunError(f"cannot write the comparison: {exc}") from None
    return 0


def _check_writable(path: Path, err: type[Exception]) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise err(f"cannot write '{path}': the folder '{parent}' does not exist")
