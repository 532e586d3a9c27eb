"""Show the package's own code inside a notebook, instead of pasting it there.

Chapters call ``show_source(obj)`` where the learner should read an implementation: the
notebook and the tested package can then never drift apart.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any


class Source:
    """Source code that renders highlighted in Jupyter and as plain text elsewhere."""

    def __init__(self, code: str, title: str) -> None:
        self.code = code
        self.title = title

    def __repr__(self) -> str:
        return f"# {self.title}\n{self.code}"

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        formatter = HtmlFormatter(noclasses=True, style="default", nobackground=True)
        body = highlight(self.code, PythonLexer(), formatter)
        return f"<div style='font-size:90%'><code># {self.title}</code>{body}</div>"


def show_source(obj: Any) -> Source:
    """The source of a function, class or module, titled with where it lives.

    In a notebook the returned object displays with syntax highlighting; ``print`` or
    ``repr`` give plain text (which is also what nbval compares).

    >>> from llmcourse.device import budget
    >>> show_source(budget).title
    'llmcourse.device.budget'
    """
    try:
        code = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(
            f"cannot show the source of {obj!r}: {error}. "
            "show_source works on functions, classes and modules written in Python."
        ) from None
    module = inspect.getmodule(obj)
    qualname = getattr(obj, "__qualname__", None)
    if inspect.ismodule(obj):
        title = obj.__name__
    elif module is not None and qualname:
        title = f"{module.__name__}.{qualname}"
    else:
        title = repr(obj)
    return Source(textwrap.dedent(code).rstrip() + "\n", title)
