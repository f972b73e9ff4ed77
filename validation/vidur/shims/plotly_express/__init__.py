"""Stand-in for the old `plotly_express` package: today it is `plotly.express` (Debian's python3-plotly).

Vidur imports `plotly_express as px`; with plots off (--no-metrics_config_store_plots) nothing here is called.
"""

from plotly.express import *  # noqa: F401,F403
