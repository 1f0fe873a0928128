"""How much memory a config will take to train, estimated from the config alone, and a refusal
of configs that cannot fit, given before anything is allocated (issue 16: "Nothing trained is
ever lost").

Each config field is bounded on its own (``config.py``'s ranges), but fields multiply: width 4096,
depth 16 and batch 65536 are each allowed, together they ask for about 90 GiB. Without this check
such a config dies in the allocator (the CLI with a traceback, the window's training process with
it) instead of getting a message.

The estimate is arithmetic on the config (no torch, microseconds), so it runs at every Trainer
build and every live change of a size field. It counts, in float32:

- parameters and buffers of G and D, exactly (``tests/test_memory_estimate.py`` checks them against
  the networks built on torch's ``meta`` device);
- the optimisers' state (Adam: two moments; SGD/RMSprop: a buffer each when used), the EMA copy of
  G and the trainer's last-good copy of all of it;
- the peak of one training step: the tensors autograd saves in the forward passes of a D update
  (real and fake batch; plus the gradient penalty's or R1's double-backward graph) or a G update
  (G and D on the fakes; plus ``unrolled`` look-ahead steps, each holding its own graph and a copy
  of D's parameters), the parameter gradients and the backward pass's working tensors;
- the data set held in memory (MNIST images as uint8; 2D data are generated per batch).

Measured against the growth of a training process's peak resident memory (VmHWM) it is within a
factor of 2 either way (``tests/test_memory_estimate.py`` measures two real sizes); the refusal
only triggers when the estimate exceeds what is available, so a config near the limit is still
tried. ``GANPLAY_MEMORY_CHECK=off`` skips the refusal for anyone the estimate wrongs.
"""
from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from typing import Any, Iterable

from .config import Config, ConfigError

FLOAT = 4  # bytes of a float32: every parameter, state and activation
MNIST_SIDE = 28
MNIST_TRAIN_IMAGES = 60_000   # a folder of the user's MNIST files
MNIST_SHIPPED_IMAGES = 10_000  # the test set shipped with ganplay, used without data.path
EVAL_ROWS = 16_384  # rows the live window evaluates D on for its grids (a 128 x 128 area)
STEP_SLACK = 1.3
# What the allocator, a few frames and Python's own objects need beyond the estimate: a config
# that leaves less than this free would start, then fail at the first frame or metric.
HEADROOM = 256 << 20


class MemoryRefused(ConfigError):
    """A config that is estimated not to fit in the memory available; the message names the
    size fields, the estimate and what is available."""


@dataclass(frozen=True)
class Layer:
    """One layer's output per sample (elements) and how many tensors of that size autograd keeps
    for the backward pass (its output, plus a norm's input, plus LeakyReLU's input)."""

    size: int
    kept: int


@dataclass(frozen=True)
class NetShape:
    """A network as the estimate sees it: parameter and buffer elements, and its layers."""

    params: int
    buffers: int
    layers: tuple[Layer, ...]
    rows_per_sample: float = 1.0  # D with PacGAN sees batch / pack rows
    spectral: bool = False        # spectral norm makes W / sigma anew in every forward pass

    def activations(self, batch: int) -> int:
        """Bytes autograd keeps from one forward pass of ``batch`` samples."""
        rows = batch * self.rows_per_sample
        kept = sum(layer.size * layer.kept for layer in self.layers) * rows * FLOAT
        return int(kept + (self.params * FLOAT if self.spectral else 0))

    def widest(self, batch: int) -> int:
        """Bytes of the largest single layer output for ``batch`` samples (the backward pass holds
        about two of these at a time: the incoming and the outgoing gradient)."""
        return int(max((layer.size for layer in self.layers), default=0) * batch * self.rows_per_sample * FLOAT)

    @property
    def bytes(self) -> int:
        return (self.params + self.buffers) * FLOAT


def _data_shape(cfg: Config) -> tuple[int, int, tuple[int, int, int] | None]:
    """(sample dimension, classes for a conditional GAN, image shape or None) from the config."""
    name = cfg.data.name
    if name in ("mnist", "stacked_mnist"):
        c = 3 if name == "stacked_mnist" else 1
        classes = (1000 if c == 3 else 10) if cfg.model.conditional else 0
        return c * MNIST_SIDE * MNIST_SIDE, classes, (c, MNIST_SIDE, MNIST_SIDE)
    return 2, 0, None  # 2D sets carry no labels: a conditional MLP gets no classes


