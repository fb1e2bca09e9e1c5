"""One base exception for everything the instrument reports to a person.

An `InstrumentError` message is one line that names the input, what was wrong with it, and what to do. The CLI
prints it without a traceback; the engine counts it and shows it on the HUD.
"""


class InstrumentError(Exception):
    """A problem a performer can fix: bad input, missing file, missing device."""


class ModelError(InstrumentError):
    """A model file that cannot be read or does not describe a generator we can play."""


class DisplayError(InstrumentError):
    """No display, no OpenGL context, or a GL feature the pipeline needs is missing."""
