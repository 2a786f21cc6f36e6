"""FairQueue: the runs waiting for a worker, handed out round-robin between their owners, so one
student's thirty queued runs don't hold up everyone else's first one. Runs without an owner (the
single-user app, the CLI) share one turn, so without owners it is a plain first-in, first-out queue.
An owner is a group: in classroom mode a student's address (``ClassStore.owner_group``), so that two
names typed on one computer take one turn and count as one holder of workers.

``choose_yields`` is the same fairness while runs train: which owners holding more than their share of
the workers should give one back (at an epoch end) to an owner who waits with less than theirs.
"""

from __future__ import annotations

import collections
from collections.abc import Hashable, Iterator, Mapping


class FairQueue:
    """Run ids waiting, each under its owner; ``popleft`` takes the next owner's oldest run in turn.
    Not thread-safe by itself: its executor holds a lock around it."""

    def __init__(self):
        self._by_owner: collections.OrderedDict[Hashable, collections.deque[int]] = collections.OrderedDict()
        self._owner_of: dict[int, Hashable] = {}
        self._pack_of: dict[int, Hashable] = {}  # runs with the same pack key may be handed out as one

    def append(self, run_id: int, owner: Hashable = None, pack: Hashable = None) -> None:
        self._by_owner.setdefault(owner, collections.deque()).append(run_id)
        self._owner_of[run_id] = owner
        if pack is not None:
            self._pack_of[run_id] = pack

    def popleft(self) -> int:
        """The oldest run of the owner whose turn it is; that owner then goes to the back of the line."""
        return self.take(self.peek())

    def take(self, run_id: int) -> int:
        """Hand this run out: its owner's turn is used, so the owner goes to the back of the line."""
        owner = self._owner_of[run_id]
        self.remove(run_id)
        if owner in self._by_owner:
            self._by_owner.move_to_end(owner)
        return run_id

    def peek(self) -> int:
        """What ``popleft`` would return, left in place."""
        if not self._by_owner:
            raise IndexError("the FairQueue is empty")
        return next(iter(self._by_owner.values()))[0]

    def peek_least_served(self, held: Mapping[Hashable, int]) -> int:
        """The oldest run of the owner holding the fewest workers (``held``), the one whose turn comes
        first among equals: a freed worker goes to who has least, not back to the one who just gave it."""
        if not self._by_owner:
            raise IndexError("the FairQueue is empty")
        owner = min(self._by_owner, key=lambda candidate: held.get(candidate, 0))  # min keeps the first of ties
        return self._by_owner[owner][0]

    def remove(self, run_id: int) -> None:
        self._pack_of.pop(run_id, None)
        owner = self._owner_of.pop(run_id)
        runs = self._by_owner[owner]
        runs.remove(run_id)
        if not runs:
            del self._by_owner[owner]

    def take_pack(self, limit: int, first: int | None = None) -> list[int]:
        """The next run in turn (or ``first``) and up to ``limit - 1`` more waiting runs of its owner that
        share its pack key (a run without one trains alone), oldest first: one unit of work for a worker.
        The turn is used once; each run still counts as a run against its owner's limit."""
        first = self.peek() if first is None else first
        key = self._pack_of.get(first)
        mates = [] if key is None else [run_id for run_id in self._by_owner[self._owner_of[first]]
                                        if run_id != first and self._pack_of.get(run_id) == key][:max(0, limit - 1)]
        self.take(first)
        for run_id in mates:
            self.remove(run_id)
        return [first, *mates]

    def waiting_by_owner(self) -> dict[Hashable, int]:
        """How many runs each owner has waiting."""
        return {owner: len(runs) for owner, runs in self._by_owner.items()}

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._owner_of

    def __len__(self) -> int:
        return len(self._owner_of)

    def __bool__(self) -> bool:
        return bool(self._owner_of)

    def __iter__(self) -> Iterator[int]:
        """The runs in the order they would be handed out."""
        copy = FairQueue()
        copy._by_owner = collections.OrderedDict((o, collections.deque(r)) for o, r in self._by_owner.items())
        copy._owner_of = dict(self._owner_of)
        while copy:
            yield copy.popleft()


def choose_yields(held: Mapping[Hashable, int], waiting: Mapping[Hashable, int], workers: int,
                  yielding: int = 0) -> list[Hashable]:
    """The owners that should each give one worker back now, one entry per worker. ``held``: workers
    each owner holds and keeps (not counting those already yielding); ``waiting``: runs each owner has
    queued; ``yielding``: workers already on their way back. An owner's share is the workers divided by
    the owners wanting work (at least one); an owner below its share with runs waiting is owed the
    difference, taken from whoever holds the most above theirs."""
    wanting = {owner for owner, count in held.items() if count} | {owner for owner, count in waiting.items() if count}
    if not wanting:
        return []
    share = max(1, workers // len(wanting))
    owed = sum(min(share - held.get(owner, 0), count) for owner, count in waiting.items()
               if count and held.get(owner, 0) < share)
    counts, chosen = dict(held), []
    for _ in range(owed - yielding):
        over = [owner for owner, count in counts.items() if count > share]
        if not over:
            break
        hog = max(over, key=lambda owner: counts[owner])
        counts[hog] -= 1
        chosen.append(hog)
    return chosen
