"""Sessions: everything needed to close the playground and continue training bit for bit.

A session file is a zip of two members and nothing executable:

- ``tensors.safetensors``: every tensor of the trainer's state (G, D, the EMA copy, both
  optimisers' moments, the RNG state, user-drawn points, chart columns);
- ``session.json``: the rest of the trainer's state dict (config, step, optimiser hyper-
  parameters) as JSON in which a tensor appears as ``{"$t": key}`` and a tuple as ``{"$tuple": []}``.

So the whole ``Trainer.state_dict()`` round-trips without pickle, and loading a malicious or
foreign file can only fail with a ``SessionError`` naming it. Before the tensors member is read,
its size in the zip's directory is checked against what the networks of the session's config can
hold (``tensor_limit``), so an oversized archive is refused without inflating it. Writes go to a
temporary file that is renamed over the target, so a failed save keeps the previous file and never
touches the trainer.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import Config, ConfigError, from_dict
from .export import check_tensors, write_file_atomic
from .limits import MAX_CHART_POINTS, MAX_POINT_ROWS, MEMBER_MARGIN, human_bytes, network_bytes
from .history import History
from .runs import RunError
from .trainer import Trainer

FORMAT = "ganplay-session"
FORMAT_VERSION = 1
SESSION_SUFFIX = ".gpsession"
STATE = "session.json"
TENSORS = "tensors.safetensors"
MAX_JSON_BYTES = 64 << 20
MAX_TENSOR_BYTES = 4 << 30
_MAX_DEPTH = 64

HistoryLike = History | dict[str, np.ndarray] | None


class SessionError(RunError, ValueError):
    """A session that cannot be written or read safely; the message names the file."""


# ---------------------------------------------------------------- state <-> JSON + tensors
def _encode(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON-able form of a state made of dicts, lists, tuples, primitives and tensors."""
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj.detach().cpu().contiguous().clone()  # safetensors refuses shared storage
        return {"$t": key}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise SessionError(f"cannot store a state key of type {type(k).__name__} ({key})")
            items.append([k, _encode(v, f"{key}/{k}", tensors)])
        return {"$dict": items}  # keeps int keys (optimiser state) and key order
    raise SessionError(f"cannot store an object of type {type(obj).__name__} in a session ({key})")


def _decode(obj: Any, tensors: dict[str, torch.Tensor], where: str, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise SessionError(f"{where} nests too deeply")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v, tensors, where, depth + 1) for v in obj]
    if isinstance(obj, dict) and len(obj) == 1:
        (tag, val), = obj.items()
        if tag == "$t" and isinstance(val, str):
            if val not in tensors:
                raise SessionError(f"{where} refers to tensor '{val}', which the session does not hold")
            return tensors[val]
        if tag == "$tuple" and isinstance(val, list):
            return tuple(_decode(v, tensors, where, depth + 1) for v in val)
        if tag == "$dict" and isinstance(val, list):
            out = {}
            for item in val:
                if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                    raise SessionError(f"{where} holds a malformed dictionary entry")
                out[item[0]] = _decode(item[1], tensors, where, depth + 1)
            return out
    raise SessionError(f"{where} holds an unexpected value {str(obj)[:60]!r}")


# ---------------------------------------------------------------- history
def _row_value(key: Any, v: Any) -> Any:
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise SessionError(f"history value '{key}' is a {type(v).__name__}; rows may hold numbers, text or None")


