"""How pixel values become the floats every step computes on."""

import numpy as np
import pytest

from semiseg_sk.utils._image import as_float_image


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.float16, np.float32),
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.longdouble, np.float64),
    ],
)
def test_float_images_keep_their_values_in_a_float_skimage_filters(dtype, expected):
    # scikit-image refuses float128 (long double): it becomes float64.
    image = np.array([[0.25, 2.0], [-1.0, 300.0]], dtype=dtype)
    out = as_float_image(image)
    assert out.dtype == expected
    np.testing.assert_array_equal(out, image.astype(np.float64))
    assert not np.shares_memory(out, image)
