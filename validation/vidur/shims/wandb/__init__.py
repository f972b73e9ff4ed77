"""Stand-in for the `wandb` package (Weights & Biases) so Vidur imports without it.

Vidur only logs to wandb when `wandb.run` is set, which this stub never does: every call is a no-op.
It does not upload, record or check anything.
"""

run = None


def init(*args, **kwargs):
    raise RuntimeError("validation/vidur/shims/wandb: wandb is stubbed out; leave --metrics_config_wandb_project unset")


def log(*args, **kwargs):
    pass


class Table:
    def __init__(self, *args, **kwargs):
        pass


class _Plot:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


plot = _Plot()
