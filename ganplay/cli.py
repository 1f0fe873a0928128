"""The ``ganplay`` command: the GUI with no arguments, the engine headless with a subcommand."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

# Modules that add subcommands: each has register(subparsers) -> None.
EXTRA_COMMANDS: tuple[str, ...] = ("ganplay.cli_export", "ganplay.cli_compare", "ganplay.cli_scene",
                                  "ganplay.cli_sweep")

EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


def _error(msg: str) -> int:
    print(f"ganplay: error: {msg}", file=sys.stderr)
    return EXIT_USAGE


def _config_from_args(args: argparse.Namespace) -> Any:
    from .engine.config import Config, apply_overrides, load_toml
    from .engine.presets import apply_preset

    cfg = Config()
    if args.preset:
        cfg = apply_preset(args.preset, cfg)
    if args.config:
        cfg = load_toml(args.config, cfg)
    apply_overrides(cfg, args.set or [])
    if getattr(args, "steps", None) is not None:
        cfg.train.steps = args.steps
        cfg.train.steps_per_mode = 0   # an explicit budget is the budget
    if getattr(args, "threads", None) is not None:
        apply_overrides(cfg, [f"train.threads={args.threads}"])
    if getattr(args, "tensorboard", False):
        apply_overrides(cfg, ["train.tensorboard=true"])
    return cfg.validate()


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", help="start from a named recipe (see 'ganplay presets')")
    p.add_argument("--config", metavar="FILE", help="a TOML config (e.g. one written by --print-config)")
    p.add_argument("--set", action="append", metavar="SECTION.FIELD=VALUE",
                   help="override one field; repeatable (e.g. --set data.modes=6); "
                        "'ganplay train --print-config' lists every field with its help and range")


def cmd_train(args: argparse.Namespace) -> int:
    from .engine.config import to_toml
    from .engine.runs import check_writable
    from .engine.trainer import Trainer

    cfg = _config_from_args(args)
    if args.print_config:
        print(to_toml(cfg, comments=True), end="")
        return 0
    if args.resume:
        return _resume(args, cfg)
    from .engine.memory_estimate import check_fits

    check_fits(cfg)  # sizes that cannot fit together: a message before a folder or a tensor is made
    run_dir = Path(args.out) if args.out else Path("runs") / time.strftime(
        f"%Y%m%d-%H%M%S-{args.preset or cfg.loss.name}-{cfg.data.name}")
    check_writable(run_dir)
    trainer = Trainer(cfg)
    if trainer.device_message:
        print(f"ganplay: {trainer.device_message}", file=sys.stderr)
    if trainer.budget_note and not args.quiet:
        print(f"ganplay: {trainer.budget_note}", file=sys.stderr)
    tuner = _use_threads(trainer, args.quiet)
    return _train_and_save(args, trainer, run_dir, None, trainer.cfg.train.steps, None, tuner)


def _use_threads(trainer: Any, quiet: bool) -> Any:
    """Torch's intra-op threads for this run, said on stderr: one choice
    (engine.threads.choose_threads), or a ThreadTuner that chooses while training."""
    import torch

    from .engine.threads import tuner_for

    tuner = tuner_for(trainer.cfg)
    n = torch.get_num_threads()
    if not quiet:
        how = "auto" if trainer.cfg.train.threads == 0 else "train.threads"
        many = f"1 or {tuner.most} torch threads, measured while training" if tuner else \
            f"{n} torch thread{'s' if n > 1 else ''}"
        print(f"ganplay: training on {trainer.device.type} with {many} ({how})", file=sys.stderr)
    return tuner


def _resume(args: argparse.Namespace, cfg: Any) -> int:
    from .engine.runs import load_run, read_history

    run_dir = Path(args.resume)
    trainer, _ = load_run(run_dir)
    # rows past the checkpoint's step (written by a save that failed at the checkpoint) go
    history, dropped = read_history(run_dir / "history.csv", trainer.step_count)
    if dropped and not args.quiet:
        print(f"ganplay: dropped {dropped} history row(s) of '{run_dir / 'history.csv'}' that were cut or "
              f"past the checkpoint (step {trainer.step_count})", file=sys.stderr)
    target = trainer.cfg.train.steps
    # an unfinished run (interrupted, or a save that failed) continues to its target by default
    steps = args.steps if args.steps is not None else (
        target - trainer.step_count if trainer.step_count < target else target)
    from .engine.config import split_override

    for item in args.set or []:  # live fields (learning rates, loss, ...) may change on resume
        trainer.set(*split_override(item))  # NeedsReset (a ConfigError) for structural fields
    if args.threads is not None:
        trainer.set("train.threads", args.threads)
    if args.tensorboard:
        trainer.set("train.tensorboard", True)
    tuner = _use_threads(trainer, args.quiet)
    # the run's config then reads like that of one straight run of the total length
    trainer.set("train.steps", trainer.step_count + steps)
    out = Path(args.out) if args.out else run_dir
    return _train_and_save(args, trainer, out, history, steps, trainer.step_count if out == run_dir else None,
                           tuner)


@contextlib.contextmanager
def _sigint_stops():
    """While training: the first Ctrl-C asks the loop to stop after the current step (so the run
    is saved whole), a second one aborts at once. Yields the loop's ``stop`` callable."""
    import signal
    import threading

    presses = [0]

    def stop() -> bool:
        return presses[0] > 0

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_sigint(signum: int, frame: Any) -> None:
        presses[0] += 1
        if presses[0] > 1:
            raise KeyboardInterrupt
        print("\nganplay: stopping after this step to save the run (Ctrl-C again aborts without saving)",
              file=sys.stderr, flush=True)

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, old)