def _encode_history(history: HistoryLike, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    if history is None:
        return {"kind": "none"}
    if isinstance(history, History):
        rows = [{str(k): _row_value(k, v) for k, v in r.items()} for r in history.rows]
        return {"kind": "rows", "rows": rows}
    if isinstance(history, dict):
        cols = []
        for i, (name, values) in enumerate(history.items()):
            arr = np.asarray(values)
            if arr.dtype.kind not in "biuf" or arr.ndim != 1:
                raise SessionError(f"chart column '{name}' must be a 1-D numeric array, got {arr.dtype} {arr.shape}")
            key = f"history/{i}"
            tensors[key] = torch.from_numpy(np.ascontiguousarray(arr).copy())
            cols.append([str(name), key, arr.dtype.str])
        return {"kind": "columns", "columns": cols}
    raise SessionError(f"cannot store a history of type {type(history).__name__}: "
                       "give a History or a dict of numpy columns")


def _decode_history(h: Any, tensors: dict[str, torch.Tensor], where: str) -> HistoryLike:
    kind = h.get("kind") if isinstance(h, dict) else None
    if kind == "none":
        return None
    if kind == "rows" and isinstance(h.get("rows"), list):
        rows = []
        for r in h["rows"]:
            if not isinstance(r, dict) or not all(v is None or isinstance(v, (bool, int, float, str))
                                                  for v in r.values()):
                raise SessionError(f"{where} holds a malformed history row")
            rows.append(dict(r))
        return History(rows)
    if kind == "columns" and isinstance(h.get("columns"), list):
        out: dict[str, np.ndarray] = {}
        for item in h["columns"]:
            if not (isinstance(item, list) and len(item) == 3 and all(isinstance(v, str) for v in item)):
                raise SessionError(f"{where} holds a malformed chart column entry")
            name, key, dtype = item
            if key not in tensors:
                raise SessionError(f"{where} names chart column '{name}', which the session does not hold")
            arr = tensors[key].numpy()
            if arr.dtype.str != dtype or arr.ndim != 1:
                raise SessionError(f"{where}: chart column '{name}' is {arr.dtype} {arr.shape}, expected {dtype} 1-D")
            out[name] = arr.copy()
        return out
    raise SessionError(f"{where} has no valid chart history")


# ---------------------------------------------------------------- save / load
def _points_of(trainer: Trainer) -> np.ndarray | None:
    """User-drawn or loaded points, kept in the session so it does not depend on the file."""
    if trainer.points is not None:
        return np.asarray(trainer.points, dtype=np.float32)
    if trainer.cfg.data.name == "points":
        from .data2d import load_points

        return load_points(trainer.cfg.data.path)
    return None


def session_bytes(trainer: Trainer, history: HistoryLike) -> bytes:
    """The session file's content (a zip) for the trainer's current state and the chart history."""
    from safetensors.torch import save

    from .. import __version__

    tensors: dict[str, torch.Tensor] = {}
    state = _encode(trainer.state_dict(), "state", tensors)
    pts = _points_of(trainer)
    if pts is not None:
        tensors["points"] = torch.from_numpy(np.ascontiguousarray(pts, dtype=np.float32).copy())
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ganplay_version": __version__,
        "torch_version": torch.__version__,
        "device": str(trainer.device),
        "step": trainer.step_count,
        "has_points": pts is not None,
        "state": state,
        "history": _encode_history(history, tensors),
    }
    try:
        text = json.dumps(doc, allow_nan=True)  # Python's json reads NaN/Infinity back exactly
    except (TypeError, ValueError) as exc:
        raise SessionError(f"the session state cannot be written as JSON: {exc}") from None
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(STATE, text)
        zf.writestr(TENSORS, save(tensors, metadata={"format": FORMAT}))
    return buf.getvalue()


def save_session(trainer: Trainer, history: HistoryLike, path: str | Path) -> Path:
    """Write a session file; on failure the target keeps its old content and the trainer is untouched.

    ``history`` is a ``History`` (rows, as the CLI keeps them) or a dict of numpy chart columns
    (as the GUI keeps them); ``load_session`` gives back the same kind. Call it between steps
    (pause the training thread): the state must not change while it is copied.
    """
    target = Path(path)
    data = session_bytes(trainer, history)
    if target.is_dir():
        raise SessionError(f"cannot write the session '{target}': it is a folder")
    return write_file_atomic(target, data, SessionError, "the session ")


def _read_member(zf: zipfile.ZipFile, name: str, limit: int, where: str, why: str = "") -> bytes:
    """A member's bytes, its size checked in the zip's directory before any of it is inflated."""
    if name not in zf.namelist():
        raise SessionError(f"{where} is not a ganplay session (it has no {name})")
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise SessionError(f"{where}: {name} is too large ({human_bytes(info.file_size)}{why}); "
                           "refused before reading it")
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise SessionError(f"{where}: {name} cannot be read (truncated or damaged: {exc})") from None
    if len(data) > limit:
        raise SessionError(f"{where}: {name} is larger than its zip entry says")
    return data


def _config_of(doc: dict[str, Any], where: str) -> Config:
    """The validated config inside the session document, read without any tensor."""
    state = doc.get("state")
    items = state.get("$dict") if isinstance(state, dict) and len(state) == 1 else None
    if not isinstance(items, list):
        raise SessionError(f"{where} holds no trainer state")
    raw = None
    for item in items:
        if isinstance(item, list) and len(item) == 2 and item[0] == "config":
            raw = _decode(item[1], {}, where)
            break
    if not isinstance(raw, dict):
        raise SessionError(f"{where}: the trainer state lacks a valid 'config'")
    try:
        return from_dict(raw).validate()
    except ConfigError as exc:
        raise SessionError(f"{where} holds an invalid config: {exc}") from None


def tensor_limit(cfg: Config, doc: dict[str, Any]) -> int:
    """The most bytes the tensors member of a session with this config and document can need:
    G (weights, EMA copy, two optimiser moments) and D (weights, two moments) as the config
    builds them, the drawn points and the chart columns the document lists, plus a margin."""
    g, d = network_bytes(cfg)
    need = 4 * g + 3 * d + MEMBER_MARGIN
    if doc.get("has_points"):
        need += MAX_POINT_ROWS * 2 * 4
    h = doc.get("history")
    if isinstance(h, dict) and h.get("kind") == "columns" and isinstance(h.get("columns"), list):
        need += len(h["columns"]) * MAX_CHART_POINTS * 8
    return min(need, MAX_TENSOR_BYTES)


