"""
===========================================
From two scribbled images to segmentations
===========================================

Two texture mosaics carry a few short scribbles, ten more are unlabeled. The
default segmenter uses all twelve; scikit-image's trainable segmentation, the
pixel classifier most users start with, can use only the scribbled pixels.
"""

# %%
# Data: mosaics of real texture photographs shipped with scikit-image.
from semiseg_sk import make_segmenter
from semiseg_sk.baselines import skimage_trainable_segmentation
from semiseg_sk.datasets import make_scribbled_dataset
from semiseg_sk.metrics import mean_iou

data = make_scribbled_dataset(n_labeled=2, n_unlabeled=10, n_test=2, random_state=0)

# %%
# Fit on labeled and unlabeled images together (-1 = unlabeled pixel).
seg = make_segmenter(random_state=0)
seg.set_params(autoencoderfeatures__max_iter=10)  # keep the gallery quick
seg.fit(data.images, data.labels)
ours = seg.predict(data.test_images)
baseline = skimage_trainable_segmentation(
    data.images, data.labels, data.test_images, random_state=0
)
print(f"semiseg_sk mIoU:   {mean_iou(data.test_truths, ours):.3f}")
print(f"scikit-image mIoU: {mean_iou(data.test_truths, baseline):.3f}")

# %%
# Look at the result: scribbles, prediction with region boundaries, truth.
import matplotlib.pyplot as plt

from semiseg_sk.plotting import overlay

regions = seg[:1].transform(data.test_images[:1])[0]
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4), layout="constrained")
panels = [
    ("scribbles (training)", overlay(data.images[0], data.labels[0], alpha=0.9)),
    ("scikit-image", overlay(data.test_images[0], baseline[0])),
    ("semiseg_sk", overlay(data.test_images[0], ours[0], segments=regions.segments)),
    ("truth", overlay(data.test_images[0], data.test_truths[0])),
]
for ax, (title, picture) in zip(axes, panels):
    ax.imshow(picture)
    ax.set_title(title)
    ax.set_axis_off()
plt.show()
