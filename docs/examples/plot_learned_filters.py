"""
==============================================
What the learned filters respond to
==============================================

:class:`~semiseg_sk.AutoencoderFeatures` learns a bank of small filters from
every image it is given, scribbled or not: k-means on contrast-normalised,
whitened windows picks the oriented edges, bars and spots that recur in the
images, and a sparse denoising autoencoder fine-tunes them. Rectified and
pooled over each region, their responses measure texture energy, which the
intensity statistics of :class:`~semiseg_sk.RegionStats` do not see.

Here the bank is learned from twelve texture mosaics (brick, grass, gravel),
two of them scribbled; we look at the filters, at their response maps on a
mosaic, and at the region-level segmentation with and without them.
"""

# %%
# Data: mosaics of real texture photographs shipped with scikit-image.
import numpy as np

from semiseg_sk import AutoencoderFeatures, RegionClassifier, RegionStats, Superpixels
from semiseg_sk.datasets import make_scribbled_dataset
from semiseg_sk.metrics import mean_iou

data = make_scribbled_dataset(n_labeled=2, n_unlabeled=10, n_test=2, random_state=0)
superpixels = Superpixels(n_segments=400).fit(data.images)
train = RegionStats().fit_transform(superpixels.transform(data.images))
test = RegionStats().fit_transform(superpixels.transform(data.test_images))

# %%
# Learn the filter bank from all twelve training images (``y`` is not used).
ae = AutoencoderFeatures(n_filters=16, max_iter=5, random_state=0)
train_ae = ae.fit_transform(train)
test_ae = ae.transform(test)
print(f"{ae.n_features_out_} columns appended per region, {ae.n_iter_} epochs")

# %%
# The filters (in the units of the whitened, contrast-normalised windows).
import matplotlib.pyplot as plt

filters = ae.filters()[..., 0]
fig, axes = plt.subplots(2, 8, figsize=(8, 2.3), layout="constrained")
for f, ax in zip(filters, axes.ravel()):
    ax.imshow(f, cmap="RdBu_r", vmin=-np.abs(f).max(), vmax=np.abs(f).max())
    ax.set_axis_off()
fig.suptitle("learned 7 x 7 filters")

# %%
# Their energy maps on a test mosaic: each map is bright where its filter's
# pattern is present, at its scale. Shown are the six maps whose means differ
# most between the classes of this mosaic (relative to their spread within a
# class); the name tells the scale (``s1``: the image, ``s4``: the image
# block-averaged by 4) and the filter.
image, truth = data.test_images[0], data.test_truths[0]
maps = ae.pixel_features(image)
names = ae.get_pixel_feature_names_out()
flat, classes = maps.reshape(-1, maps.shape[-1]), truth.ravel()
means = np.stack([flat[classes == c].mean(axis=0) for c in np.unique(classes)])
within = np.mean([flat[classes == c].std(axis=0) for c in np.unique(classes)], 0)
best = np.argsort(means.std(axis=0) / within)[::-1][:6]

fig, axes = plt.subplots(2, 4, figsize=(10, 5.2), layout="constrained")
axes[0, 0].imshow(image, cmap="gray")
axes[0, 0].set_title("test mosaic")
axes[1, 0].imshow(truth, cmap="tab10", vmin=0, vmax=9)
axes[1, 0].set_title("truth")
for ax, j in zip(axes[:, 1:].ravel(), best):
    ax.imshow(maps[..., j], cmap="magma")
    ax.set_title(names[j], fontsize=8)
for ax in axes.ravel():
    ax.set_axis_off()

# %%
# Region-level segmentation (label spreading over the regions of all images,
# no pixel refinement) with the intensity statistics alone and with the
# pooled filter energy appended.
without = RegionClassifier().fit(train, data.labels).predict(test)
with_ae = RegionClassifier().fit(train_ae, data.labels).predict(test_ae)
print(f"RegionStats:                 mIoU {mean_iou(data.test_truths, without):.3f}")
print(f"RegionStats + learned bank:  mIoU {mean_iou(data.test_truths, with_ae):.3f}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4), layout="constrained")
panels = [
    (data.test_truths[0], "truth"),
    (without[0], "RegionStats"),
    (with_ae[0], "+ learned filters"),
]
for ax, (mask, title) in zip(axes, panels):
    ax.imshow(mask, cmap="tab10", vmin=0, vmax=9)
    ax.set_title(title)
    ax.set_axis_off()
plt.show()
