"""Generator bundles: a trained generator that leaves the playground and comes back.

A bundle is a folder, or one zip when the path ends with ``.ganplay``, holding

- ``model.safetensors``: G's weights (the EMA copy when EMA is on), no pickle;
- ``config.json``: what rebuilds G (the full ganplay config plus explicit latent_dim, prior,
  data kind, image shape, output range, class count, versions) and a SHA-256 of every other file;
- ``generator.pt2``: a ``torch.export`` program that needs torch only: ``z`` (N, latent_dim)
  float32 [and ``y`` (N,) int64 for a cGAN] -> samples, with a dynamic batch dimension;
- ``generator.onnx`` when asked for (needs the optional ``onnx`` + ``onnxscript`` packages).

``load_bundle`` rebuilds G from config.json and the safetensors file; it never unpickles anything
(the .pt2 is only checksummed), so a tampered, truncated or foreign file is refused with a
``BundleError`` that names it, before any of its content is trusted.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import Config, ConfigError, from_dict, to_dict
from .limits import MEMBER_MARGIN, human_bytes
from .runs import RunError
from .snapshot import GeneratorSnapshot, snapshot_generator

FORMAT = "ganplay-generator"
FORMAT_VERSION = 1
BUNDLE_SUFFIX = ".ganplay"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
PT2 = "generator.pt2"
ONNX = "generator.onnx"
FORMATS = ("pt2", "onnx")
_FORMAT_FILES = {"pt2": PT2, "onnx": ONNX}
# Upper bounds checked before reading, so a hostile zip cannot make us inflate gigabytes.
MAX_CONFIG_BYTES = 4 << 20
MAX_FILE_BYTES = 1 << 30
MAX_BATCH = 1 << 20


class BundleError(RunError, ValueError):
    """A bundle that cannot be written or read safely; the message names the file."""


# ---------------------------------------------------------------- what goes into config.json
def _ganplay_version() -> str:
    from .. import __version__

    return __version__


def _source_snapshot(source: Any) -> tuple[GeneratorSnapshot, dict[str, Any], Any]:
    """(snapshot, config dict, data set or None) for a Trainer or a GeneratorSnapshot."""
    if isinstance(source, GeneratorSnapshot):
        if source.config is None:
            raise BundleError("this generator snapshot carries no config; export it from the trainer instead")
        return source, source.config, None
    if hasattr(source, "eval_generator") and hasattr(source, "cfg"):
        return snapshot_generator(source), to_dict(source.cfg), source.data
    raise BundleError(f"cannot export a {type(source).__name__}: give a Trainer or a GeneratorSnapshot")


def _data_bounds(cfg: Config, data: Any) -> list[float] | None:
    """The 2D data's plot bounds, so a viewer of the bundle can frame its samples."""
    if data is None and cfg.data.name != "points":
        try:
            from .data2d import make_dataset

            data = make_dataset(cfg.data)
        except Exception:  # an unusual data config must not stop an export
            data = None
    b = getattr(data, "bounds", None)
    return [float(v) for v in b] if b is not None else None


def bundle_info(snap: GeneratorSnapshot, cfg_dict: dict[str, Any], data: Any = None) -> dict[str, Any]:
    """The config.json of a bundle, without the file checksums."""
    cfg = from_dict(cfg_dict)
    image = snap.image_shape is not None
    module = snap.module
    data_dim = int(getattr(module, "data_dim", 0)) or (int(np.prod(snap.image_shape)) if image else 2)
    out_shape = list(snap.image_shape) if image else [data_dim]
    info: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ganplay_version": _ganplay_version(),
        "torch_version": torch.__version__,
        "arch": cfg.model.arch,
        "generator_class": type(module).__name__,
        "latent_dim": int(snap.latent_dim),
        "prior": snap.prior,
        "n_classes": int(snap.n_classes),
        "data_kind": "image" if image else "points2d",
        "data_name": cfg.data.name,
        "data_dim": data_dim,
        "image_shape": list(snap.image_shape) if image else None,
        "output_shape": ["batch"] + out_shape,
        "output_range": [-1.0, 1.0] if image else None,
        "normalisation": ("tanh output in [-1, 1]; pixel value = (x + 1) / 2 * 255, channels first (N, C, H, W)"
                          if image else "none: samples are in the data's own coordinates"),
        "data_bounds": None if image else _data_bounds(cfg, data),
        "ema": float(cfg.train.ema) > 0,
        "step": int(snap.step),
        "inputs": {"z": {"shape": ["batch", int(snap.latent_dim)], "dtype": "float32",
                         "prior": snap.prior}},
        "config": cfg_dict,
    }
    if snap.n_classes:
        info["inputs"]["y"] = {"shape": ["batch"], "dtype": "int64", "range": [0, int(snap.n_classes) - 1]}
    return info


