"""Does AutoencoderFeatures help on volumes? 3-D pipeline with and without it.

On the brain of ``benchmarks/volumes.py`` (its volume, scribbles on 3 axial
slices and 3-D mIoU over every voxel), for each seed in one process:

- ``3d``: ``make_segmenter(spacing=...)`` (its volume default, no autoencoder);
- ``3d + autoencoder``: ``autoencoder=True``: filters learned from the (Y, X)
  slices, maps computed slice by slice and pooled per supervoxel (what
  ``AutoencoderFeatures`` does on volumes);
- ``3d + autoencoder xy,xz,yz`` (``--orientations``): an experiment, not
  shipped: the filters are learned from the slices of all three
  orientations and the region blocks pooled in each orientation are
  averaged. It needs isotropic voxels (``--zoom`` keeps them isotropic).

Run::

    python benchmarks/ablation_volume_autoencoder.py [--seeds 0,1,2] [--orientations]
"""

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from volumes import brain, scribble  # noqa: E402


def _views(array):
    return [array, array.swapaxes(0, 1), np.moveaxis(array, 2, 0)]


def _three_orientations():
    """Patch AutoencoderFeatures to learn and pool in the xy, xz and yz slices."""
    import semiseg_sk.features.autoencoder._estimator as est
    from semiseg_sk.features._torch import import_torch
    from semiseg_sk.features.autoencoder._maps import RegionPooler

    def slices(X):
        return [
            SimpleNamespace(image=np.ascontiguousarray(s))
            for r in X
            for view in _views(r.image)
            for s in view
        ]

    def pooled(self, regions):
        torch = import_torch()
        blocks = []
        for image, seg in zip(_views(regions.image), _views(regions.segments)):
            tall = seg.reshape(-1, seg.shape[-1])
            pooler = RegionPooler(
                tall, regions.n_regions, self.n_maps_, tuple(self.pooling)
            )
            with torch.no_grad():
                for k, plane in enumerate(image):
                    plane = np.ascontiguousarray(plane)
                    for a, b, maps in self._strips(plane):
                        pooler.add(k * plane.shape[0] + a, k * plane.shape[0] + b, maps)
            blocks.append(pooler.result())
        return np.mean(blocks, axis=0)

    saved = est._slices, est.AutoencoderFeatures._pooled
    est._slices, est.AutoencoderFeatures._pooled = slices, pooled
    return lambda: (
        setattr(est, "_slices", saved[0])
        or setattr(est.AutoencoderFeatures, "_pooled", saved[1])
    )


def main(argv=None):
    from semiseg_sk import make_segmenter
    from semiseg_sk.metrics import mean_iou

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--zoom", type=int, default=2)
    parser.add_argument("--orientations", action="store_true")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    volume, truth, spacing = brain(zoom=args.zoom)
    print(f"volume {volume.shape}, spacing {spacing}", flush=True)
    methods = [("3d", False, False), ("3d + autoencoder", True, False)]
    if args.orientations:
        methods.append(("3d + autoencoder xy,xz,yz", True, True))
    rows = {name: [] for name, _, _ in methods}
    for seed in seeds:
        labels = scribble(truth, seed, 3)
        for name, autoencoder, patched in methods:
            restore = _three_orientations() if patched else None
            try:
                seg = make_segmenter(
                    spacing=spacing, autoencoder=autoencoder, random_state=seed
                )
                start = time.perf_counter()
                mask = seg.fit_predict([volume], [labels])[0]
                seconds = time.perf_counter() - start
            finally:
                if restore is not None:
                    restore()
            score = mean_iou([truth], [mask])
            rows[name].append((score, seconds))
            print(f"seed {seed}  {name:26s} mIoU {score:.4f}  {seconds:6.1f} s")
    print("\n| method | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | s |")
    print("|---" * (len(seeds) + 3) + "|")
    for name, values in rows.items():
        scores = [v[0] for v in values]
        cells = " | ".join(f"{v:.3f}" for v in scores)
        seconds = np.median([v[1] for v in values])
        print(f"| {name} | {cells} | {np.mean(scores):.3f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