def read_session(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The validated session document and its tensors, without building a trainer."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    p = Path(path)
    where = f"session '{p}'"
    if not p.is_file():
        raise SessionError(f"no session file at '{p}'")
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SessionError(f"'{p}' is not a ganplay session (not a valid zip file: {exc}); "
                           "it may be truncated") from None
    with zf:
        raw = _read_member(zf, STATE, MAX_JSON_BYTES, where)
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise SessionError(f"{where}: {STATE} is not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise SessionError(f"'{p}' is not a ganplay session ({STATE} lacks \"format\": \"{FORMAT}\")")
        ver = doc.get("format_version")
        if not isinstance(ver, int) or ver < 1:
            raise SessionError(f"{where} has no valid format_version")
        if ver > FORMAT_VERSION:
            raise SessionError(f"{where} has format version {ver}; this ganplay reads up to "
                               f"{FORMAT_VERSION}: update ganplay")
        cfg = _config_of(doc, where)
        try:
            limit = tensor_limit(cfg, doc)
        except Exception as exc:  # a config whose networks cannot even be described
            raise SessionError(f"{where}: the networks its config describes cannot be built: "
                               f"{type(exc).__name__}: {exc}") from None
        blob = _read_member(zf, TENSORS, limit, where,
                            f", but the networks its config describes need at most {human_bytes(limit)}")
    try:
        tensors = load(blob)
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise SessionError(f"{where}: {TENSORS} is not a valid safetensors file: {exc}") from None
    return doc, tensors


def _check_state(sd: Any, where: str) -> dict[str, Any]:
    need = {"config": dict, "step": int, "G": dict, "D": dict, "opt_g": dict, "opt_d": dict,
            "rng": torch.Tensor}
    if not isinstance(sd, dict):
        raise SessionError(f"{where} holds no trainer state")
    for key, typ in need.items():
        if not isinstance(sd.get(key), typ):
            raise SessionError(f"{where}: the trainer state lacks a valid '{key}'")
    for net in ("G", "D", "G_ema", "E"):   # E: a BiGAN's encoder
        for name, t in sd.get(net, {}).items():
            if not isinstance(t, torch.Tensor):
                raise SessionError(f"{where}: '{net}.{name}' is not a tensor")
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise SessionError(f"{where}: '{net}.{name}' holds NaN or infinite values")
    if sd["rng"].dtype != torch.uint8:
        raise SessionError(f"{where}: the RNG state is not a byte tensor")
    return sd


def load_session(path: str | Path, device: torch.device | str | None = None) -> tuple[Trainer, HistoryLike]:
    """Rebuild the trainer and chart history of a session file; continuing is bit-exact."""
    p = Path(path)
    where = f"session '{p}'"
    doc, tensors = read_session(p)
    sd = _check_state(_decode(doc.get("state"), tensors, where), where)
    history = _decode_history(doc.get("history"), tensors, where)
    try:
        cfg = from_dict(sd["config"]).validate()
    except ConfigError as exc:
        raise SessionError(f"{where} holds an invalid config: {exc}") from None
    points = tensors["points"].numpy().copy() if doc.get("has_points") and "points" in tensors else None
    try:
        trainer = Trainer(cfg, points=points, device=device)
    except (ConfigError, RunError) as exc:
        raise SessionError(f"{where}: the trainer cannot be rebuilt: {exc}") from None
    except Exception as exc:  # e.g. a data file the config names is gone
        raise SessionError(f"{where}: the trainer cannot be rebuilt: {type(exc).__name__}: {exc}") from None
    _check_shapes(trainer, sd, where)
    fresh = trainer.gen.get_state()
    if sd["rng"].numel() != fresh.numel():
        # a CUDA generator's state (seed + offset) cannot drive a CPU generator, or the reverse
        sd = dict(sd, rng=fresh)
        note = (f"the session was saved on {doc.get('device', 'another device')}; its random stream cannot "
                f"continue on {trainer.device}, so training goes on from a fresh one (not bit-exact)")
        trainer.device_message = f"{trainer.device_message} {note}" if trainer.device_message else note
    try:
        trainer.load_state_dict(sd)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise SessionError(f"{where} does not fit the network its config describes: {exc}") from None
    return trainer, history


def _check_shapes(trainer: Trainer, sd: dict[str, Any], where: str) -> None:
    """Every network tensor must match the rebuilt trainer in name, shape and dtype."""
    nets = [("G", trainer.G), ("D", trainer.D)]
    if "G_ema" in sd:
        nets.append(("G_ema", trainer.G))
    for key, module in nets:
        check_tensors(module.state_dict(), sd[key], where, SessionError, owner=f"the '{key}'", prefix=f"{key}.")