# ---------------------------------------------------------------- torch.export / ONNX
class _Unconditional(nn.Module):
    """G with the bundle's calling convention: z -> samples (images as (N, C, H, W))."""

    def __init__(self, g: nn.Module, out_shape: tuple[int, ...]):
        super().__init__()
        self.g = g
        self.out_shape = out_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.g(z).reshape((z.shape[0],) + self.out_shape)


class _Conditional(_Unconditional):
    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.g(z, y).reshape((z.shape[0],) + self.out_shape)


def _wrapped(snap: GeneratorSnapshot) -> tuple[nn.Module, tuple[torch.Tensor, ...], Any]:
    out_shape = tuple(snap.image_shape) if snap.image_shape is not None else (
        int(getattr(snap.module, "data_dim", 2)),)
    n = 4  # an example batch above 1, so export does not specialise the batch size
    z = torch.zeros(n, snap.latent_dim)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    if snap.n_classes:
        y = torch.arange(n, dtype=torch.int64) % snap.n_classes
        return _Conditional(snap.module, out_shape).eval(), (z, y), ({0: batch}, {0: batch})
    return _Unconditional(snap.module, out_shape).eval(), (z,), ({0: batch},)


def _export_pt2(snap: GeneratorSnapshot) -> bytes:
    import io

    module, args, dyn = _wrapped(snap)
    ep = torch.export.export(module, args, dynamic_shapes=dyn)
    buf = io.BytesIO()
    torch.export.save(ep, buf)
    return buf.getvalue()


def onnx_available() -> str | None:
    """None when ONNX export can run here, else what is missing."""
    missing = []
    for mod in ("onnx", "onnxscript"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    return None if not missing else (
        f"ONNX export needs the optional package{'s' if len(missing) > 1 else ''} "
        f"{' and '.join(missing)} (pip install {' '.join(missing)})")


def _export_onnx(snap: GeneratorSnapshot) -> bytes:
    module, args, dyn = _wrapped(snap)
    names = ["z", "y"][: len(args)]
    # the exporter reports every optional op library it skips; none matters for a generator
    quiet = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [lg.level for lg in quiet]
    try:
        for lg in quiet:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prog = torch.onnx.export(module, args, input_names=names, output_names=["x"],
                                     dynamic_shapes=dyn, dynamo=True, verbose=False)
    finally:
        for lg, lv in zip(quiet, levels):
            lg.setLevel(lv)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / ONNX
        prog.save(p)
        extra = [f for f in os.listdir(tmp) if f != ONNX]
        if extra:  # external weight files only appear for models over 2 GB
            raise BundleError(f"the ONNX export wrote external data files {extra}; the generator is too big for ONNX")
        return p.read_bytes()


# ---------------------------------------------------------------- writing
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _weights_bytes(module: nn.Module) -> bytes:
    from safetensors.torch import save

    sd = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
    return save(sd, metadata={"format": FORMAT})


def bundle_files(source: Any, formats: tuple[str, ...] | list[str] = ("pt2",)) -> dict[str, bytes]:
    """The files of a bundle as bytes, config.json last (it holds the others' checksums)."""
    if isinstance(formats, str):  # "pt2,onnx" as the CLI spells it
        formats = formats.split(",")
    fmts = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise BundleError(f"unknown export format {', '.join(map(repr, bad))}: choose among {', '.join(FORMATS)}")
    if "onnx" in fmts and (why := onnx_available()):
        raise BundleError(why)
    snap, cfg_dict, data = _source_snapshot(source)
    try:
        info = bundle_info(snap, cfg_dict, data)
    except ConfigError as exc:
        raise BundleError(f"the generator's config cannot be exported: {exc}") from None
    files = {WEIGHTS: _weights_bytes(snap.module)}
    try:
        if "pt2" in fmts:
            files[PT2] = _export_pt2(snap)
        if "onnx" in fmts:
            files[ONNX] = _export_onnx(snap)
    except BundleError:
        raise
    except Exception as exc:  # an exporter failure is reported, not a crash of the caller
        raise BundleError(f"the generator could not be exported: {type(exc).__name__}: {exc}") from None
    info["files"] = {name: {"sha256": _sha256(b), "bytes": len(b)} for name, b in files.items()}
    files[CONFIG] = (json.dumps(info, indent=2) + "\n").encode("utf-8")
    return files


def _temp_name(target: Path, suffix: str = ".tmp") -> Path:
    """A fresh hidden name beside ``target`` (created with the usual umask, unlike mkstemp's 0600)."""
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}{suffix}")


