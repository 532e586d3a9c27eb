"""llmcourse: the tested helper package behind the course notebooks.

One module per concept (see the README's module table). The notebooks import from here
instead of pasting code, and show what a learner should read with ``show_source``.
"""

from importlib.metadata import version

from llmcourse.source import show_source

__version__ = version("llmcourse")  # the one version number lives in pyproject.toml
__all__ = ["show_source", "__version__"]
