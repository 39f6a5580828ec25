"""Action chunks come from one episode and are padded and masked at its end."""

from __future__ import annotations

import numpy as np
from vlatune_trainer.data import action_chunk


def test_chunk_inside_an_episode() -> None:
    actions = np.arange(20, dtype=np.float32).reshape(10, 2)
    chunk, mask = action_chunk(actions, offset=4, steps=6, step=1, horizon=3)
    assert chunk.tolist() == [[10, 11], [12, 13], [14, 15]]
    assert mask.tolist() == [True, True, True]


def test_chunk_at_the_episode_end_is_padded_not_borrowed() -> None:
    actions = np.arange(20, dtype=np.float32).reshape(10, 2)
    # Episode 0 is rows 0-3; its last step must not see episode 1's rows.
    chunk, mask = action_chunk(actions, offset=0, steps=4, step=3, horizon=3)
    assert chunk.tolist() == [[6, 7], [0, 0], [0, 0]]
    assert mask.tolist() == [True, False, False]
