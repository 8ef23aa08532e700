"""Exercise checkers, one module per notebook (``nb01`` ... ``nb08``).

A checker takes the learner's function, runs it on cases with known answers and
says what is wrong. Solutions live apart, in ``solutions/`` at the repository root,
so an instructor can hand out the notebooks without them.
"""


def run_check(check, fn) -> bool:
    """Run ``check(fn)`` from a notebook: an unsolved stub prints a hint instead of an error.

    Returns True when the check passed, False when the exercise is not attempted yet.
    A wrong answer still raises, with the checker's message.
    """
    try:
        check(fn)
    except NotImplementedError:
        print(f"{check.__name__}: not attempted yet. Fill in the function above and run this cell again.")
        return False
    return True
