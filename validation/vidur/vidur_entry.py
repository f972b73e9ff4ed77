"""Run `vidur.main` unchanged, and record what Vidur's replica scheduler holds for paging, for our summaries.

Wraps (observes only; behaviour unchanged) vidur.scheduler.replica_scheduler.base_replica_scheduler
.BaseReplicaScheduler: after __init__ it reads num_blocks (from Vidur's memory planner unless given), the watermark
(vLLM/Sarathi schedulers: int(watermark_blocks_fraction * num_blocks)), and after every allocate() the number of
allocated KV blocks, keeping the peak. When the simulation has finished it writes <output_dir>/paging.json:
  {num_blocks, block_size, watermark_blocks_fraction, watermark_blocks, batch_size_cap,
   memory_planner_max_batch_size (min(the planner's whole-request batch, batch_size_cap): Vidur's _max_batch_size,
   which its vLLM/Sarathi schedulers do not use), peak_allocated_blocks, allocated_blocks_at_end}
It does not: change Vidur's code or decisions, or read Vidur's output files (run_vidur.py does).

Usage: PYTHONPATH=shims:$VIDUR_SRC python3 vidur_entry.py <vidur.main arguments...>
"""

import json
import sys

from vidur.config import SimulationConfig
from vidur.scheduler.replica_scheduler.base_replica_scheduler import BaseReplicaScheduler
from vidur.simulator import Simulator
from vidur.utils.random import set_seeds

observed = {"schedulers": []}

_init = BaseReplicaScheduler.__init__
_allocate = BaseReplicaScheduler.allocate


def _observing_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self._observed_peak_blocks = 0
    observed["schedulers"].append(self)


def _observing_allocate(self, request_id, num_blocks):
    _allocate(self, request_id, num_blocks)
    self._observed_peak_blocks = max(self._observed_peak_blocks, self._num_allocated_blocks)


BaseReplicaScheduler.__init__ = _observing_init
BaseReplicaScheduler.allocate = _observing_allocate


def main():
    config = SimulationConfig.create_from_cli_args()
    set_seeds(config.seed)
    simulator = Simulator(config)
    simulator.run()
    if len(observed["schedulers"]) != 1:
        sys.exit(f"vidur_entry.py: expected one replica scheduler, saw {len(observed['schedulers'])}")
    s = observed["schedulers"][0]
    paging = {
        "num_blocks": int(s._config.num_blocks),
        "block_size": s._config.block_size,
        "watermark_blocks_fraction": s._config.watermark_blocks_fraction,
        "watermark_blocks": getattr(s, "_watermark_blocks", None),
        "batch_size_cap": s._config.batch_size_cap,
        "memory_planner_max_batch_size": int(s._max_batch_size),
        "peak_allocated_blocks": s._observed_peak_blocks,
        "allocated_blocks_at_end": s._num_allocated_blocks,
    }
    with open(f"{config.metrics_config.output_dir}/paging.json", "w") as f:
        json.dump(paging, f, indent=2)


if __name__ == "__main__":
    main()
