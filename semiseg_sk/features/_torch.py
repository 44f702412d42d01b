# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Torch glue shared by the learned feature extractors.

torch is imported lazily, only when a learned step is fitted or loaded.
:class:`TorchModuleMixin` gives a step whose fitted network lives in
``module_`` its device handling and its pickling: the weights travel as a CPU
state dict, loaded with ``weights_only=True``, and a network saved on CUDA
loads on a machine without it, on the CPU, with a
:class:`~semiseg_sk.exceptions.DeviceWarning`.
"""

import contextlib
import io
import re
import warnings

from ..exceptions import DeviceWarning

__all__ = [
    "TorchModuleMixin",
    "import_torch",
    "load_state",
    "resolve_device",
    "save_state",
    "torch_threads",
]

_DEVICE = re.compile(r"^(cpu|auto|cuda(:\d+)?)$")


def import_torch():
    """Import torch or explain how to install it."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised without torch
        raise ImportError(
            "semiseg_sk's learned features (AutoencoderFeatures, GANFeatures, "
            "PretrainedFeatures) need PyTorch, which is not installed. Install "
            "the extra with `pip install 'semiseg_sk[torch]'` ('semiseg_sk"
            "[pretrained]' for PretrainedFeatures; for a CPU-only build: `pip "
            "install torch --index-url https://download.pytorch.org/whl/cpu`), "
            "or leave the learned features out: make_segmenter(autoencoder=False)."
        ) from exc
    return torch


def resolve_device(device, *, name="device"):
    """Turn "cpu", "cuda", "cuda:N" or "auto" into a torch.device.

    Raises a ValueError for any other string (torch's "mps" or "meta" among
    them: semiseg_sk runs on CPUs and CUDA GPUs) and when CUDA, or the CUDA
    device of that index, is not available.
    """
    if not isinstance(device, str) or not _DEVICE.match(device.strip()):
        raise ValueError(
            f"{name}={device!r} is not a device semiseg_sk runs on; expected "
            f"'cpu', 'cuda', 'cuda:N' or 'auto'."
        )
    torch = import_torch()
    device = device.strip()
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{name}={device!r} but CUDA is not available on this machine; "
                f"use {name}='cpu' or {name}='auto'."
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"{name}={device!r} but this machine has {count} CUDA device(s), "
                f"numbered from 0."
            )
    return resolved


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


class TorchModuleMixin:
    """Device handling and pickling for a step whose network is ``module_``.

    The class builds its network again from its parameters with
    ``_build_module()`` when it is unpickled, then loads the saved weights.
    """

    def to_device(self, device):
        """Move the fitted network to another device.

        Parameters
        ----------
        device : str
            ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.

        Returns
        -------
        self : estimator instance
            The step, whose ``transform`` now runs on ``device_``.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        resolved = resolve_device(device)
        self.module_.to(resolved)
        self.device_ = resolved
        return self

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")

    def __getstate__(self):
        # A copy: object.__getstate__ may hand back the live __dict__.
        state = dict(super().__getstate__())
        module = state.pop("module_", None)
        if module is not None:
            state["_module_bytes"] = save_state(module)
            state["device_"] = str(state["device_"])
        return state

    def __setstate__(self, state):
        data = state.pop("_module_bytes", None)
        super().__setstate__(state)
        if data is not None:
            module = self._build_module()
            self.device_ = load_state(module, data, self.device_)
            module.eval()
            self.module_ = module
