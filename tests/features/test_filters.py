"""Tests of ilastik's pixel filter bank (semiseg_sk.features.filter_bank)."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from semiseg_sk.features import filter_bank, filter_bank_names

SIGMAS = (0.3, 0.7, 1.0, 1.6, 3.5, 5.0, 10.0)


def _image(shape=(24, 28), seed=0):
    return np.random.RandomState(seed).rand(*shape)


def _column(name, sigmas=SIGMAS, n_channels=1):
    return filter_bank_names(n_channels, sigmas=sigmas).index(name)


def _by_filter(features, names):
    """{"Structure Tensor Eigenvalues [1]": plane, ...} for one scale."""
    return {
        name.split(" (")[0] + name.split(" in 2D")[1]: features[..., i]
        for i, name in enumerate(names)
    }


def _gauss(image, sigma, truncate):
    return ndi.gaussian_filter(image, sigma, mode="mirror", truncate=truncate)


def _presmoothed(image, sigma):
    # ilastik presmooths with sqrt(sigma**2 - 1) above 1 (then filters at 1),
    # with sigma itself up to 1 (then filters at sigma), windows 3.5 sigma.
    pre = np.sqrt(sigma**2 - 1) if sigma > 1 else sigma
    return _gauss(image, pre, 3.5), min(sigma, 1.0)


def test_shape_dtype_and_names_of_the_default_bank():
    image = _image()
    features = filter_bank(image)
    names = filter_bank_names()
    assert features.shape == image.shape + (49,)
    assert features.dtype == np.float32
    assert features.flags.c_contiguous
    assert len(names) == len(set(names)) == 49
    assert np.isfinite(features).all()
    assert names[0] == "Gaussian Smoothing (σ=0.3) in 2D"
    assert names[7] == "Laplacian of Gaussian (σ=0.7) in 2D"
    assert names[-1] == "Hessian of Gaussian Eigenvalues (σ=10.0) in 2D [1]"


def test_only_gaussian_smoothing_below_0_7():
    names = filter_bank_names()
    at_03 = [n for n in names if "(σ=0.3)" in n]
    assert at_03 == ["Gaussian Smoothing (σ=0.3) in 2D"]
    for sigma in SIGMAS[1:]:  # 4 filters with one output, 2 with two
        assert len([n for n in names if f"(σ={sigma})" in n]) == 8
    assert filter_bank(_image(), sigmas=(0.3, 0.5)).shape[-1] == 2
    assert len(filter_bank_names(sigmas=(0.5, 0.7))) == 1 + 8


@pytest.mark.parametrize("sigma", [0.3, 1.0, 3.5, 10.0])
def test_gaussian_smoothing_matches_scipy(sigma):
    image = _image((40, 36))
    features = filter_bank(image, dtype=np.float64)
    p, s = _presmoothed(image, sigma)
    expected = _gauss(p, s, 2.0)
    got = features[..., _column(f"Gaussian Smoothing (σ={sigma}) in 2D")]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    got32 = filter_bank(image)[..., _column(f"Gaussian Smoothing (σ={sigma}) in 2D")]
    np.testing.assert_allclose(got32, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sigma", [0.7, 1.6, 5.0])
def test_difference_of_gaussians_matches_scipy(sigma):
    # ilastik's DoG: G(s) - G(0.66 s) of the presmoothed image.
    image = _image((40, 36), seed=1)
    p, s = _presmoothed(image, sigma)
    expected = _gauss(p, s, 2.0) - _gauss(p, 0.66 * s, 2.0)
    got = filter_bank(image, dtype=np.float64)[
        ..., _column(f"Difference of Gaussians (σ={sigma}) in 2D")
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sigma", [0.7, 1.0, 3.5])
def test_derivative_filters_are_exact_on_ramps_and_quadratics(sigma):
    # vigra's derivative kernels answer exactly 1 to a unit ramp and to x²/2,
    # so away from the mirrored borders these are exact.
    y, x = np.mgrid[:64, :64].astype(np.float64)
    inner = (slice(26, 38), slice(26, 38))
    ramp = filter_bank(0.3 * x - 0.4 * y, dtype=np.float64, sigmas=(sigma,))
    names = filter_bank_names(sigmas=(sigma,))
    f = _by_filter(ramp[inner], names)
    np.testing.assert_allclose(f["Gaussian Gradient Magnitude"], 0.5)
    np.testing.assert_allclose(f["Structure Tensor Eigenvalues [0]"], 0.25)
    np.testing.assert_allclose(f["Structure Tensor Eigenvalues [1]"], 0.0, atol=1e-12)
    np.testing.assert_allclose(f["Laplacian of Gaussian"], 0.0, atol=1e-12)

    quad = filter_bank(1.5 * x**2 + 0.5 * y**2, dtype=np.float64, sigmas=(sigma,))
    g = _by_filter(quad[inner], names)
    np.testing.assert_allclose(g["Laplacian of Gaussian"], 4.0)
    np.testing.assert_allclose(g["Hessian of Gaussian Eigenvalues [0]"], 3.0)
    np.testing.assert_allclose(g["Hessian of Gaussian Eigenvalues [1]"], 1.0)


def test_gradient_magnitude_matches_scipy_up_to_vigras_normalisation():
    # scipy's derivative-of-Gaussian kernel is the sampled derivative; vigra's
    # (and so ilastik's) is rescaled so that a unit ramp gives exactly 1.
    image = _image((48, 48), seed=2)
    features = filter_bank(image, dtype=np.float64)
    for sigma in (1.0, 1.6):
        p, s = _presmoothed(image, sigma)
        ramp = ndi.gaussian_filter1d(np.arange(32.0), s, order=1, truncate=2.0)[16]
        expected = ndi.gaussian_gradient_magnitude(p, s, mode="mirror", truncate=2.0)
        got = features[..., _column(f"Gaussian Gradient Magnitude (σ={sigma}) in 2D")]
        np.testing.assert_allclose(got, expected / ramp, rtol=1e-10, atol=1e-12)


def test_eigenvalues_come_largest_first():
    features = filter_bank(_image(seed=3))
    names = filter_bank_names()
    for i, name in enumerate(names):
        if name.endswith("[0]"):
            assert names[i + 1] == name[:-3] + "[1]"
            assert (features[..., i] >= features[..., i + 1]).all()


def test_multichannel_is_every_channel_on_its_own():
    rng = np.random.RandomState(4)
    image = rng.rand(20, 22, 3)
    features = filter_bank(image)
    names = filter_bank_names(3)
    assert features.shape == (20, 22, 147) and len(names) == 147
    grey = [filter_bank(image[..., c]) for c in range(3)]
    grey_names = filter_bank_names()
    # ilastik's order: filter, scale, then channel, then eigenvalue.
    for j, name in enumerate(grey_names):
        base, _, index = name.partition(" [")
        n_out = 2 if index else 1
        out = int(index[:-1]) if index else 0
        for c in range(3):
            suffix = f" [{c * n_out + out}]"
            np.testing.assert_array_equal(
                features[..., names.index(base + suffix)], grey[c][..., j]
            )


def test_input_is_not_modified_and_any_numeric_dtype_works():
    image = _image()
    before = image.copy()
    filter_bank(image)
    np.testing.assert_array_equal(image, before)
    as_uint8 = (image * 255).astype(np.uint8)
    np.testing.assert_allclose(
        filter_bank(as_uint8), filter_bank(as_uint8.astype(np.float64)), rtol=1e-6
    )
    view = np.asfortranarray(np.dstack([image, image]))[::2]
    assert filter_bank(view).shape == (12, 28, 98)
    assert filter_bank(np.zeros((1, 1))).shape == (1, 1, 49)


@pytest.mark.parametrize(
    "image, kwargs, error, match",
    [
        (np.zeros((4, 4, 2, 2)), {}, ValueError, "dimensions"),
        (np.zeros(5), {}, ValueError, "dimensions"),
        (np.zeros((4, 4), dtype=bool), {}, TypeError, "bool"),
        (np.zeros((4, 4), dtype=complex), {}, TypeError, "numeric"),
        (np.full((4, 4), np.nan), {}, ValueError, "NaN"),
        (np.full((4, 4), 1e30), {}, ValueError, "overflow"),
        (np.zeros((4, 4)), {"sigmas": ()}, ValueError, "empty"),
        (np.zeros((4, 4)), {"sigmas": (1.0, -1.0)}, ValueError, "positive"),
        (np.zeros((4, 4)), {"sigmas": (1.0, 1.0)}, ValueError, "distinct"),
        (np.zeros((4, 4)), {"sigmas": (True,)}, TypeError, "real numbers"),
        (np.zeros((4, 4)), {"sigmas": 1.0}, TypeError, "sequence"),
        (np.zeros((4, 4)), {"dtype": np.int32}, ValueError, "float32"),
    ],
)
def test_bad_input_raises_a_clear_error(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        filter_bank(image, **kwargs)


def test_names_refuse_a_bad_channel_count():
    with pytest.raises(ValueError, match="n_channels"):
        filter_bank_names(0)


# -- volumes ----------------------------------------------------------------


def test_volume_filter_bank_shape_and_names():
    volume = np.random.RandomState(0).rand(6, 10, 12)
    features = filter_bank(volume, sigmas=(0.3, 1.0), spacing=(2, 1, 1))
    names = filter_bank_names(sigmas=(0.3, 1.0), ndim=3)
    assert features.shape == (6, 10, 12, len(names)) == (6, 10, 12, 2 + 9)
    assert names[-1] == "Hessian of Gaussian Eigenvalues (σ=1.0) in 3D [2]"
    assert np.isfinite(features).all()
    two = filter_bank(np.stack([volume] * 2, -1), sigmas=(1.0,), spacing=(1, 1, 1))
    assert two.shape[-1] == 2 * 10


def test_volume_filter_bank_on_a_z_constant_volume_matches_2d():
    """Constant along z: the 3-D features are the 2-D ones (plus a zero eigenvalue)."""
    plane = _image((20, 22))
    volume = np.repeat(plane[None], 30, axis=0)
    sigmas = (1.0, 1.6)
    flat = filter_bank(plane, sigmas=sigmas, dtype=np.float64)
    deep = filter_bank(volume, sigmas=sigmas, dtype=np.float64, spacing=(1, 1, 1))
    names2 = filter_bank_names(sigmas=sigmas)
    names3 = filter_bank_names(sigmas=sigmas, ndim=3)
    for title in (
        "Gaussian Smoothing",
        "Laplacian of Gaussian",
        "Gaussian Gradient Magnitude",
        "Difference of Gaussians",
    ):
        for s in sigmas:
            a = flat[..., names2.index(f"{title} (σ={s}) in 2D")]
            b = deep[15, ..., names3.index(f"{title} (σ={s}) in 3D")]
            np.testing.assert_allclose(b, a, atol=1e-9)
    hess = [
        names3.index(f"Hessian of Gaussian Eigenvalues (σ=1.6) in 3D [{i}]")
        for i in range(3)
    ]
    got = np.sort(deep[15][..., hess], axis=-1)
    h2 = [
        names2.index(f"Hessian of Gaussian Eigenvalues (σ=1.6) in 2D [{i}]")
        for i in range(2)
    ]
    want = np.sort(
        np.concatenate([flat[..., h2], np.zeros(plane.shape + (1,))], -1), -1
    )
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_symmetric_eigenvalues_match_numpy():
    from semiseg_sk.features._filters import symmetric_eigenvalues

    m = np.random.RandomState(0).randn(200, 3, 3)
    m = m + m.transpose(0, 2, 1)
    got = symmetric_eigenvalues(
        m[:, 0, 0], m[:, 1, 1], m[:, 2, 2], m[:, 0, 1], m[:, 0, 2], m[:, 1, 2]
    )
    np.testing.assert_allclose(
        np.stack(got, 1), np.linalg.eigvalsh(m)[:, ::-1], atol=1e-10
    )


def test_volume_filter_bank_errors():
    with pytest.raises(ValueError, match="expected a volume"):
        filter_bank(np.zeros((8, 8)), spacing=(1, 1, 1))
    with pytest.raises(ValueError, match="three positive numbers"):
        filter_bank(np.zeros((4, 8, 8)), spacing=(1, 1))
