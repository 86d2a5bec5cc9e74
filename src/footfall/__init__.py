"""footfall: turn city pedestrian-counter data into answers."""

__version__ = "0.1.0"
