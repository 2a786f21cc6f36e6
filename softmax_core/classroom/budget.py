"""What a request to train costs the class, and whether it fits: the largest run a student may start
and the compute their group (them and every name joined from their address) may have queued or training,
both in book steps (``config.run_cost``). ``estimate_request`` is what the pages show beside Start,
before the click, and what ``ClassPolicy.start`` refuses by; a refusal names the setting, the cost, the
limit and what would fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from softmax_core.config import TrainConfig, describe_cost, epoch_cost, run_cost
from softmax_core.dataset_sizes import TRAIN_SET_SIZE
from softmax_core.i18n import _, as_code, ngettext
from softmax_core.runs.store import ACTIVE_COST_SETTING

RUN_COST_SETTING = "max_run_cost"  # the classroom setting (and class-state key) of the largest run


@dataclass(frozen=True)
class Estimate:
    """A request's cost against the limits that apply to whoever asks (None: no limit, as for the teacher)."""

    cost: int  # book steps, all the request's runs together
    largest: int  # the costliest single run
    run_limit: int | None = None  # max_run_cost
    budget: int | None = None  # max_active_cost
    in_use: int = 0  # what the group already has queued or training
    refusal: str = ""  # why it would be refused, with what would fit ("" : it fits)

    @property
    def fits(self) -> bool:
        return not self.refusal

    @property
    def left(self) -> int | None:
        return None if self.budget is None else max(0, self.budget - self.in_use)

    def admits(self, configs: Sequence[TrainConfig]) -> bool:
        """Whether other runs (prepared as this request's were) would fit the same limits: what a page
        asks while it looks for a smaller request that fits, without reading the store again."""
        return estimate_request(configs, self.run_limit, self.budget, self.in_use).fits

    def fits_once_idle(self, configs: Sequence[TrainConfig]) -> bool:
        """Whether these runs (this request's) would fit once the group's queued and training runs end: a
        request refused only for what is in use now, e.g. the same sweep again while the first one trains."""
        return not self.fits and estimate_request(configs, self.run_limit, self.budget).fits

    def busy_summary(self) -> str:
        """Why a request that fits once idle waits, e.g. 'your runs queued or training hold 23,490 of your
        40,000 book steps; these fit once they end'."""
        return _("your runs queued or training (with every name from your computer) hold {in_use} of your "
                 "{budget}; these fit once they end").format(in_use=f"{self.in_use:,}",
                                                             budget=describe_cost(self.budget))

    def summary(self, plural: bool = False) -> str:
        """One line for beside a Start button, e.g. 'costs 2,350 book steps; 37,650 of your 40,000 left'
        ('cost ...' after a plural subject: "These runs cost ...")."""
        text = (_("cost {cost}") if plural else _("costs {cost}")).format(cost=describe_cost(self.cost))
        if self.budget is not None:
            text += _("; {left} of your {budget} left").format(left=f"{self.left:,}", budget=f"{self.budget:,}")
        if self.run_limit is not None:
            text += _("; the largest run allowed is {limit}").format(limit=describe_cost(self.run_limit))
        return text


def estimate_request(configs: Sequence[TrainConfig], run_limit: int | None = None, budget: int | None = None,
                     in_use: int = 0) -> Estimate:
    """The request's cost and, if it passes a limit, the refusal naming the setting and what would fit."""
    costs = [run_cost(config) for config in configs]
    cost, largest = sum(costs), max(costs, default=0)
    refusal = ""
    if run_limit is not None and largest > run_limit:
        refusal = _over_run_limit(configs[costs.index(largest)], largest, run_limit)
    elif budget is not None and in_use + cost > budget:
        refusal = _over_budget(configs, cost, budget, in_use)
    return Estimate(cost, largest, run_limit, budget, in_use, refusal)


def _over_run_limit(config: TrainConfig, cost: int, limit: int) -> str:
    head = _("this run costs {cost} ({epochs} epochs at batch {batch}); the largest run this class allows is "
             "{limit} ({setting}): ").format(cost=describe_cost(cost), epochs=config.epochs, batch=config.batch_size,
                                             limit=describe_cost(limit), setting=as_code(RUN_COST_SETTING))
    return head + what_fits(config, limit)


def what_fits(config: TrainConfig, limit: int) -> str:
    """The nearest run that fits ``limit``: fewer epochs at this batch, else a larger batch."""
    epochs = limit // epoch_cost(config)
    if epochs >= 1:
        return _("at batch {batch}, up to {epochs_fit}").format(batch=config.batch_size, epochs_fit=_epochs_fit(epochs))
    for batch in range(config.batch_size + 1, TRAIN_SET_SIZE + 1):
        larger = config.replace(batch_size=batch)
        if epoch_cost(larger) <= limit:
            return _("at batch {batch} not even one epoch fits; at batch {larger}, {epochs_fit}").format(
                batch=config.batch_size, larger=batch, epochs_fit=_epochs_fit(limit // epoch_cost(larger)))
    return _("no run fits: ask your teacher")


def _epochs(count: int) -> str:
    return ngettext("{count} epoch", "{count} epochs", count).format(count=count)


def _epochs_fit(count: int) -> str:
    return ngettext("{count} epoch fits", "{count} epochs fit", count).format(count=count)


def _over_budget(configs: Sequence[TrainConfig], cost: int, budget: int, in_use: int) -> str:
    left = max(0, budget - in_use)
    count, total = 0, 0
    for config in configs:
        if total + run_cost(config) > left:
            break
        count, total = count + 1, total + run_cost(config)
    per_epoch = sum(epoch_cost(config) for config in configs)
    epochs = left // per_epoch if per_epoch else 0
    many = len(configs) > 1
    fits = [_("{count} of these {total} runs").format(count=count, total=len(configs))] if many and count else []
    if epochs >= 1:
        fits.append((_("all {total} runs at up to {epochs}") if many else _("it at up to {epochs}")).format(
            total=len(configs), epochs=_epochs(epochs)))
    fit_text = _(" or ").join(fits) if fits else _("nothing more until one of your runs ends (or you cancel one)")
    sentence = (_("these runs cost {cost} and yours (with every name from your computer) queued or training cost "
                  "{in_use}; this class allows {budget} at once ({setting}), so {left} is left: {fits} would fit")
                if many else
                _("this run costs {cost} and yours (with every name from your computer) queued or training cost "
                  "{in_use}; this class allows {budget} at once ({setting}), so {left} is left: {fits} would fit"))
    return sentence.format(cost=describe_cost(cost), in_use=describe_cost(in_use), budget=describe_cost(budget),
                           setting=as_code(ACTIVE_COST_SETTING), left=describe_cost(left), fits=fit_text)
