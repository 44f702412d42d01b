# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The training loop of the autoencoder, in small overridable steps.

:class:`TrainingLoop` follows skorch's decomposition: ``run`` is the fit
loop over epochs, ``train_epoch`` one pass over the (sub-sampled) training
crops, ``train_step`` one gradient step, ``validation_loss`` the held-out
loss, and early stopping keeps the best weights. Callbacks are told of each
event (:class:`~semiseg_sk.features.Callback`).
"""

import time

import numpy as np

from .._torch import import_torch
from ._network import decode, rectified, responses, target, window_stats

__all__ = ["TrainingLoop"]

# Crops per forward pass when no gradient is needed.
INFERENCE_BATCH = 256


class _Optimizer:
    """Adam, or SGD with momentum 0.9, in a few tensor operations.

    The same updates as ``torch.optim.Adam`` and ``torch.optim.SGD``, without
    their first use importing ``torch._dynamo`` (tens of seconds in a fresh
    process on a busy machine). Parameters without a gradient are skipped.
    """

    def __init__(self, params, kind, lr, betas=(0.9, 0.999), eps=1e-8):
        torch = import_torch()
        self.params, self.kind, self.lr = params, kind, lr
        self.betas, self.eps, self.step_count = betas, eps, [0] * len(params)
        self.first = [torch.zeros_like(p) for p in params]
        self.second = [torch.zeros_like(p) for p in params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        torch = import_torch()
        b1, b2 = self.betas
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                g, m = p.grad, self.first[i]
                self.step_count[i] += 1
                if self.kind == "sgd":
                    if self.step_count[i] == 1:
                        m.copy_(g)
                    else:
                        m.mul_(0.9).add_(g)
                    p.add_(m, alpha=-self.lr)
                    continue
                t, v = self.step_count[i], self.second[i]
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v / (1 - b2**t)).sqrt_().add_(self.eps)
                p.addcdiv_(m, denom, value=-self.lr / (1 - b1**t))


class TrainingLoop:
    """Fine-tune ``estimator.module_``: a sparse denoising autoencoder on crops.

    The loss of a batch is the mean squared error between the decoder's
    redrawing of the contrast-normalised clean crops and the normalised
    crops themselves, the encoder seeing the crops with Gaussian noise
    (``noise``), plus ``sparsity`` times the mean rectified response. In the
    first epoch of a run of more than one epoch only the decoder learns, so
    that the encoder's (k-means) filters are not pulled about by a random
    decoder.

    Parameters
    ----------
    estimator : AutoencoderFeatures
        The step being fitted: its parameters (``optimizer``,
        ``learning_rate``, ``max_iter``, ``batch_size``,
        ``patches_per_epoch``, ``noise``, ``sparsity``, ``tol``,
        ``n_iter_no_change``) drive the loop, and its ``module_``,
        ``device_`` and ``history_`` are trained and filled.
    generator : torch.Generator
        Source of the loop's randomness (batch order and noise).
    callbacks : list of Callback
        Told of each event.
    """

    def __init__(self, estimator, generator, callbacks):
        self.estimator = estimator
        self.generator = generator
        self.callbacks = callbacks
        self.torch = import_torch()

    def notify(self, hook, **kwargs):
        for callback in self.callbacks:
            getattr(callback, hook)(self.estimator, **kwargs)

    def prepare(self, crops):
        """The crops with their windows' statistics and the decoder's targets.

        Computed once from the clean crops: the noisy crops of every step are
        normalised by the statistics of their clean windows.
        """
        kernel = self.estimator.module_["encoder"].weight.shape[-1]
        parts = []
        with self.torch.no_grad():
            for start in range(0, len(crops), INFERENCE_BATCH):
                batch = crops[start : start + INFERENCE_BATCH]
                stats = window_stats(batch, kernel)
                parts.append((batch, *stats, target(batch, kernel, stats)))
        if not parts:
            return ()
        return tuple(self.torch.cat(p) for p in zip(*parts))

    def loss(self, noisy, mean, std, clean_target):
        """The batch loss: reconstruction plus sparsity."""
        est = self.estimator
        module = est.module_
        codes = rectified(responses(module["encoder"], noisy, (mean, std)))
        recon = decode(module["decoder"], codes)
        mse = self.torch.nn.functional.mse_loss(recon, clean_target)
        return mse + est.sparsity * codes.mean()

    def make_optimizer(self):
        est = self.estimator
        return _Optimizer(
            list(est.module_.parameters()), est.optimizer, est.learning_rate
        )

    def train_step(self, batch):
        """One gradient step on a batch; returns the batch loss."""
        est = self.estimator
        clean, *rest = batch
        noisy = clean
        if est.noise:
            noisy = clean + est.noise * self.torch.randn(
                clean.shape, generator=self.generator
            )
        noisy = noisy.to(est.device_)
        rest = [t.to(est.device_) for t in rest]
        self.optimizer.zero_grad()
        loss = self.loss(noisy, *rest)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def train_epoch(self, data, epoch=0):
        """One pass over ``patches_per_epoch`` crops drawn anew; mean loss."""
        est = self.estimator
        est.module_.train()
        warm_up = epoch == 0 and est.max_iter > 1
        for p in est.module_["encoder"].parameters():
            p.requires_grad_(not warm_up)
        perm = self.torch.randperm(len(data[0]), generator=self.generator)
        perm = perm[: est.patches_per_epoch]
        total = 0.0
        for start in range(0, len(perm), est.batch_size):
            index = perm[start : start + est.batch_size]
            loss = self.train_step([t[index] for t in data])
            total += loss * len(index)
            self.notify("on_batch_end", loss=loss, batch_size=len(index))
        for p in est.module_["encoder"].parameters():
            p.requires_grad_(True)
        return total / len(perm)

    def validation_loss(self, data):
        """The loss of ``data`` without noise or gradients."""
        est = self.estimator
        est.module_.eval()
        total = 0.0
        n = len(data[0])
        with self.torch.no_grad():
            for start in range(0, n, INFERENCE_BATCH):
                batch = [
                    t[start : start + INFERENCE_BATCH].to(est.device_) for t in data
                ]
                total += self.loss(*batch).item() * len(batch[0])
        return total / n

    def run(self, train, valid):
        """Train for up to ``max_iter`` epochs with early stopping on ``valid``.

        ``train`` and ``valid`` are tensors of crops, ``(N, C, S, S)``.
        Sets ``n_iter_`` and appends one record per epoch to ``history_``;
        the weights of the best validation loss are kept.
        """
        est = self.estimator
        train, valid = self.prepare(train), self.prepare(valid)
        n_valid = len(valid[0]) if valid else 0
        self.optimizer = self.make_optimizer()
        best_loss, best_state, stale = np.inf, None, 0
        start_epoch = len(est.history_)
        est.n_iter_ = 0
        self.notify("on_train_begin", n_train=len(train[0]), n_valid=n_valid)
        for epoch in range(est.max_iter):
            tic = time.perf_counter()
            self.notify("on_epoch_begin", epoch=start_epoch + epoch + 1)
            train_loss = self.train_epoch(train, epoch)
            if not np.isfinite(train_loss):
                raise ValueError(
                    f"{type(est).__name__} training diverged at epoch "
                    f"{start_epoch + epoch + 1} (loss {train_loss}); lower "
                    f"learning_rate={est.learning_rate} or check the images."
                )
            valid_loss = self.validation_loss(valid) if n_valid else None
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