def _is_bundle_dir(p: Path) -> bool:
    try:
        return json.loads((p / CONFIG).read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def export_bundle(source: Any, path: str | Path, formats: tuple[str, ...] | list[str] = ("pt2",)) -> Path:
    """Write the generator of a Trainer or GeneratorSnapshot as a bundle; returns its path.

    ``path`` ending with ``.ganplay`` gives one zip, anything else a folder. ``formats`` picks the
    programs besides the weights: "pt2" (torch.export) and/or "onnx". Everything is built in
    memory, written next to the target under a temporary name and renamed into place, so a
    failure leaves any previous bundle there intact. Raises ``BundleError`` naming the path.
    A Trainer is read, never changed; from a GUI, pass a ``snapshot_generator`` copy (or pause
    the training thread) so the weights do not move while they are copied.
    """
    target = Path(path)
    files = bundle_files(source, formats)
    as_zip = target.suffix.lower() == BUNDLE_SUFFIX
    if as_zip and target.is_dir():
        raise BundleError(f"cannot write the bundle '{target}': a folder of that name exists")
    if not as_zip and target.exists():
        if not target.is_dir():
            raise BundleError(f"cannot write the bundle folder '{target}': a file of that name exists "
                              f"(name a {BUNDLE_SUFFIX} file to get a single-file bundle)")
        if any(target.iterdir()) and not _is_bundle_dir(target):
            raise BundleError(f"cannot write the bundle folder '{target}': it exists and is not a ganplay bundle")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if as_zip:
            tmp = _temp_name(target)
            try:
                with open(tmp, "xb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
                    for name, data in files.items():
                        zf.writestr(name, data)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        else:
            tmp = _temp_name(target)
            tmp.mkdir()
            old = None
            try:
                for name, data in files.items():
                    (tmp / name).write_bytes(data)
                if target.exists():
                    old = _temp_name(target, ".old")
                    os.replace(target, old)
                os.replace(tmp, target)
            except OSError:
                if old is not None and not target.exists():
                    os.replace(old, target)  # put the previous bundle back
                    old = None
                raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise BundleError(f"cannot write the bundle '{target}': {exc.strerror or exc}") from None
    return target


# ---------------------------------------------------------------- reading
class _Reader:
    """Bounded reads of named members from a bundle folder or zip."""

    def __init__(self, path: Path):
        self.path = path
        self.zf: zipfile.ZipFile | None = None
        if path.is_dir():
            return
        if not path.exists():
            raise BundleError(f"no generator bundle at '{path}'")
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise BundleError(f"'{path}' is not a ganplay bundle (not a folder or a valid zip file: {exc}); "
                              "it may be truncated") from None

    def where(self, name: str) -> str:
        return f"'{self.path / name}'" if self.zf is None else f"'{name}' in '{self.path}'"

    def has(self, name: str) -> bool:
        if self.zf is None:
            return (self.path / name).is_file()
        return name in self.zf.namelist()

    def size(self, name: str) -> int:
        """The member's size as the folder or the zip's directory says, before reading any of it."""
        if self.zf is None:
            return (self.path / name).stat().st_size
        return self.zf.getinfo(name).file_size

    def read(self, name: str, limit: int, why: str = "") -> bytes:
        if not self.has(name):
            raise BundleError(f"bundle '{self.path}' has no {name}: not a complete ganplay bundle")
        try:
            size = self.size(name)
            if size > limit:
                raise BundleError(f"{self.where(name)} is too large ({human_bytes(size)}{why}); "
                                  "refused before reading it")
            if self.zf is None:
                with open(self.path / name, "rb") as fh:
                    data = fh.read(limit + 1)
            else:
                with self.zf.open(self.zf.getinfo(name)) as fh:
                    data = fh.read(limit + 1)
            if len(data) > limit:
                raise BundleError(f"{self.where(name)} is larger than its zip entry says")
            return data
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
            if isinstance(exc, BundleError):
                raise
            raise BundleError(f"{self.where(name)} cannot be read (truncated or damaged: {exc})") from None

    def close(self) -> None:
        if self.zf is not None:
            self.zf.close()


def _check_info(info: Any, where: str) -> dict[str, Any]:
    def bad(msg: str) -> BundleError:
        return BundleError(f"{where} {msg}")

    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise bad(f"is not a ganplay generator config (no \"format\": \"{FORMAT}\")")
    ver = info.get("format_version")
    if not isinstance(ver, int) or ver < 1:
        raise bad("has no valid format_version")
    if ver > FORMAT_VERSION:
        raise bad(f"has format version {ver}; this ganplay reads up to {FORMAT_VERSION}: update ganplay")
    checks = {
        "latent_dim": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4096,
        "n_classes": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100_000,
        "prior": lambda v: v in ("gaussian", "uniform"),
        "data_kind": lambda v: v in ("points2d", "image"),
        "config": lambda v: isinstance(v, dict),
        "files": lambda v: isinstance(v, dict) and WEIGHTS in v,
        "step": lambda v: isinstance(v, int) and not isinstance(v, bool),
    }
    for key, ok in checks.items():
        if key not in info or not ok(info[key]):
            raise bad(f"has a missing or invalid '{key}'")
    shape = info.get("image_shape")
    if info["data_kind"] == "image":
        if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(s, int) and s > 0 for s in shape)):
            raise bad("has a missing or invalid 'image_shape' for image data")
    for name, meta in info["files"].items():
        if name not in (WEIGHTS, PT2, ONNX) or not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
            raise bad(f"lists an unexpected file entry '{name}'")
    return info


