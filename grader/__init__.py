"""Socket-lab grader: grades UDP/TCP uppercase socket programs from the outside."""

__version__ = "0.1.0"
