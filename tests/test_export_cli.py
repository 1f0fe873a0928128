"""`ganplay export` and `ganplay sample` from the command line."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from ganplay.cli import main
from ganplay.engine.export import export_bundle, load_bundle
from ganplay.engine.runs import load_run
from ganplay.engine.session import save_session

BASE = ["--set", "model.g_width=32", "--set", "model.d_width=32", "--set", "train.batch_size=64",
        "--set", "train.device=cpu", "--set", "train.eval_every=0", "--set", "model.latent_dim=4", "-q"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / "ring"
    assert main(["train", "--steps", "20", "-o", str(out), *BASE]) == 0
    return out


def read_png(path: Path) -> np.ndarray:
    """A PNG as (H, W[, C]) uint8, read by Pillow (a library other than the one that drew it)."""
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im)


def test_export_then_sample_matches_the_run(run, tmp_path):
    bundle = tmp_path / "ring.ganplay"
    assert main(["export", str(run), "-o", str(bundle), "-q"]) == 0
    trainer, _ = load_run(run, device="cpu")
    z = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    assert np.array_equal(load_bundle(bundle)(z), trainer.generate(z))

    for source in (bundle, run):
        out = tmp_path / f"from-{source.name}.npy"
        assert main(["sample", str(source), "-n", "300", "-o", str(out), "--seed", "5", "-q"]) == 0
        assert np.array_equal(np.load(out), trainer.sample(300, seed=5))

    csv = tmp_path / "s.csv"
    assert main(["sample", str(bundle), "-n", "10", "-o", str(csv), "--seed", "5", "-q"]) == 0
    lines = csv.read_text().splitlines()
    assert lines[0] == "x,y" and len(lines) == 11
    assert np.array_equal(np.loadtxt(csv, delimiter=",", skiprows=1, dtype=np.float32),
                          trainer.sample(10, seed=5))


def test_sample_png_is_a_figure_of_real_and_generated_points(run, tmp_path):
    png = tmp_path / "s.png"
    assert main(["sample", str(run), "-n", "2000", "-o", str(png), "-q"]) == 0
    img = read_png(png)[..., :3].astype(int)
    assert img.shape == (640, 640, 3)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    purple = (r > g + 40) & (b > g + 40)        # generated, the canvas's #762a83 (faded by alpha)
    green = (g > r + 40) & (g > b + 40)         # real, the canvas's #1b7837
    assert 0.002 < purple.mean() < 0.5 and 0.002 < green.mean() < 0.5
    dark = (img.sum(-1) < 200).mean()           # axes, ticks, labels and the title are drawn
    assert dark > 0.003


def test_export_folder_from_session_file(run, tmp_path):
    trainer, _ = load_run(run, device="cpu")
    session = save_session(trainer, None, tmp_path / "s.gpsession")
    out = tmp_path / "bundle"
    assert main(["export", str(session), "-o", str(out), "-q"]) == 0
    assert (out / "generator.pt2").exists() and (out / "model.safetensors").exists()


def test_errors_name_the_file_and_exit_2(run, tmp_path, capsys):
    cases = [
        (["export", str(tmp_path / "nope"), "-o", str(tmp_path / "b")], "nope"),
        (["export", str(run), "-o", str(tmp_path / "b"), "--format", "tflite"], "tflite"),
        (["sample", str(run), "-n", "5", "-o", str(tmp_path / "s.txt")], "s.txt"),
        (["sample", str(run), "-n", "5", "-o", str(run / "config.toml" / "s.npy")], "s.npy"),
        (["sample", str(run), "-n", "5", "-o", str(tmp_path / "s.npy"), "--label", "3"], "label 3"),
    ]
    for argv, named in cases:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("ganplay: error:") and named in err, err


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malicious_checkpoint_is_refused_by_export(run, tmp_path, capsys):
    import shutil

    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    bad = tmp_path / "bad-run"
    shutil.copytree(run, bad)
    torch.save({"G": Evil()}, bad / "checkpoint.pt")
    assert main(["export", str(bad), "-o", str(tmp_path / "b.ganplay")]) == 2
    assert "checkpoint.pt" in capsys.readouterr().err
    (bad / "checkpoint.pt").write_bytes(pickle.dumps(Evil()))
    assert main(["sample", str(bad), "-n", "5", "-o", str(tmp_path / "s.npy")]) == 2
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "b.ganplay").exists()


def test_sample_digits_grid_and_labels(tmp_path):
    from ganplay.engine import Config, Trainer
    from ganplay.engine.config import apply_overrides

    cfg = apply_overrides(Config(), [
        "data.name=mnist", "data.limit=256", "model.arch=dcgan", "model.conditional=true",
        "model.latent_dim=8", "model.g_width=8", "model.d_width=8", "train.batch_size=8", "train.device=cpu"])
    bundle = export_bundle(Trainer(cfg), tmp_path / "digits.ganplay", formats=())
    npy, png, csv = tmp_path / "d.npy", tmp_path / "d.png", tmp_path / "d.csv"
    assert main(["sample", str(bundle), "-n", "16", "-o", str(npy), "-q"]) == 0
    assert np.load(npy).shape == (16, 1, 28, 28)
    assert main(["sample", str(bundle), "-n", "16", "-o", str(png), "-q"]) == 0
    img = read_png(png)
    assert img.shape == (2 * (4 * 30 + 2), 2 * (4 * 30 + 2))     # 4 x 4 grid, 2 px padding, scale 2
    assert main(["sample", str(bundle), "-n", "4", "-o", str(csv), "--label", "7", "-q"]) == 0
    rows = csv.read_text().splitlines()
    assert rows[0].startswith("label,p0,") and all(r.startswith("7,") for r in rows[1:])