def read_bundle_info(path: str | Path) -> dict[str, Any]:
    """The validated config.json of a bundle (also checks every listed file's checksum)."""
    reader = _Reader(Path(path))
    try:
        return _read_info(reader)[0]
    finally:
        reader.close()


def _read_info(reader: _Reader) -> tuple[dict[str, Any], bytes]:
    raw = reader.read(CONFIG, MAX_CONFIG_BYTES)
    try:
        info = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{reader.where(CONFIG)} is not valid JSON: {exc}") from None
    info = _check_info(info, reader.where(CONFIG))
    try:
        limits = member_limits(info)
    except BundleError:
        raise
    except Exception as exc:  # e.g. a data_dim no network can have
        raise BundleError(f"{reader.where(CONFIG)} describes a generator that cannot be built: "
                          f"{type(exc).__name__}: {exc}") from None
    weights = b""
    for name, meta in info["files"].items():
        if not reader.has(name):
            raise BundleError(f"bundle '{reader.path}' lacks {name}, which its config.json lists")
        data = reader.read(name, limits[name], f", but the generator its config.json describes needs at most "
                                               f"{human_bytes(limits[name])}")
        if _sha256(data) != meta["sha256"]:
            raise BundleError(f"{reader.where(name)} does not match the checksum in config.json: "
                              "the file was modified or truncated")
        if name == WEIGHTS:
            weights = data
    return info, weights


def member_limits(info: dict[str, Any]) -> dict[str, int]:
    """The most bytes each bundle file can hold for the generator a checked config.json describes:
    its weights (measured on a ``meta``-device skeleton, so nothing is allocated) plus a margin
    for the safetensors header, twice that for a program (weights + graph)."""
    G = rebuild_generator(info, device="meta")
    w = sum(t.numel() * t.element_size() for t in G.state_dict().values())
    program = min(2 * w + MEMBER_MARGIN, MAX_FILE_BYTES)
    return {WEIGHTS: min(w + MEMBER_MARGIN, MAX_FILE_BYTES), PT2: program, ONNX: program}


def rebuild_generator(info: dict[str, Any], device: str | torch.device | None = None) -> nn.Module:
    """A fresh, randomly initialised generator of the architecture config.json describes.

    ``device="meta"`` builds it without memory: load_bundle compares that skeleton with the
    weights file before anything is allocated, so a config asking for a huge network costs nothing.
    """
    from .models import MLPGenerator

    try:
        cfg = from_dict(info["config"])
    except ConfigError as exc:
        raise BundleError(f"config.json holds an invalid ganplay config: {exc}") from None
    if cfg.model.latent_dim != info["latent_dim"] or cfg.model.prior != info["prior"]:
        raise BundleError("config.json is inconsistent: latent_dim/prior differ from its model config")
    n_classes = info["n_classes"]
    # building initialises weights from the global RNG: keep the caller's stream untouched
    with torch.random.fork_rng(devices=[]), torch.device(device or "cpu"):
        if cfg.model.arch == "dcgan":
            from .image_models import DCGANGenerator

            shape = info.get("image_shape")
            if info["data_kind"] != "image" or shape is None or list(shape[1:]) != [28, 28]:
                raise BundleError("config.json is inconsistent: a DCGAN generator needs a (C, 28, 28) image_shape")
            G: nn.Module = DCGANGenerator(cfg.model, int(shape[0]), n_classes)
        else:
            image = info["data_kind"] == "image"
            dim = int(np.prod(info["image_shape"])) if image else int(info.get("data_dim", 2))
            G = MLPGenerator(cfg.model, dim, n_classes, out_tanh=image)
    return G


