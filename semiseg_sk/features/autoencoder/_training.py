# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The training loop of the autoencoder, in small overridable steps.

:class:`TrainingLoop` follows skorch's decomposition: ``run`` is the fit
loop over epochs, ``train_epoch`` one pass over the (sub-sampled) training
patches, ``train_step`` one gradient step, ``validation_loss`` the held-out
loss, and early stopping keeps the best weights. Callbacks are told of each
event (:class:`~semiseg_sk.features.Callback`).
"""

import time

import numpy as np

from .._torch import import_torch

__all__ = ["TrainingLoop"]

# Patches per forward pass when no gradient is needed.
INFERENCE_BATCH = 1024


class TrainingLoop:
    """Train ``estimator.module_`` to reconstruct clean patches from noisy ones.

    Parameters
    ----------
    estimator : AutoencoderFeatures
        The step being fitted: its parameters (``optimizer``,
        ``learning_rate``, ``max_iter``, ``batch_size``,
        ``patches_per_epoch``, ``noise``, ``loss``, ``tol``,
        ``n_iter_no_change``) drive the loop, and its ``module_``,
        ``device_`` and ``history_`` are trained and filled.
    generator : torch.Generator
        Source of the loop's randomness (batch order and noise).
    callbacks : list of Callback
        Told of each event.
    augment : callable, default=None
        ``augment()`` returns new training inputs for the epochs after the
        first (random crops); None trains on the same inputs every epoch.
    """

    def __init__(self, estimator, generator, callbacks, augment=None):
        self.estimator = estimator
        self.generator = generator
        self.callbacks = callbacks
        self.augment = augment
        self.torch = import_torch()

    def notify(self, hook, **kwargs):
        for callback in self.callbacks:
            getattr(callback, hook)(self.estimator, **kwargs)

    def forward(self, batch):
        module = self.estimator.module_
        return module["decoder"](module["encoder"](batch))

    def make_optimizer(self):
        est = self.estimator
        params = est.module_.parameters()
        if est.optimizer == "adam":
            return self.torch.optim.Adam(params, lr=est.learning_rate)
        return self.torch.optim.SGD(params, lr=est.learning_rate, momentum=0.9)

    def make_criterion(self):
        if self.estimator.loss == "bce":
            return self.torch.nn.BCEWithLogitsLoss()
        return self.torch.nn.MSELoss()

    def train_step(self, clean):
        """One gradient step on a batch; returns the batch loss."""
        est = self.estimator
        noisy = clean
        if est.noise:
            noisy = clean + est.noise * self.torch.randn(
                clean.shape, generator=self.generator
            )
        clean, noisy = clean.to(est.device_), noisy.to(est.device_)
        self.optimizer.zero_grad()
        loss = self.criterion(self.forward(noisy), clean)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def train_epoch(self, data):
        """One pass over ``patches_per_epoch`` patches drawn anew; mean loss."""
        est = self.estimator
        est.module_.train()
        perm = self.torch.randperm(len(data), generator=self.generator)
        perm = perm[: est.patches_per_epoch]
        total = 0.0
        for start in range(0, len(perm), est.batch_size):
            clean = data[perm[start : start + est.batch_size]]
            loss = self.train_step(clean)
            total += loss * len(clean)
            self.notify("on_batch_end", loss=loss, batch_size=len(clean))
        return total / len(perm)

    def validation_loss(self, data):
        """Reconstruction loss of ``data`` without noise or gradients."""
        est = self.estimator
        est.module_.eval()
        total = 0.0
        with self.torch.no_grad():
            for start in range(0, len(data), INFERENCE_BATCH):
                batch = data[start : start + INFERENCE_BATCH].to(est.device_)
                total += self.criterion(self.forward(batch), batch).item() * len(batch)
        return total / len(data)

    def run(self, train, valid):
        """Train for up to ``max_iter`` epochs with early stopping on ``valid``.

        Sets ``n_iter_`` and appends one record per epoch to ``history_``;
        the weights of the best validation loss are kept.
        """
        est = self.estimator
        self.optimizer = self.make_optimizer()
        self.criterion = self.make_criterion()
        best_loss, best_state, stale = np.inf, None, 0
        start_epoch = len(est.history_)
        est.n_iter_ = 0
        self.notify("on_train_begin", n_train=len(train), n_valid=len(valid))
        for epoch in range(est.max_iter):
            tic = time.perf_counter()
            self.notify("on_epoch_begin", epoch=start_epoch + epoch + 1)
            data = train if self.augment is None or epoch == 0 else self.augment()
            train_loss = self.train_epoch(data)
            if not np.isfinite(train_loss):
                raise ValueError(
                    f"{type(est).__name__} training diverged at epoch "
                    f"{start_epoch + epoch + 1} (loss {train_loss}); lower "
                    f"learning_rate={est.learning_rate} or check the images."
                )
            valid_loss = self.validation_loss(valid) if len(valid) else None
            record = {
                "epoch": start_epoch + epoch + 1,
                "train_loss": train_loss,
                "valid_loss": valid_loss,
                "duration": time.perf_counter() - tic,
            }
            est.history_.append(record)
            est.n_iter_ = epoch + 1
            self.notify("on_epoch_end", record=record)
            if valid_loss is None:
                continue
            if valid_loss < best_loss * (1 - est.tol):
                best_loss, stale = valid_loss, 0
                best_state = {
                    k: v.detach().clone() for k, v in est.module_.state_dict().items()
                }
            else:
                stale += 1
                if stale >= est.n_iter_no_change:
                    break
        if best_state is not None:
            est.module_.load_state_dict(best_state)
        est.module_.eval()
        self.notify("on_train_end", history=est.history_)
