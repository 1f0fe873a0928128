"""Torch for the scenes' tiny networks: Adam without ``torch.optim``, and one thread.

Building the first ``torch.optim`` optimizer in a process imports ``torch._dynamo`` (its
``__init__`` is wrapped to disable compilation): 2 to 9 s on the course machines, which alone breaks
a scene's first paint (≤ 1 s). The scenes' networks have a few thousand parameters, so this plain
Adam (Kingma & Ba, with bias correction) is as fast per step.

``one_thread``: a scene steps on the GUI thread with ops of a few thousand numbers. With two intra-op
threads on a busy two-core machine, a step of the divergence explorer took 561 ms against 16 ms on
one thread (OpenMP workers spinning for cores they do not get); the scenes' steps and frames run
inside it, and the process's own setting is restored after (the playground's latent panel keeps its).
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    if n != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if n != 1:
            torch.set_num_threads(n)


def on_one_thread(fn: F) -> F:
    """``fn`` run inside ``one_thread()``."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with one_thread():
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


class Adam:
    def __init__(self, params: Iterable[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.params = [p for p in params]
        self.lr, self.betas, self.eps = float(lr), betas, eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        # One fused call per operation over all tensors (torch._foreach_*): a scene's step is a few
        # of these, and Python overhead per tensor would be most of it.
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        ps = [self.params[i] for i in live]
        gs = [p.grad for p in ps]
        ms, vs = [self.m[i] for i in live], [self.v[i] for i in live]
        torch._foreach_lerp_(ms, gs, 1 - b1)
        torch._foreach_mul_(vs, b2)
        torch._foreach_addcmul_(vs, gs, gs, value=1 - b2)
        denom = torch._foreach_sqrt(torch._foreach_div(vs, c2))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(ps, ms, denom, value=-self.lr / c1)
