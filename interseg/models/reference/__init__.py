"""The SAIC-IS and RITM networks, rebuilt from their own checkpoints (``.pth``) without running them.

- :mod:`.unpickle`: reading the pickled file with an allow-list (nothing in it runs);
- :mod:`.arch`: the architecture from the file's ``config``;
- :mod:`.heads`, :mod:`.network`: the networks, layer for layer as the reference computes them;
- :mod:`.loading`: all of it together, with the reference's predictor settings.
"""

from .arch import ReferenceArch, parse_reference_config
from .loading import REFERENCE_INFERENCE, build_reference_net, load_reference_checkpoint, read_reference_metadata
from .network import ReferenceNet
from .unpickle import is_pickle_file, load_reference_pth

__all__ = ["REFERENCE_INFERENCE", "ReferenceArch", "ReferenceNet", "build_reference_net", "is_pickle_file",
           "load_reference_checkpoint", "load_reference_pth", "parse_reference_config", "read_reference_metadata"]
