# Authors: The semiseg_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""``semiseg demo``: scribbles on two mosaics, many unlabeled ones, a score table."""

import sys
import time

import numpy as np

from ..baselines import skimage_trainable_segmentation
from ..datasets import make_scribbled_dataset
from ..io._atomic import check_destination
from ..metrics import dice_score, mean_iou, pixel_accuracy
from ..pipeline import make_segmenter

__all__ = ["run_demo"]


def _row(name, truths, masks, seconds):
    return (
        name,
        mean_iou(truths, masks),
        dice_score(truths, masks),
        pixel_accuracy(truths, masks),
        seconds,
    )


def format_table(rows):
    """Markdown table of (method, mIoU, Dice, accuracy, seconds) rows."""
    lines = [
        "| method | mIoU | Dice | pixel accuracy | fit + predict (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {n} | {m:.3f} | {d:.3f} | {a:.3f} | {s:.1f} |" for n, m, d, a, s in rows
    ]
    return "\n".join(lines)


def run_demo(
    output="demo_overlay.png",
    *,
    overwrite=False,
    n_unlabeled=20,
    n_test=4,
    random_state=0,
    verbose=1,
    stream=None,
    progress=None,
):
    """Fit the default segmenter on scribbled texture mosaics and compare.

    Two 192 x 192 mosaics of real textures get a few short scribbles each,
    ``n_unlabeled`` more mosaics are unlabeled, and ``n_test`` mosaics cut
    from unseen halves of the texture photographs are segmented by
    :func:`~semiseg_sk.make_segmenter` and by scikit-image's trainable
    segmentation trained on the same scribbled pixels.

    Parameters
    ----------
    output : str or None, default="demo_overlay.png"
        Where to write the picture (image, scribbles, predictions, truth);
        None writes none.
    overwrite : bool, default=False
        Replace an existing picture; otherwise an existing file is refused,
        before any work.
    n_unlabeled : int, default=20
        Unlabeled training mosaics.
    n_test : int, default=4
        Held-out test mosaics.
    random_state : int, default=0
        Seed of the data, the scribbles and the models.
    verbose : int, default=1
        0 prints only the table; 1 also prints progress.
    stream : file-like, default=None
        Where to print; None is standard output.
    progress : bool, default=None
        Show the autoencoder's progress bar; None shows it when ``verbose``.

    Returns
    -------
    rows : list of tuple
        ``(method, mIoU, Dice, pixel accuracy, seconds)`` per method.
    """
    stream = sys.stdout if stream is None else stream
    if output is not None:
        check_destination(output, overwrite=overwrite)

    def say(message):
        if verbose:
            print(message, file=stream, flush=True)

    data = make_scribbled_dataset(
        n_labeled=2, n_unlabeled=n_unlabeled, n_test=n_test, random_state=random_state
    )
    n_scribbled = sum(int((lab >= 0).sum()) for lab in data.labels)
    n_pixels = sum(lab.size for lab in data.labels[:2])
    say(
        f"data: 2 scribbled mosaics ({100 * n_scribbled / n_pixels:.2f}% of their "
        f"pixels labeled), {n_unlabeled} unlabeled, {n_test} held-out test mosaics"
    )

    tic = time.perf_counter()
    _start_torch()
    say(
        f"torch started in {time.perf_counter() - tic:.1f} s (once per process; "
        f"not counted below)"
    )
    say(
        f"fitting semiseg_sk make_segmenter() on all {len(data.images)} training "
        f"mosaics ..."
    )
    tic = time.perf_counter()
    if progress is None:
        progress = bool(verbose)
    segmenter = make_segmenter(random_state=random_state, verbose=int(progress))
    segmenter.fit(data.images, data.labels)
    ours = segmenter.predict(data.test_images)
    ours_seconds = time.perf_counter() - tic

    say(
        "fitting scikit-image trainable segmentation on the scribbled pixels of "
        "the 2 scribbled mosaics ..."
    )
    tic = time.perf_counter()
    baseline = skimage_trainable_segmentation(
        data.images, data.labels, data.test_images, random_state=random_state
    )
    base_seconds = time.perf_counter() - tic

    rows = [
        _row("semiseg_sk make_segmenter()", data.test_truths, ours, ours_seconds),
        _row(
            "scikit-image trainable segmentation (RF)",
            data.test_truths,
            baseline,
            base_seconds,
        ),
    ]
    print(format_table(rows), file=stream, flush=True)
    if output is not None:
        path = _save_picture(output, data, segmenter, ours, baseline, overwrite)
        print(f"picture written to {path}", file=stream, flush=True)
    return rows


def _start_torch():
    """Import torch and its optimisers, which load lazily on first use."""
    from ..features._torch import import_torch

    torch = import_torch()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def _save_picture(path, data, segmenter, ours, baseline, overwrite):
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from scipy import ndimage

    from ..plotting import CLASS_COLORS, display_rgb, overlay, save_figure

    def scribbles(image, labels):
        # Thicken the strokes for display only: a few pixels wide vanish.
        shown = np.full_like(labels, -1)
        for k in np.unique(labels[labels >= 0]):
            shown[ndimage.binary_dilation(labels == k, iterations=2)] = k
        return overlay(image, shown, alpha=0.9)

    def scored(name, truth, mask):
        return f"{name} (mIoU {mean_iou([truth], [mask]):.2f})"

    train_pred = segmenter.predict(data.images[:1])[0]
    image, test = data.images[0], data.test_images[0]
    rows = [
        [
            ("scribbled training image", display_rgb(image)),
            ("its scribbles", scribbles(image, data.labels[0])),
            (
                scored("semiseg_sk", data.truths[0], train_pred),
                overlay(image, train_pred, alpha=0.45),
            ),
            ("truth", overlay(image, data.truths[0], alpha=0.45)),
        ],
        [
            ("held-out test image", display_rgb(test)),
            (
                scored("scikit-image RF", data.test_truths[0], baseline[0]),
                overlay(test, baseline[0], alpha=0.45),
            ),
            (
                scored("semiseg_sk", data.test_truths[0], ours[0]),
                overlay(test, ours[0], alpha=0.45),
            ),
            ("truth", overlay(test, data.test_truths[0], alpha=0.45)),
        ],
    ]
    fig = Figure(figsize=(12, 6.8), layout="constrained")
    axes = fig.subplots(2, 4)
    for ax_row, panel_row in zip(axes, rows):
        for ax, (title, picture) in zip(ax_row, panel_row):
            ax.imshow(picture)
            ax.set_title(title, fontsize=10)
            ax.set_axis_off()
    names = getattr(data, "target_names", None) or [
        f"class {k}" for k in range(len(np.unique(data.truths[0])))
    ]
    handles = [
        Patch(color=CLASS_COLORS[k % len(CLASS_COLORS)], label=name)
        for k, name in enumerate(names)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return save_figure(fig, path, overwrite=overwrite)
