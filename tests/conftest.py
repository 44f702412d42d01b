"""Shared fixtures: seeds, small data sets, thread limits, torch when present."""

import os

# Two pytest-xdist workers share two cores: keep each to one thread. Set
# before numpy is imported, so that its BLAS pool starts with one thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import importlib.util  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None


def pytest_configure(config):
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if HAS_TORCH:
        import torch

        torch.set_num_threads(1)


@pytest.fixture
def global_random_seed():
    """The seed of randomised tests; SEMISEG_TESTS_GLOBAL_RANDOM_SEED overrides."""
    return int(os.environ.get("SEMISEG_TESTS_GLOBAL_RANDOM_SEED", 0))


def _tiny_dataset(n_images=4, size=(48, 48), seed=0):
    from semiseg_sk.datasets import make_scribbles, make_texture_mosaics

    images, truths = make_texture_mosaics(
        n_images, size=size, n_cells=3, random_state=seed
    )
    labels = [make_scribbles(t, stroke_length=8, random_state=seed) for t in truths]
    # Only the first two images are scribbled; the rest are unlabeled images.
    labels = labels[:2] + [np.full(t.shape, -1) for t in truths[2:]]
    return images, labels, truths


@pytest.fixture(scope="session")
def tiny_data():
    """Four 48 x 48 texture mosaics: two scribbled, two unlabeled."""
    return _tiny_dataset()


@pytest.fixture(scope="session")
def tiny_regions(tiny_data):
    """Regions with RegionStats features for ``tiny_data``."""
    from semiseg_sk import RegionStats, Superpixels

    images, _, _ = tiny_data
    regions = Superpixels(n_segments=30).fit_transform(images)
    return RegionStats().fit_transform(regions)


@pytest.fixture
def fast_segmenter():
    """make_segmenter with settings small enough for unit tests."""

    def build(**kwargs):
        from semiseg_sk import make_segmenter

        if kwargs.get("autoencoder"):
            pytest.importorskip("torch")
        elif "autoencoder" not in kwargs and not HAS_TORCH:
            # Without torch the tests that do not ask for the autoencoder
            # still run, on the pipeline without it.
            kwargs["autoencoder"] = False
        seg = make_segmenter(n_segments=30, random_state=0, **kwargs)
        if "autoencoderfeatures" in seg.named_steps:
            seg.set_params(
                autoencoderfeatures__max_iter=2,
                autoencoderfeatures__latent_dim=4,
                autoencoderfeatures__n_filters=4,
            )
        return seg

    return build


@pytest.fixture
def parallel_calls(monkeypatch):
    """Record ``(n_jobs, n_tasks)`` of every joblib ``Parallel`` call, run serially.

    Every ``Parallel`` -- semiseg_sk's, scikit-learn's forests and neighbour
    searches -- ends in ``joblib.Parallel.__call__``; the recorded ``n_jobs``
    is the one its caller asked for, then the tasks run in one process, so a
    test of the ``n_jobs`` given to joblib starts no workers.
    """
    import joblib

    calls = []
    original = joblib.Parallel.__call__

    def record(self, iterable):
        tasks = list(iterable)
        n_jobs = self.n_jobs if isinstance(self.n_jobs, int) else None
        calls.append((n_jobs, len(tasks)))
        self.n_jobs = 1
        return original(self, tasks)

    monkeypatch.setattr(joblib.Parallel, "__call__", record)
    return calls
