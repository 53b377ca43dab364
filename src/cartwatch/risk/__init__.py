"""Published risk scores and prediction models, each in its own module (see :mod:`.scores`)."""
