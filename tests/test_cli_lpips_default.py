"""`gasp enroll` runs no non-commercial weights by default: the VGG-LPIPS term (ImageNet-trained backbone) only with
--lpips (docs/models.md)."""

from pipelines.cli import build_parser, enroll_config


def _config(*extra):
    return enroll_config(build_parser().parse_args(["enroll", "photo.jpg", "--out", "o", *extra]))


def test_enroll_fits_without_lpips_unless_asked():
    plain = _config()
    assert plain.loss.lpips == 0.0
    asked = _config("--lpips")
    assert asked.loss.lpips > 0.0
    assert plain.replace(loss=asked.loss) == asked  # nothing else differs
    assert _config("--steps", "3", "4", "5", "--lpips").steps_refine == 5
