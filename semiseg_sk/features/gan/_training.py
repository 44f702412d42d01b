# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The adversarial training loop, in small overridable steps.

Hinge loss (Miyato et al. 2018): the discriminator minimises
``relu(1 - D(real)) + relu(1 + D(fake))``, the generator ``-D(fake)``; both
see the crops through the same differentiable augmentation; Adam with
``beta1=0.5``. One discriminator step and one generator step per batch.
Callbacks are told of each event (:class:`~semiseg_sk.features.Callback`).
"""

import time

from .._torch import import_torch
from ..autoencoder._callbacks import ProgressBar
from ._augment import diff_augment
from ._network import discriminator_maps

__all__ = ["GANProgressBar", "GANTrainingLoop"]

BETAS = (0.5, 0.999)


class GANProgressBar(ProgressBar):
    """A tqdm bar over the epochs, with the GAN's losses of the last one."""

    def on_epoch_end(self, estimator, record, **kwargs):
        self.bar_.update(1)
        self.bar_.set_postfix(d=f"{record['d_loss']:.3f}", g=f"{record['g_loss']:.3f}")


class GANTrainingLoop:
    """Train ``estimator.module_`` adversarially on random crops.

    Parameters
    ----------
    estimator : GANFeatures
        The step being fitted: its ``learning_rate``, ``max_iter``,
        ``batch_size``, ``latent_dim`` and ``augment`` drive the loop, and
        its ``module_``, ``device_`` and ``history_`` are trained and filled.
    crops : callable
        ``crops()`` returns the epoch's real crops, a float32 tensor
        (n, C, S, S) on the CPU, drawn anew at every call.
    generator : torch.Generator
        Source of the loop's randomness (batch order, noise, augmentation).
    callbacks : list of Callback
        Told of each event.
    """

    def __init__(self, estimator, crops, generator, callbacks):
        self.estimator = estimator
        self.crops = crops
        self.generator = generator
        self.callbacks = callbacks
        self.torch = import_torch()

    def notify(self, hook, **kwargs):
        for callback in self.callbacks:
            getattr(callback, hook)(self.estimator, **kwargs)

    def make_optimizers(self):
        est, optim = self.estimator, self.torch.optim
        lr = est.learning_rate
        return (
            optim.Adam(est.module_["discriminator"].parameters(), lr=lr, betas=BETAS),
            optim.Adam(est.module_["generator"].parameters(), lr=lr, betas=BETAS),
        )

    def score(self, images):
        """The discriminator's score of augmented images."""
        est = self.estimator
        images = diff_augment(images, est.augment or (), self.generator)
        return discriminator_maps(est.module_["discriminator"], images)

    def fake(self, n):
        est = self.estimator
        z = self.torch.randn((n, est.latent_dim), generator=self.generator)
        return est.module_["generator"](z.to(est.device_))

    def train_step(self, real):
        """One discriminator and one generator step; returns their statistics."""
        relu = self.torch.relu
        real = real.to(self.estimator.device_)
        n = len(real)
        self.d_opt.zero_grad()
        d_real = self.score(real)
        d_fake = self.score(self.fake(n).detach())
        d_loss = relu(1 - d_real).mean() + relu(1 + d_fake).mean()
        d_loss.backward()
        self.d_opt.step()
        self.g_opt.zero_grad()
        g_loss = -self.score(self.fake(n)).mean()
        g_loss.backward()
        self.g_opt.step()
        return {
            "d_loss": d_loss.item(),
            "g_loss": g_loss.item(),
            "d_real": d_real.mean().item(),
            "d_fake": d_fake.mean().item(),
        }

    def train_epoch(self):
        """One pass over the epoch's crops; mean statistics of its batches."""
        est = self.estimator
        est.module_.train()
        data = self.crops()
        totals = {}
        for start in range(0, len(data), est.batch_size):
            batch = data[start : start + est.batch_size]
            stats = self.train_step(batch)
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + value * len(batch)
            self.notify("on_batch_end", loss=stats["d_loss"], batch_size=len(batch))
        return {key: value / len(data) for key, value in totals.items()}

    def run(self):
        """Train for ``max_iter`` epochs; sets ``n_iter_``, fills ``history_``."""
        est = self.estimator
        self.d_opt, self.g_opt = self.make_optimizers()
        start_epoch = len(est.history_)
        est.n_iter_ = 0
        self.notify("on_train_begin", n_train=est.crops_per_epoch, n_valid=0)
        for epoch in range(est.max_iter):
            tic = time.perf_counter()
            number = start_epoch + epoch + 1
            self.notify("on_epoch_begin", epoch=number)
            stats = self.train_epoch()
            bad = [k for k in ("d_loss", "g_loss") if not _finite(stats[k])]
            if bad:
                raise ValueError(
                    f"{type(est).__name__} training diverged at epoch {number} "
                    f"({bad[0]}={stats[bad[0]]}); lower learning_rate="
                    f"{est.learning_rate} or check the images."
                )
            record = {"epoch": number, **stats, "duration": time.perf_counter() - tic}
            est.history_.append(record)
            est.n_iter_ = epoch + 1
            self.notify("on_epoch_end", record=record)
        est.module_.eval()
        self.notify("on_train_end", history=est.history_)


def _finite(value):
    return value == value and abs(value) != float("inf")
