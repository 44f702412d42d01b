"""Parallel work: one task per image; the filter bank follows OMP_NUM_THREADS."""

import numpy as np
import pytest
from sklearn.utils.parallel import delayed

from semiseg_sk.utils import fixes
from semiseg_sk.utils._parallel import image_parallel, thread_budget


def test_image_parallel_dispatches_every_call_alone():
    # joblib batches quick calls (52 batches for these 300 on loky); per-image
    # calls batched together spread unevenly over the workers.
    parallel = image_parallel(2, n_tasks=300)
    assert parallel(delayed(abs)(-i) for i in range(300)) == list(range(300))
    assert parallel.n_dispatched_batches == parallel.n_dispatched_tasks == 300


def test_image_parallel_caps_n_jobs_at_the_number_of_tasks():
    assert image_parallel(-1, n_tasks=1).n_jobs == 1
    assert image_parallel(1000, n_tasks=3).n_jobs == 3


@pytest.mark.parametrize(
    "value, expected", [("1", 1), ("3", 3), ("0", None), ("", None), ("two", None)]
)
def test_thread_budget_reads_omp_num_threads(monkeypatch, value, expected):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert thread_budget() == expected
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert thread_budget() is None


def test_filter_bank_runs_in_the_thread_budget(monkeypatch):
    # A dask worker (OMP_NUM_THREADS=1) must not start a pool of threads.
    from semiseg_sk import make_segmenter

    seen = []
    original = fixes._multiscale_basic_features

    def spy(image, **kwargs):
        seen.append(kwargs[fixes._MBF_THREADS])
        return original(image, **kwargs)

    monkeypatch.setattr(fixes, "_multiscale_basic_features", spy)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    image = np.zeros((32, 32))
    image[:, 16:] = 1.0
    labels = np.full((32, 32), -1)
    labels[5, 5], labels[5, 25] = 0, 1
    seg = make_segmenter(n_segments=8, autoencoder=False, random_state=0)
    seg.fit([image], [labels]).predict([image])
    # Region statistics and the refiner, in fit and in predict.
    assert len(seen) >= 4 and set(seen) == {1}
