"""The .pt2 program in a bundle runs with torch alone, in a process that never imports ganplay."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ganplay.engine.export import PT2, export_bundle



@pytest.fixture(scope="module")
def zip_bundle(ring_trainer, tmp_path_factory) -> Path:
    return export_bundle(ring_trainer, tmp_path_factory.mktemp("b") / "ring.ganplay")


def _z(n: int, dim: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def test_pt2_runs_in_a_process_without_ganplay(ring_trainer, zip_bundle, tmp_path):
    pt2 = tmp_path / "g.pt2"
    pt2.write_bytes(zipfile.ZipFile(zip_bundle).read(PT2))
    z = _z(300, 3, seed=3)
    np.save(tmp_path / "z.npy", z)
    script = textwrap.dedent(f"""
        import sys, numpy as np, torch
        prog = torch.export.load({str(pt2)!r}).module()
        z = torch.from_numpy(np.load({str(tmp_path / 'z.npy')!r}))
        np.save({str(tmp_path / 'out.npy')!r}, prog(z).numpy())
        np.save({str(tmp_path / 'one.npy')!r}, prog(z[:1]).numpy())   # batch size 1 works too
        assert 'ganplay' not in sys.modules, 'the .pt2 pulled in ganplay'
        print('ok')
    """)
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-2000:]
    live = ring_trainer.generate(z)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), live, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "one.npy"), live[:1], rtol=0, atol=1e-6)
