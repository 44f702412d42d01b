# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Callbacks: hooks into the training loop of the learned feature steps.

In the style of skorch's callbacks: a :class:`Callback` has one no-op method
per event, and a subclass overrides those it needs. Each is called with the
estimator being fitted and keyword arguments; accept ``**kwargs`` so that
new arguments do not break a callback.
"""

__all__ = ["Callback", "ProgressBar"]


class Callback:
    """Base class of the objects passed in a step's ``callbacks`` list.

    The training loop calls, in this order:

    - ``on_train_begin(estimator, n_train=..., n_valid=...)`` once, with the
      numbers of training and validation patches;
    - for every epoch, ``on_epoch_begin(estimator, epoch=...)``, then
      ``on_batch_end(estimator, loss=..., batch_size=...)`` after every
      gradient step, then ``on_epoch_end(estimator, record=...)`` with the
      epoch's entry of ``history_`` (a dict with ``epoch``, ``train_loss``,
      ``valid_loss`` and ``duration``);
    - ``on_train_end(estimator, history=...)`` once, after the best weights
      were restored.

    Examples
    --------
    >>> from semiseg_sk.features import Callback
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, estimator, record, **kwargs):
    ...         print(record["epoch"], round(record["train_loss"], 3))
    """

    def on_train_begin(self, estimator, **kwargs):
        """Called once before the first epoch."""

    def on_epoch_begin(self, estimator, **kwargs):
        """Called at the start of every epoch."""

    def on_batch_end(self, estimator, **kwargs):
        """Called after every gradient step."""

    def on_epoch_end(self, estimator, **kwargs):
        """Called after every epoch, with its ``record``."""

    def on_train_end(self, estimator, **kwargs):
        """Called once after training."""


class ProgressBar(Callback):
    """A tqdm bar over the epochs, with the losses of the last one.

    ``verbose=1`` adds one to the callbacks. The bar lives only during
    ``fit`` and is never pickled.

    Parameters
    ----------
    desc : str, default="training"
        Text in front of the bar.
    """

    def __init__(self, desc="training"):
        self.desc = desc

    def on_train_begin(self, estimator, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=estimator.max_iter, desc=self.desc, unit="epoch")

    def on_epoch_end(self, estimator, record, **kwargs):
        # The losses of the record, whatever the estimator names them
        # (train_loss / valid_loss, or a GAN's d_loss / g_loss).
        self.bar_.update(1)
        self.bar_.set_postfix(
            {
                key: f"{value:.4f}"
                for key, value in record.items()
                if key.endswith("loss") and isinstance(value, float)
            }
        )

    def on_train_end(self, estimator, **kwargs):
        self.bar_.close()
        del self.bar_

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("bar_", None)
        return state
