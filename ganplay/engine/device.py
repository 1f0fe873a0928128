"""Device choice: CUDA when asked for (or 'auto') and present, else the CPU with a reason."""
from __future__ import annotations

import torch


def resolve_device(name: str = "auto") -> tuple[torch.device, str | None]:
    """Return the device to use and, when the request could not be met, a message saying why."""
    if name == "cpu":
        return torch.device("cpu"), None
    try:
        ok = torch.cuda.is_available()
    except Exception as exc:  # a broken driver must not stop the app
        ok = False
        why = f"CUDA check failed ({exc}); using the CPU"
    else:
        why = "CUDA is not available on this machine; using the CPU"
    if ok:
        return torch.device("cuda"), None
    return torch.device("cpu"), (why if name == "cuda" else None)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        try:
            return f"cuda ({torch.cuda.get_device_name(device)})"
        except Exception:
            return "cuda"
    return "cpu"
