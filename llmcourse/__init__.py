"""llmcourse: the tested helper package behind the course notebooks.

One module per concept (see the README's module table). The notebooks import from here
instead of pasting code, and show what a learner should read with ``show_source``.
"""

from llmcourse.source import show_source

__version__ = "0.1.0"
__all__ = ["show_source", "__version__"]
