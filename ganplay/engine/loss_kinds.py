"""Facts about the losses that need no torch (the window reads them without loading it)."""
from __future__ import annotations

# The raw score bound of the f-GANs whose g_f or f*(g_f(v)) is exponential or unbounded in v
# (why: see losses.py, where the clamp is applied).
F_CLAMP = 10.0
F_CLAMPED = frozenset({"kl", "reverse_kl", "pearson", "neyman", "hellinger"})

# D's score is an unbounded critic rather than a logit of P(real)
CRITIC_LOSSES = frozenset({"wgan", "wgan-gp", "hinge"})
