# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Lazy torch import, device resolution, seeding and state (de)serialisation."""

import contextlib
import io
import warnings

import numpy as np

from .exceptions import DeviceWarning

__all__ = [
    "import_torch",
    "load_state",
    "resolve_device",
    "save_state",
    "torch_seed",
    "torch_threads",
]


def import_torch():
    """Import torch or explain how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised without torch
        raise ImportError(
            "AutoencoderFeatures needs PyTorch, which is not installed. Install "
            "the extra with `pip install 'semiseg_sk[torch]'` (for a CPU-only "
            "build: `pip install torch --index-url "
            "https://download.pytorch.org/whl/cpu`), or leave the autoencoder "
            "out: make_segmenter(autoencoder=False)."
        ) from exc
    return torch


def resolve_device(device):
    """Turn "cpu", "cuda", "cuda:1" or "auto" into a torch.device.

    Raises a ValueError when CUDA is asked for but not available.
    """
    torch = import_torch()
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; expected 'cpu', 'cuda', "
            f"'cuda:N' or 'auto'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available on this machine; use "
            f"device='cpu' or device='auto'."
        )
    return resolved


def torch_seed(rng):
    """Draw a torch seed from a numpy RandomState."""
    return int(rng.randint(np.iinfo(np.int32).max))


def save_state(module):
    """Serialise a module's state dict, on CPU, to bytes."""
    torch = import_torch()
    buffer = io.BytesIO()
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    torch.save(state, buffer)
    return buffer.getvalue()


def load_state(module, data, device):
    """Load bytes from :func:`save_state` into ``module`` on ``device``.

    Loads with ``weights_only=True`` (no arbitrary code from the bytes). When
    ``device`` is a CUDA device that this machine lacks, the module goes to
    the CPU with a :class:`DeviceWarning`; the device used is returned.
    """
    torch = import_torch()
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        warnings.warn(
            f"The model was saved on {device} but CUDA is not available here; "
            f"it is loaded on the CPU.",
            DeviceWarning,
            stacklevel=3,
        )
        device = torch.device("cpu")
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    module.to(device)
    return device


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run torch's CPU operations on ``n_threads`` threads, then restore the count.

    torch's OpenMP threads spin while they wait for each other, so on a
    machine whose cores are busy with other work two threads were measured up
    to ten times slower than one; a fixed count also keeps float results
    bitwise reproducible.
    """
    torch = import_torch()
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