def _kept(act: str, norm: str) -> int:
    # ReLU and tanh keep their output (the next layer's input); LeakyReLU its input; a norm layer
    # its input as well
    return 1 + (norm != "none") + (act == "leaky_relu")


def _norm_elems(norm: str, width: int) -> tuple[int, int]:
    """(parameters, buffers) of a norm layer; BatchNorm's step counter is an int64 (2 floats)."""
    if norm == "batch":
        return 2 * width, 2 * width + 2
    if norm == "layer":  # LayerNorm, or GroupNorm(1, C) in the DCGAN
        return 2 * width, 0
    return 0, 0


def mlp_shapes(cfg: Config) -> tuple[NetShape, NetShape]:
    """G and D of ``models.MLPGenerator`` / ``MLPDiscriminator``."""
    m, pack = cfg.model, cfg.train.pack
    dim, classes, image = _data_shape(cfg)

    def net(d_in: int, d_out: int, depth: int, width: int, act: str, norm: str, spectral: bool,
            out_kept: int) -> tuple[int, int, list[Layer]]:
        params = buffers = 0
        layers: list[Layer] = []
        d = d_in
        for _ in range(depth):
            params += d * width + width
            if spectral:  # the power iteration's u and v
                buffers += width + d
            p, b = _norm_elems(norm, width)
            params, buffers = params + p, buffers + b
            layers.append(Layer(width, _kept(act, norm)))
            d = width
        params += d * d_out + d_out
        if spectral:
            buffers += d_out + d
        layers.append(Layer(d_out, out_kept))
        return params, buffers, layers

    z_in = m.latent_dim + classes + m.latent_modes
    gp, gb, gl = net(z_in, dim, m.g_depth, m.g_width, m.g_activation,
                     m.g_norm, False, 1 if image else 0)
    dp, db, dl = net((dim + classes) * pack, 1, m.d_depth, m.d_width, m.d_activation, m.d_norm,
                     m.spectral_norm, 0)
    gl.insert(0, Layer(z_in, 1))  # z (with its mode code and label), kept by G's first layer
    # D's input: a conditional D concatenates the one-hot label to x (a new tensor it keeps)
    if classes:
        dl.insert(0, Layer((dim + classes) * pack, 1))
    return (NetShape(gp, gb, tuple(gl)),
            NetShape(dp, db, tuple(dl), rows_per_sample=1 / pack, spectral=m.spectral_norm))


