"""`ganplay compare` headless: the ranking table on stdout, configs + metrics exported."""
from __future__ import annotations

import csv
import json

import pytest

from ganplay.cli import main

SMALL = ["--set", "model.g_width=32", "--set", "model.d_width=32", "--set", "train.batch_size=64"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_compare_presets_prints_a_ranking_and_exports(tmp_path, capsys) -> None:
    js, cs = tmp_path / "c.json", tmp_path / "c.csv"
    rc = main(["compare", "--presets", "vanilla,lsgan,hinge-sn", "--steps", "20", "-n", "300", "-q",
               "--json", str(js), "--csv", str(cs)] + SMALL)
    assert rc == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:6] == ["#", "config", "modes", "HQ", "%", "rev"]
    body = out[2:]
    assert len(body) == 3 and {ln.split()[1] for ln in body} == {"vanilla", "lsgan", "hinge-sn"}
    assert [ln.split()[0] for ln in body] == ["1", "2", "3"]
    assert all(ln.split()[-2] == "20" and ln.split()[-1] in ("batched", "alone") for ln in body)
    data = json.loads(js.read_text())
    assert [m["label"] for m in data["members"]] == [ln.split()[1] for ln in body]
    hinge = next(m for m in data["members"] if m["label"] == "hinge-sn")
    assert hinge["config"]["model"]["spectral_norm"] is True and hinge["config"]["model"]["d_width"] == 32
    rows = list(csv.DictReader(cs.open()))
    assert {r["label"] for r in rows} == {"vanilla", "lsgan", "hinge-sn"}
    assert all(0 <= int(r["modes_covered"]) <= 8 and float(r["w1"]) > 0 for r in rows)


def test_compare_vary_builds_the_product(capsys) -> None:
    rc = main(["compare", "--vary", "loss=ns,hinge", "--vary", "k=1,2", "--steps", "3", "-n", "200", "-q"] + SMALL)
    assert rc == 0
    body = capsys.readouterr().out.splitlines()[2:]
    labels = {ln.split("  ")[1].strip() for ln in body}
    assert labels == {"loss=ns k=1", "loss=ns k=2", "loss=hinge k=1", "loss=hinge k=2"}
    assert all(ln.split()[-1] == "batched" for ln in body)   # two groups of two (k = 1, k = 2)


def test_compare_errors_name_the_problem(capsys) -> None:
    assert main(["compare", "--presets", "vanilla,nope", "--steps", "1"]) == 2
    assert "unknown preset 'nope'" in capsys.readouterr().err
    assert main(["compare", "--vary", "loss=ns,bogus", "--steps", "1"]) == 2
    assert "loss.name" in capsys.readouterr().err
    assert main(["compare", "--steps", "1"]) == 2
    assert "--presets" in capsys.readouterr().err
