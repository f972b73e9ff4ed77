"""Exact stand-in for ddsketch.DDSketch, the quantile sketch Vidur's CDFSketch uses for its summary logs.

It keeps every value (lists of floats; Vidur puts one value per batch or per operation, so at most a few
hundred thousand) and answers quantiles exactly (numpy 'lower' interpolation, like a sketch that returns a stored
value), instead of within DDSketch's relative accuracy. Vidur uses these only for debug log lines and the CDF CSVs
of batch and operation metrics; the per-request results we read do not go through it.
"""

import numpy as np


class DDSketch:
    def __init__(self, relative_accuracy=0.01, *args, **kwargs):
        self._values = []
        self._count = 0
        self._sum = 0.0
        self._min = float("inf")
        self._max = float("-inf")

    def add(self, value, weight=1.0):
        value = float(value)
        self._values.append(value)
        self._count += 1
        self._sum += value
        self._min = min(self._min, value)
        self._max = max(self._max, value)

    @property
    def count(self):
        return self._count

    @property
    def sum(self):
        return self._sum

    @property
    def avg(self):
        return self._sum / self._count if self._count else 0.0

    def get_quantile_value(self, quantile):
        if not self._values or quantile < 0 or quantile > 1:
            return None
        return float(np.quantile(np.asarray(self._values), quantile, method="lower"))