def _train_and_save(args: argparse.Namespace, trainer: Any, run_dir: Path, history: Any, steps: int,
                    saved_step: int | None, tuner: Any = None) -> int:
    """Train, saving the run folder every --save-every seconds, on Ctrl-C and at the end.

    ``saved_step``: the step of the state ``run_dir`` already holds (None: none), so a failed
    save can say what was kept.
    """
    from .engine.runs import RunError, train, write_last_good, write_run

    saved = [saved_step]
    tb = _tensorboard(trainer, run_dir, args.quiet)
    on_log = None if args.quiet else _printer(trainer.cfg)
    if tb is not None:
        on_log = tb.callback(trainer, on_log)

    def save(h: Any) -> None:
        try:
            write_run(run_dir, trainer, h, None, saved_step=saved[0])
            saved[0] = trainer.step_count
        except RunError as exc:  # a full disk must not stop the training: try again later
            print(f"ganplay: warning: periodic save failed: {exc}", file=sys.stderr, flush=True)

    with _sigint_stops() as stop:
        try:
            history, metrics = train(trainer, steps, history, on_log=on_log, stop=stop, save=save,
                                     save_every=max(0.0, args.save_every), tuner=tuner)
            interrupted = bool(metrics.get("interrupted"))
            if tb is not None:
                tb.finish(trainer, metrics)
            write_run(run_dir, trainer, history, None if interrupted else metrics, saved_step=saved[0])
            if "stopped" in metrics:  # diverged: keep the last good state where every command finds it
                good = write_last_good(run_dir, trainer)
                print(f"ganplay: the last good state (step {trainer.last_good_step}) is in '{good}': "
                      f"'ganplay eval {good}', 'ganplay sample {good} -o x.png', 'ganplay export {good} -o g.ganplay' "
                      f"or 'ganplay train --resume {good}' use it", file=sys.stderr)
        except KeyboardInterrupt:
            kept = (f"'{run_dir}' holds the run as saved at step {saved[0]}" if saved[0] is not None
                    else f"nothing was saved to '{run_dir}'")
            print(f"ganplay: aborted at step {trainer.step_count} without saving; {kept}", file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            if tb is not None:
                tb.close()
    if interrupted:
        print(f"ganplay: interrupted at step {trainer.step_count} of {trainer.cfg.train.steps}; the run is saved "
              f"in '{run_dir}' (continue it with: ganplay train --resume {run_dir})", file=sys.stderr)
        return EXIT_INTERRUPTED
    return _report(run_dir, metrics, args.quiet)


def _tensorboard(trainer: Any, run_dir: Path, quiet: bool) -> Any:
    """The run's TensorBoard log when train.tensorboard is on (TensorBoardMissing, a config
    error that says how to install it, when the package is not there)."""
    if not trainer.cfg.train.tensorboard:
        return None
    from .engine.tensorboard import LOGDIR, RunLog

    log = RunLog(run_dir / LOGDIR, trainer.cfg)
    log.pictures(trainer)   # where the run starts from
    if not quiet:
        print(f"ganplay: TensorBoard events in '{log.logdir}' (tensorboard --logdir {run_dir})", file=sys.stderr)
    return log


def _printer(cfg: Any):
    every = max(cfg.train.log_every, cfg.train.steps // 20 if cfg.train.steps else 1)

    def on_log(row: dict[str, Any]) -> None:
        if row["step"] % every == 0 or "w1" in row or "mnist_score" in row:
            extra = ""
            if row.get("modes_covered") is not None:
                extra = f"  modes {row['modes_covered']}  hq {row['hq_fraction']:.1%}  w1 {row['w1']:.3f}"
            elif row.get("mnist_score") is not None:
                extra = f"  score {row['mnist_score']:.2f}  fid {row.get('fid', float('nan')):.2f}"
            print(f"step {int(row['step']):>7}  loss_d {row['loss_d']:.4f}  loss_g {row['loss_g']:.4f}{extra}",
                  file=sys.stderr, flush=True)

    return on_log


def _report(run_dir: Path, metrics: dict[str, Any], quiet: bool) -> int:
    if not quiet:
        print(json.dumps({k: v for k, v in metrics.items()}, indent=2, default=str))
        print(f"run written to {run_dir}", file=sys.stderr)
    if "stopped" in metrics:
        print(f"ganplay: training stopped: {metrics['stopped']}", file=sys.stderr)
        return EXIT_DIVERGED
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .engine.runs import evaluate, load_run

    trainer, saved = load_run(args.run)
    if args.recompute or not saved:
        metrics = evaluate(trainer, n=args.n)
        metrics["steps"] = trainer.step_count
        for k in ("steps_per_s", "wall_s"):
            if k in saved:
                metrics[k] = saved[k]
    else:
        metrics = saved
    if args.json:
        print(json.dumps(metrics, indent=2, default=str))
    else:
        width = max(len(k) for k in metrics)
        for k, v in metrics.items():
            shown = f"{v:.4g}" if isinstance(v, float) else str(v)
            print(f"{k:<{width}}  {shown}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from .engine.presets import PRESETS

    width = max(len(n) for n in PRESETS)
    for p in PRESETS.values():
        print(f"{p.name:<{width}}  {p.summary}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="ganplay", description="Watch GANs learn. With no command, opens the playground window.")
    parser.add_argument("--version", action="version", version=f"ganplay {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("train", help="train a GAN headless and write a run folder")
    _add_config_args(p)
    p.add_argument("--steps", type=int, help="training steps (same as --set train.steps=N)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch CPU threads (same as --set train.threads=N; default: chosen per workload)")
    p.add_argument("-o", "--out", metavar="DIR", help="run folder (default runs/<time>-<recipe>-<data>)")
    p.add_argument("--print-config", action="store_true",
                   help="print the full resolved config as TOML, each field after its help as a comment, and exit")
    p.add_argument("--resume", metavar="RUN", help="continue a run folder from its checkpoint "
                                                   "(an unfinished run: up to its steps, unless --steps says)")
    p.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard event files into RUN/tensorboard (same as --set "
                        "train.tensorboard=true; needs pip install 'ganplay[tensorboard]')")
    p.add_argument("--save-every", type=float, default=60.0, metavar="SECONDS",
                   help="also save the run folder every SECONDS of training (default 60; 0: only at the end "
                        "and on Ctrl-C)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="print the metrics of a run folder")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--recompute", action="store_true", help="measure again from the checkpoint")
    p.add_argument("-n", type=int, default=2500, help="samples for --recompute (default 2500)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("presets", help="list the named recipes, one line each")
    p.set_defaults(func=cmd_presets)

    for mod in EXTRA_COMMANDS:
        importlib.import_module(mod).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        from .ui.app import main as gui_main

        return gui_main([])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from .engine.config import ConfigError
    from .engine.data2d import DataFileError
    from .engine.runs import RunError

    try:
        return int(args.func(args) or 0)
    except (ConfigError, DataFileError, RunError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
