import json
import subprocess
import sys

import pytest

from ganplay.cli import main


def test_train_writes_run_folder_and_eval_reads_it(tmp_path, capsys):
    run = tmp_path / "run"
    rc = main(["train", "--steps", "60", "-q", "-o", str(run), "--set", "train.eval_every=30",
               "--set", "model.g_width=32", "--set", "model.d_width=32", "--set", "data.modes=6",
               "--set", "train.device=cpu"])
    assert rc == 0
    for f in ("config.toml", "history.csv", "metrics.json", "checkpoint.pt"):
        assert (run / f).is_file(), f
    m = json.loads((run / "metrics.json").read_text())
    for k in ("steps", "modes_covered", "modes_total", "hq_fraction", "reverse_kl", "w1", "steps_per_s"):
        assert k in m, k
    assert m["steps"] == 60 and m["modes_total"] == 6
    assert "modes = 6" in (run / "config.toml").read_text()
    header = (run / "history.csv").read_text().splitlines()[0]
    assert header.startswith("step,loss_d,loss_g")
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 60
    assert main(["eval", str(run), "--recompute", "-n", "500"]) == 0
    assert "modes_covered" in capsys.readouterr().out


def test_print_config_round_trips(tmp_path, capsys):
    assert main(["train", "--preset", "stable", "--set", "data.radius=3", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "radius = 3.0" in text and "[train]" in text
    f = tmp_path / "c.toml"
    f.write_text(text)
    assert main(["train", "--config", str(f), "--print-config"]) == 0
    assert capsys.readouterr().out == text


def test_presets_one_line_each(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [ln.split()[0] for ln in lines]
    assert "vanilla" in names and "stable" in names and len(lines) == len(set(names))


@pytest.mark.parametrize("args, needle", [
    (["--set", "data.modez=3"], "data.modez"),
    (["--set", "train.lr_d=fast"], "train.lr_d"),
    (["--preset", "nope"], "nope"),
    (["--set", "data.name=points", "--set", "data.path=/no/such.csv"], "/no/such.csv"),
])
def test_bad_input_is_named_on_stderr(args, needle, capsys, tmp_path):
    rc = main(["train", "--steps", "1", "-q", "-o", str(tmp_path / "r"), *args])
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and "Traceback" not in err


def test_unwritable_run_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["train", "--steps", "1", "-q", "-o", str(blocker / "run")])
    assert rc == 2 and "cannot write the run folder" in capsys.readouterr().err


def test_eval_of_missing_run(capsys, tmp_path):
    assert main(["eval", str(tmp_path / "nope")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "ganplay", "presets"], capture_output=True, text=True, check=True)
    assert "vanilla" in out.stdout