def dcgan_shapes(cfg: Config) -> tuple[NetShape, NetShape]:
    """G and D of ``image_models.DCGANGenerator`` / ``DCGANDiscriminator``."""
    m, pack = cfg.model, cfg.train.pack
    dim, classes, image = _data_shape(cfg)
    c = image[0] if image else 1
    # G: z (+ label embedding) -> 7x7 x w -> 14x14 x w/2 -> 28x28 x C
    w = max(2, m.g_width)
    embed = min(classes, 50) if classes else 0
    z_in = m.latent_dim + embed + m.latent_modes
    bias = m.g_norm == "none"
    gp = classes * embed
    gp += z_in * w * 49 + (w if bias else 0)
    gp += w * (w // 2) * 16 + (w // 2 if bias else 0)
    gp += (w // 2) * c * 16 + c
    gb = 0
    for ch in (w, w // 2):
        p, b = _norm_elems(m.g_norm, ch)
        gp, gb = gp + p, gb + b
    kept = _kept(m.g_activation, m.g_norm)
    g_layers = (Layer(z_in, 1), Layer(49 * w, kept), Layer(196 * (w // 2), kept), Layer(dim, 1))
    # D: (C [+ label map]) x pack -> 14x14 x w/2 -> 7x7 x w -> 1
    w = max(2, m.d_width)
    in_ch = (c + (1 if classes else 0)) * pack
    bias = m.d_norm == "none"
    dp = classes * MNIST_SIDE * MNIST_SIDE
    dp += in_ch * (w // 2) * 16 + w // 2
    dp += (w // 2) * w * 16 + (w if bias else 0)
    dp += w * 49 + 1
    p, db = _norm_elems(m.d_norm, w)
    dp += p
    if m.spectral_norm:  # u and v of each of the three normalised weights
        db += (w // 2 + in_ch * 16) + (w + (w // 2) * 16) + (1 + w * 49)
    d_layers = [Layer(196 * (w // 2), 1 + (m.d_activation == "leaky_relu")),
                Layer(49 * w, _kept(m.d_activation, m.d_norm))]
    if classes:  # the label map concatenated to the images as a channel
        d_layers.insert(0, Layer(in_ch * MNIST_SIDE * MNIST_SIDE, 1))
    return (NetShape(gp, gb, g_layers),
            NetShape(dp, db, tuple(d_layers), rows_per_sample=1 / pack, spectral=m.spectral_norm))


def _optimizer_factor(name: str, momentum: float) -> int:
    """Buffers per parameter that ``trainer.make_optimizer``'s optimiser keeps."""
    if name == "adam":
        return 2
    if name == "sgd":
        return 1 if momentum > 0 else 0
    # RMSprop: the square average, and a momentum buffer only below 0.5 (make_optimizer)
    return 1 + (1 if 0 < momentum < 0.5 else 0)


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one trainer of a config needs at its peak, by part (``total`` is their sum)."""

    networks: int      # G's and D's parameters and buffers
    gradients: int     # the parameters' gradients (``apply_update`` leaves them in ``.grad``)
    optimizers: int    # the optimisers' state
    copies: int        # the EMA of G and the last-good copy of the networks and optimisers
    peak: int          # the largest transient: one training step, or a new last-good copy
    data: int          # the data set held in memory
    g_bytes: int = 0
    d_bytes: int = 0

    @property
    def total(self) -> int:
        return self.networks + self.gradients + self.optimizers + self.copies + self.peak + self.data

    @property
    def resident(self) -> int:
        """What a trainer holds between steps (all but the transient peak)."""
        return self.total - self.peak

    def parts(self) -> list[tuple[str, int]]:
        return [("networks", self.networks), ("gradients", self.gradients),
                ("optimiser state", self.optimizers), ("EMA and last-good copies", self.copies),
                ("one training step", self.peak), ("data", self.data)]

    def describe(self) -> str:
        """'2.1 GiB (networks 64.0 MiB, ..., one training step 1.9 GiB)'."""
        from .limits import human_bytes

        inner = ", ".join(f"{label} {human_bytes(b)}" for label, b in self.parts() if b)
        return f"{human_bytes(self.total)} ({inner})"


def estimate(cfg: Config) -> MemoryEstimate:
    """The memory one ``Trainer(cfg)`` takes at its peak (see the module's docstring)."""
    tc, lc = cfg.train, cfg.loss
    G, D = (dcgan_shapes if cfg.model.arch == "dcgan" else mlp_shapes)(cfg)
    dim, classes, image = _data_shape(cfg)
    B = max(tc.batch_size, tc.late_batch_size)   # the largest batch the run takes
    nets = G.bytes + D.bytes
    gpar, dpar = G.params * FLOAT, D.params * FLOAT
    optim = (gpar * _optimizer_factor(tc.opt_g, tc.momentum)
             + dpar * _optimizer_factor(tc.opt_d, tc.momentum))
    ema = G.bytes if tc.ema > 0 else 0
    good = nets + optim + ema  # Trainer._remember_good deep-copies the state dict
    a_g, a_d = G.activations(B), D.activations(B)
    batch = B * dim * FLOAT
    back = 2 * max(G.widest(B), D.widest(B))  # gradients in flight during a backward pass
    # a D update: the real and the fake batch through D, each graph kept for the backward pass,
    # and D's new gradients while the old ones are still held
    d_step = 2 * batch + 2 * a_d + dpar + back
    # D on the interpolates, and the graph of its gradient (create_graph: the backward's own saved
    # tensors and gradients are kept for the second backward; measured about 5 forward graphs)
    if lc.name == "wgan-gp" or lc.gp > 0:
        d_step += batch + 5 * a_d
    if lc.r1 > 0:                           # the same for the gradient at the real batch
        d_step += 4 * a_d
    # a G update: G and D on the fakes; each unrolled look-ahead keeps G's graph on a fresh batch,
    # D's graphs on the real and the fake batch, their gradient's graph (create_graph) and a new
    # set of D's parameters
    g_step = a_g + a_d + batch + gpar + back
    g_step += tc.unrolled * (a_g + 6 * a_d + 2 * batch + 2 * dpar)
    # the allocator's fragmentation and the kernels' own temporaries: measured peaks of CPU steps
    # were 1.0-2.1x the tensors counted above (bench: tests/test_memory_estimate.py's sizes and
    # seven more, from BatchNorm and packing to WGAN-GP, unrolled steps and the DCGAN)
    d_step, g_step = int(d_step * STEP_SLACK), int(g_step * STEP_SLACK)
    # the window evaluates D on a grid and G on fixed z between steps, without gradients
    show = 2 * max(G.widest(EVAL_ROWS), D.widest(EVAL_ROWS)) if image is None else 0
    # every good_every steps a new last-good copy is made while the old one is still held
    peak = max(d_step, g_step, show, good)
    data = 0
    if image is not None:
        n = cfg.data.limit or (MNIST_TRAIN_IMAGES if cfg.data.path else MNIST_SHIPPED_IMAGES)
        data = n * dim  # uint8 images
    return MemoryEstimate(nets, gpar + dpar, optim, ema + good, peak, data, G.bytes, D.bytes)


# ---------------------------------------------------------------- what is available
def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _proc_kib(path: str, key: str) -> int | None:
    """A 'Key:   123 kB' line of a /proc file, in bytes."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    """What this process's cgroup (v2, else v1) still allows, if it has a limit."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, ctrls, path = parts
        if hier == "0" and ctrls == "":  # v2
            base = "/sys/fs/cgroup" + path.rstrip("/")
            limit, used = _read_int(base + "/memory.max"), _read_int(base + "/memory.current")
        elif "memory" in ctrls.split(","):  # v1
            base = "/sys/fs/cgroup/memory" + path.rstrip("/")
            limit, used = _read_int(base + "/memory.limit_in_bytes"), _read_int(base + "/memory.usage_in_bytes")
        else:
            continue
        # v1 reports 'no limit' as a number near 2^63
        if limit is not None and used is not None and limit < 1 << 60:
            return max(0, limit - used)
    return None


def available_bytes(device: Any = "cpu") -> tuple[int, str] | None:
    """(bytes this process may still allocate on ``device``, where that figure comes from), or
    None where it cannot be told (then nothing is refused).

    CPU: the least of /proc/meminfo's MemAvailable, the cgroup's remaining limit and the address
    space left under ``ulimit -v``. CUDA: the device's free memory plus what torch's caching
    allocator holds unused."""
    dev = str(device)
    if dev.startswith("cuda"):
        import torch

        try:
            free, _ = torch.cuda.mem_get_info(torch.device(dev))
            cached = torch.cuda.memory_reserved(torch.device(dev)) - torch.cuda.memory_allocated(torch.device(dev))
        except Exception:  # no driver, or a device that failed: the build will say so itself
            return None
        return int(free + cached), f"free on {dev}"
    if dev != "cpu":
        return None
    found: list[tuple[int, str]] = []
    avail = _proc_kib("/proc/meminfo", "MemAvailable")
    if avail is not None:
        found.append((avail, "available to new processes (MemAvailable in /proc/meminfo)"))
    room = _cgroup_room()
    if room is not None:
        found.append((room, "left under this process's cgroup memory limit"))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    vm = _proc_kib("/proc/self/status", "VmSize")
    if soft != resource.RLIM_INFINITY and vm is not None:
        found.append((max(0, soft - vm), "of address space left under 'ulimit -v'"))
    return min(found) if found else None


# ---------------------------------------------------------------- the refusal
def size_fields(cfg: Config) -> list[str]:
    """The fields that set the size, as 'path=value' (the message names them)."""
    m, t = cfg.model, cfg.train
    out = [f"model.arch={m.arch}", f"data.name={cfg.data.name}", f"model.g_width={m.g_width}",
           f"model.g_depth={m.g_depth}", f"model.d_width={m.d_width}", f"model.d_depth={m.d_depth}",
           f"train.batch_size={t.batch_size}"]
    if t.pack > 1:
        out.append(f"train.pack={t.pack}")
    if t.unrolled:
        out.append(f"train.unrolled={t.unrolled}")
    if m.latent_dim > 64:
        out.append(f"model.latent_dim={m.latent_dim}")
    return out


def _advice(est: MemoryEstimate, cfg: Config) -> str:
    if est.peak >= est.total / 2:
        extra = " or train.unrolled" if cfg.train.unrolled else ""
        return f"lower train.batch_size{extra} (one step's activations grow with it) or the widths"
    return "lower model.g_width / model.d_width or the depths (the networks' weights grow with width squared)"


def refusal(cfg: Config, est: MemoryEstimate, avail: int, where: str, what: str = "These settings") -> str:
    from .limits import human_bytes

    return (f"{what} need about {est.describe()} of memory, but {human_bytes(avail)} is {where}: "
            f"{', '.join(size_fields(cfg))}. To fit, {_advice(est, cfg)}.")


def check_enabled() -> bool:
    return os.environ.get("GANPLAY_MEMORY_CHECK", "").strip().lower() not in ("off", "0", "no", "false")


def _device(cfg: Config, device: Any) -> Any:
    if device is not None:
        return device
    if cfg.train.device == "cpu":
        return "cpu"
    from .device import resolve_device  # imports torch: only where CUDA may be asked for

    return resolve_device(cfg.train.device)[0]


def check_fits(cfg: Config, device: Any = None, available: int | None = None) -> MemoryEstimate:
    """The estimate for ``cfg``; raises ``MemoryRefused`` when it exceeds the memory available on
    ``device`` (None: where ``cfg.train.device`` resolves to) less ``HEADROOM``. ``available``
    overrides the measured figure (tests)."""
    est = estimate(cfg)
    if not check_enabled():
        return est
    where = "available"
    if available is None:
        got = available_bytes(_device(cfg, device))
        if got is None:
            return est
        available, where = got
    if est.total + HEADROOM > available:
        raise MemoryRefused(refusal(cfg, est, available, where))
    return est


def check_all_fit(cfgs: Iterable[Config], device: Any = None, available: int | None = None) -> int:
    """The same for several trainers held at once (the compare window, ``ganplay compare``):
    their estimates add up. Returns the total."""
    cfgs = list(cfgs)
    ests = [estimate(c) for c in cfgs]
    total = sum(e.total for e in ests)
    if not check_enabled():
        return total
    where = "available"
    if available is None:
        got = available_bytes(_device(cfgs[0], device)) if cfgs else None
        if got is None:
            return total
        available, where = got
    if total + HEADROOM > available:
        from .limits import human_bytes

        worst = max(range(len(cfgs)), key=lambda i: ests[i].total)
        raise MemoryRefused(
            f"These {len(cfgs)} configurations together need about {human_bytes(total)} of memory, but "
            f"{human_bytes(available)} is {where}. The largest, number {worst + 1}, needs "
            f"{ests[worst].describe()}: {', '.join(size_fields(cfgs[worst]))}. Compare fewer or smaller "
            "configurations.")
    return total


# Live fields that change what a training step holds (the others change no size).
LIVE_SIZE_FIELDS = frozenset({"train.batch_size", "train.unrolled", "train.ema", "loss.name", "loss.gp",
                              "loss.r1"})


def check_change(old: Config, new: Config, device: Any = "cpu", available: int | None = None) -> None:
    """Refuse a live change (``Trainer.set``) from ``old`` to ``new`` that cannot fit. The running
    trainer already holds its networks, optimisers, copies and data (the memory available excludes
    them), so only what the new settings add beyond those must fit."""
    if not check_enabled():
        return
    was, est = estimate(old), estimate(new)
    need = est.total - was.resident
    if need <= was.peak:
        return   # no more than the last step took: it fitted then
    where = "available"
    if available is None:
        got = available_bytes(device)
        if got is None:
            return
        available, where = got
    if need + HEADROOM > available:
        from .limits import human_bytes

        raise MemoryRefused(
            f"This change needs about {human_bytes(need)} more memory ({est.describe()} in all), but "
            f"{human_bytes(available)} is {where}: {', '.join(size_fields(new))}. To fit, {_advice(est, new)}.")