def check_tensors(want: dict[str, torch.Tensor], got: dict[str, Any], where: str,
                  error: type[Exception], finite: bool = False, owner: str = "the expected",
                  prefix: str = "") -> None:
    """``got`` must hold exactly ``want``'s tensor names, each with its shape and dtype (and, with
    ``finite``, no NaN or infinity); otherwise ``error`` names the first mismatch and ``where``."""
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:5])}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:5])}"] if extra else [])
        raise error(f"{where} does not hold {owner} tensors: {'; '.join(parts)}")
    for k, t in want.items():
        g = got[k]
        if not torch.is_tensor(g) or tuple(g.shape) != tuple(t.shape) or g.dtype != t.dtype:
            desc = f"{g.dtype} {tuple(g.shape)}" if torch.is_tensor(g) else type(g).__name__
            raise error(f"{where}: tensor '{prefix}{k}' is {desc}, expected {t.dtype} {tuple(t.shape)}")
        if finite and g.is_floating_point() and not bool(torch.isfinite(g).all()):
            raise error(f"{where}: tensor '{prefix}{k}' holds NaN or infinite values")


def _load_weights(G: nn.Module, data: bytes, where: str) -> None:
    """Check the safetensors tensors against ``G`` (a meta-device skeleton) and assign them to it."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        sd = load(data)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise BundleError(f"{where} is not a valid safetensors file: {exc}") from None
    check_tensors(G.state_dict(), sd, where, BundleError, finite=True, owner="this generator's")
    G.load_state_dict(sd, strict=True, assign=True)
    left = [n for n, t in list(G.named_parameters()) + list(G.named_buffers()) if t.is_meta]
    if left:  # every tensor must come from the file
        raise BundleError(f"{where} does not set {', '.join(left[:5])}")


def load_bundle(path: str | Path) -> GeneratorSnapshot:
    """Rebuild the generator of a bundle (folder or .ganplay zip) as a GeneratorSnapshot."""
    p = Path(path)
    reader = _Reader(p)
    try:
        info, weights = _read_info(reader)
        G = rebuild_generator(info, device="meta")
        _load_weights(G, weights, reader.where(WEIGHTS))
    finally:
        reader.close()
    G.eval()
    for prm in G.parameters():
        prm.requires_grad_(False)
    shape = tuple(info["image_shape"]) if info["data_kind"] == "image" else None
    return GeneratorSnapshot(G, info["latent_dim"], info["prior"], info["n_classes"], shape, info["step"],
                             info["config"])


def bundle_size(path: str | Path) -> int:
    """Bytes on disk of a bundle (a zip's size, or the sum of a folder's files)."""
    p = Path(path)
    if p.is_dir():
        return sum(f.stat().st_size for f in p.iterdir() if f.is_file())
    return p.stat().st_size


def timed_export(source: Any, path: str | Path, formats: tuple[str, ...] | list[str] = ("pt2",)) -> tuple[Path, float]:
    """``export_bundle`` and the wall time it took, in seconds (for the CLI's report)."""
    t0 = time.perf_counter()
    out = export_bundle(source, path, formats)
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------- sampling to files
SAMPLE_SUFFIXES = (".npy", ".csv", ".png")


def sample_snapshot(snap: GeneratorSnapshot, n: int, seed: int = 0, label: int | None = None,
                    chunk: int = 4096) -> tuple[np.ndarray, np.ndarray | None]:
    """n samples of a generator for a fixed seed, and their labels for a cGAN (balanced unless
    ``label`` picks one class). z is drawn on the CPU, so the same seed gives the same samples
    from a bundle, a run folder or the live trainer."""
    from .models import sample_prior

    if n < 1:
        raise BundleError(f"the number of samples must be at least 1, got {n}")
    if label is not None and not (0 <= label < max(snap.n_classes, 1) and snap.n_classes):
        raise BundleError(f"label {label} is out of range: this generator has "
                          f"{snap.n_classes or 'no'} classes")
    z = sample_prior(n, snap.latent_dim, snap.prior, torch.Generator().manual_seed(seed), "cpu").numpy()
    y = None
    if snap.n_classes:
        y = np.full(n, label, np.int64) if label is not None else np.arange(n, dtype=np.int64) % snap.n_classes
    parts = [snap(z[i:i + chunk], None if y is None else y[i:i + chunk]) for i in range(0, n, chunk)]
    return np.concatenate(parts), y


def samples_bytes(x: np.ndarray, y: np.ndarray | None, suffix: str,
                  bounds: tuple[float, float, float, float] | None = None,
                  real: np.ndarray | None = None, title: str = "") -> bytes:
    """The file content for samples ``x``: .npy array, .csv table or .png picture (2D samples: a
    matplotlib figure over the ``real`` points, titled ``title``; images: a grid)."""
    import io

    from .png import encode_png, image_grid

    suffix = suffix.lower()
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, x.astype(np.float32), allow_pickle=False)
        return buf.getvalue()
    if suffix == ".csv":
        flat = x.reshape(len(x), -1)
        names = ["x", "y"] if flat.shape[1] == 2 and x.ndim == 2 else [f"p{i}" for i in range(flat.shape[1])]
        if y is not None:
            names = ["label"] + names
        buf = io.StringIO()
        buf.write(",".join(names) + "\n")
        for i, row in enumerate(flat):
            vals = ([str(int(y[i]))] if y is not None else []) + [repr(float(v)) for v in row]
            buf.write(",".join(vals) + "\n")
        return buf.getvalue().encode("utf-8")
    if suffix == ".png":
        if x.ndim == 4:  # images (N, C, H, W) in [-1, 1]
            nrow = int(np.ceil(np.sqrt(len(x))))
            grid = image_grid(x, nrow=nrow)
            scale = 2 if grid.shape[0] < 600 else 1
            return encode_png(grid.repeat(scale, 0).repeat(scale, 1))
        if x.ndim == 2 and x.shape[1] == 2:
            from .figures import scatter_png

            return scatter_png(x, real, _frame(x, bounds), title)
        raise BundleError(f"cannot draw samples of shape {x.shape[1:]} as a PNG; write .npy or .csv")
    raise BundleError(f"unknown output type '{suffix}': use one of {', '.join(SAMPLE_SUFFIXES)}")


