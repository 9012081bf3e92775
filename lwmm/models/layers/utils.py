"""Small helpers shared by the building blocks."""


def make_divisible(value: float, divisor: int = 4, min_value: int = None, min_ratio: float = 0.9) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never dropping below ``min_ratio`` of it.

    The rounding rule of the MobileNet family (and GhostNet's official code, with divisor 4), which
    decides the published channel counts of every widened variant.
    """
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value
