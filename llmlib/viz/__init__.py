"""Figures and widgets for the course, with one common look.

    style     colours, colour maps and matplotlib settings
    tokens    coloured token strips and the tokenizer playground (notebook 01)
    plots     attention heatmaps, head grids, loss curves (static figures)
    widgets   ipywidgets builders for notebooks 02-07
    lab       the attention lab of notebook 08

Every widget has a static figure beside it, because widgets render neither on
GitHub nor in nbval.
"""

from .style import *  # noqa: F401,F403
from .tokens import *  # noqa: F401,F403
from .plots import *  # noqa: F401,F403
from .widgets import *  # noqa: F401,F403
from .lab import *  # noqa: F401,F403
