"""The GAN update is defined once (trainer.d_update / g_update and the per-member functions they
call) and the batched compare runs that same code on stacked members, with torch's optimisers."""
from __future__ import annotations

import pytest
import torch

from ganplay.engine import trainer as T
from ganplay.engine.compare_batched import BatchedGroup, RowOptimizers, StackedMLP
from ganplay.engine.config import Config, apply_overrides
from ganplay.engine.models import mlp

SMALL = ["model.g_width=16", "model.d_width=16", "train.batch_size=32"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # conftest.py: tiny networks, one thread


def _cfg(*extra: str) -> Config:
    return apply_overrides(Config(), SMALL + list(extra)).validate()


def test_trainer_and_batched_group_run_the_same_update_functions(monkeypatch) -> None:
    calls: dict[str, list[tuple]] = {"d": [], "g": []}

    def spy(kind: str, fn):
        def wrapped(lc, v, *rest):
            calls[kind].append((lc.name, tuple(v.shape)))
            return fn(lc, v, *rest)
        return wrapped

    monkeypatch.setattr(T, "d_objective", spy("d", T.d_objective))
    monkeypatch.setattr(T, "g_objective", spy("g", T.g_objective))
    T.Trainer(_cfg("loss.name=hinge"), device="cpu").step()
    assert calls == {"d": [("hinge", (32,))], "g": [("hinge", (32,))]}
    calls["d"].clear(), calls["g"].clear()
    grp = BatchedGroup([T.Trainer(_cfg(f"loss.name={n}"), device="cpu") for n in ("ns", "hinge", "ns")])
    grp.step()
    # one vmap per loss config: the function sees one member's scores at a time
    assert sorted(calls["d"]) == [("hinge", (32,)), ("ns", (32,))]
    assert sorted(calls["g"]) == [("hinge", (32,)), ("ns", (32,))]


def test_stats_of_stacked_members_are_the_per_member_stats() -> None:
    g = torch.Generator().manual_seed(0)
    v_r, v_f = torch.randn(3, 40, generator=g), torch.randn(3, 40, generator=g)
    loss, gn = torch.rand(3, generator=g), torch.rand(3, generator=g)
    stacked = T.d_stats(loss, v_r, v_f, gn)
    assert stacked.shape == (3, 7)
    for i in range(3):
        assert torch.equal(stacked[i], T.d_stats(loss[i], v_r[i], v_f[i], gn[i]))
    assert torch.equal(T.g_stats(loss, gn)[1], T.g_stats(loss[1], gn[1]))


def test_grad_norm_per_member() -> None:
    g = torch.Generator().manual_seed(1)
    grads = [torch.randn(4, 5, 3, generator=g), torch.randn(4, 5, generator=g)]
    per = T.grad_norm(grads, members=True)
    for i in range(4):
        torch.testing.assert_close(per[i], T.grad_norm([x[i] for x in grads]), rtol=1e-6, atol=0)


def test_divergence_is_found_per_member_with_one_message() -> None:
    loss = torch.tensor([1.0, float("nan"), 2.0])
    gn = torch.tensor([1.0, 1.0, float("inf")])
    assert T.find_divergence(loss, gn) == [None, ("loss", pytest.approx(float("nan"), nan_ok=True)),
                                           ("gradient", float("inf"))]
    assert T.find_divergence(torch.tensor(0.5), torch.tensor(3.0)) == [None]
    msg = T.divergence_message("generator", "gradient", float("inf"), 12, "ns")
    assert msg.startswith("generator gradient became inf at step 12 (loss 'ns'); the update was not applied.")


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_fused_step_reads_a_transposed_gradient_right(name: str) -> None:
    # A stacked weight's bmm gradient can come back transposed in memory; the fused kernels
    # would read it in the parameter's layout. apply_update hands them a matching layout.
    tc = _cfg("train.momentum=0.3").train
    g = torch.Generator().manual_seed(2)
    grad = torch.randn(3, 4, 5, generator=g).transpose(1, 2).contiguous().transpose(1, 2)
    assert grad.stride() != (20, 5, 1)
    a = torch.zeros(3, 4, 5, requires_grad=True)
    b = torch.zeros(3, 4, 5, requires_grad=True)
    for _ in range(3):
        T.apply_update(T.make_optimizer(name, [a], 1e-2, tc), [a], [grad])
        T.apply_update(T.make_optimizer(name, [b], 1e-2, tc), [b], [grad.contiguous()])
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop"])
def test_row_optimizers_step_each_member_like_its_own_optimiser(name: str) -> None:
    # Rows 0-1 share hyperparameters (one optimiser over the row views), row 2 has its own.
    cfgs = [_cfg("train.momentum=0.3"), _cfg("train.momentum=0.3"), _cfg("train.momentum=0.2", "train.lr_d=1e-3")]
    torch.manual_seed(3)
    nets = [mlp(2, 1, 2, 8, "relu", "none") for _ in cfgs]
    own = [T.make_optimizer(name, list(n.parameters()), c.train.lr_d, c.train) for n, c in zip(nets, cfgs)]
    stack = StackedMLP(nets, [False] * 3, torch.device("cpu"))
    rows = RowOptimizers(name, stack, own, [(c.train.lr_d, c.train) for c in cfgs])
    assert [p[0] for p in rows.parts] == [slice(0, 2), slice(2, 3)]
    g = torch.Generator().manual_seed(4)
    for _ in range(4):
        grads = [torch.randn(p.shape, generator=g) for p in stack.params]
        rows.step(grads)
        for i, (n, opt) in enumerate(zip(nets, own)):
            T.apply_update(opt, list(n.parameters()), [x[i] for x in grads])
    for i, (n, opt) in enumerate(zip(nets, own)):
        for s, p in zip(stack.params, n.parameters()):
            torch.testing.assert_close(s[i].detach(), p.detach(), rtol=1e-6, atol=1e-7)
        fresh = T.make_optimizer(name, list(n.parameters()), cfgs[i].train.lr_d, cfgs[i].train)
        rows.write_member(i, fresh, list(n.parameters()))   # the state goes back into torch's layout
        a, b = opt.state_dict()["state"], fresh.state_dict()["state"]
        assert a.keys() == b.keys()
        for k in a:
            for key, v in a[k].items():
                if torch.is_tensor(v):
                    torch.testing.assert_close(b[k][key], v, rtol=1e-6, atol=1e-7)
                else:
                    assert b[k][key] == v
