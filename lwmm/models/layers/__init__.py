"""Building blocks, one file per idea. Importing this package registers the registered ones."""
from . import (dfc_attention, dynamic_conv, ghost, inverted_residual, mobilevit_block,  # noqa: F401
               octave_conv, se, utils, validation)