def _frame(x: np.ndarray, bounds: tuple[float, float, float, float] | None) -> tuple[float, float, float, float]:
    """The data's bounds grown to show the bulk of the samples too (a young G may miss the data)."""
    from .figures import auto_bounds

    a = auto_bounds(x)
    if bounds is None:
        return a
    x0, x1 = min(a[0], bounds[0]), max(a[1], bounds[1])
    y0, y1 = min(a[2], bounds[2]), max(a[3], bounds[3])
    half, cx, cy = max(x1 - x0, y1 - y0) / 2, (x0 + x1) / 2, (y0 + y1) / 2  # square: circles stay round
    return (cx - half, cx + half, cy - half, cy + half)


def write_file_atomic(path: str | Path, data: bytes, error: type[Exception] = BundleError,
                      what: str = "") -> Path:
    """Write bytes under a temporary name, fsync and rename, so a failure never leaves half a
    file and the old content survives; ``error`` names the path (``what``: e.g. "the session ")."""
    target = Path(path)
    tmp = _temp_name(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise error(f"cannot write {what}'{target}': {exc.strerror or exc}") from None
    return target


def snapshot_real(snap: GeneratorSnapshot, data: Any = None, n: int = 1000,
                  seed: int = 20_000) -> np.ndarray | None:
    """n points of the 2D data a snapshot was trained on (from its data set or its config), or
    None where they cannot be had (image data, a points file that is not here)."""
    if snap.image_shape is not None:
        return None
    try:
        if data is None:
            if snap.config is None:
                return None
            cfg = from_dict(snap.config)
            from .data2d import make_dataset

            data = make_dataset(cfg.data)
        return np.asarray(data.sample_numpy(n, seed=seed), np.float32)
    except Exception:  # a figure without its real points is still worth drawing
        return None


def snapshot_bounds(snap: GeneratorSnapshot, data: Any = None) -> tuple[float, float, float, float] | None:
    """The 2D data's plot bounds for a snapshot (from its data set or its config), if known."""
    if snap.image_shape is not None or snap.config is None:
        return None
    try:
        b = _data_bounds(from_dict(snap.config), data)
    except ConfigError:
        return None
    return tuple(b) if b is not None else None  # type: ignore[return-value]
