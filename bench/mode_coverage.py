"""Mode coverage on the VEEGAN/GDPP 2D protocol, for each preset, over several seeds: a thin use
of ``ganplay sweep --table veegan`` (engine/sweep_tables.py) that lets you pick the presets.

Data (presets never set data fields, so every preset sees exactly these):
  ring: 8 Gaussians on a circle of radius 1, sigma = 0.01
  grid: 5 x 5 Gaussians, centres {-4,-2,0,2,4}^2, sigma = 0.05
Each run trains a preset for its own ``train.steps`` (or ``--steps``), then draws 2,500 samples
(``metrics.evaluate_2d``): a sample is high quality within 3 sigma of its nearest centre, a mode is
covered when a high-quality sample is nearest to it. Every run is a run folder under ``--out``
(its history.csv holds the metrics every 500 steps, on 1,000 samples); the table puts the
published rows, with their sources, under ganplay's.

    python bench/mode_coverage.py                        # vanilla and stable, 5 seeds, both data sets
    python bench/mode_coverage.py --presets all --seeds 2 --jobs 2
    python bench/mode_coverage.py --presets stable --data grid --steps 30000
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganplay.engine.presets import preset_names  # noqa: E402
from ganplay.engine.sweep import PROTOCOL_DATA, plan, write_report  # noqa: E402
from ganplay.engine.sweep_backends import LocalBackend, run_sweep  # noqa: E402
from ganplay.engine.sweep_tables import format_veegan, veegan_spec  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="vanilla,stable", help="comma list, or 'all' (every 2D preset)")
    ap.add_argument("--data", default="ring,grid", help="comma list of: " + ", ".join(PROTOCOL_DATA))
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    ap.add_argument("--steps", type=int, default=None, help="override every preset's train.steps")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="extra config override for every run (not the published protocol)")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (worker processes of 1 thread)")
    ap.add_argument("-o", "--out", default=None, help="sweep folder (default: a temporary one); "
                                                      "the same folder resumes an interrupted bench")
    args = ap.parse_args(argv)

    presets = preset_names("2d") if args.presets == "all" else [p.strip() for p in args.presets.split(",")]
    datas = [d.strip() for d in args.data.split(",")]
    if any(p not in preset_names("2d") for p in presets) or any(d not in PROTOCOL_DATA for d in datas):
        ap.error(f"unknown preset(s) or data set(s): {presets}, {datas}")
    spec = veegan_spec(args.seeds, args.steps, presets)
    spec.data = {d: spec.data[d] for d in datas}
    spec.overrides += args.set
    runs = plan(spec)
    with tempfile.TemporaryDirectory(prefix="mode-coverage-") as tmp:
        out = Path(args.out or tmp)
        backend = LocalBackend(out, workers=args.jobs)
        try:
            results, _ = run_sweep(runs, out, backend, on_result=lambda r: print(
                f"{r['run_id']:<28} {r['status']:<9} {r.get('metrics', {}).get('modes_covered', '-')!s:>3}/"
                f"{r.get('metrics', {}).get('modes_total', '-')!s:<3} HQ "
                f"{100 * (r.get('metrics', {}).get('hq_fraction') or 0):5.1f} %  {r.get('wall_s', 0):6.1f} s "
                f"{r.get('reason', '')}", flush=True), name="veegan")
        finally:
            backend.close()
        rows, _ = write_report(out, runs, results, "veegan")
        print()
        print(format_veegan(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
