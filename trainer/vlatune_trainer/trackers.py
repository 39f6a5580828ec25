"""Experiment trackers fed from the protocol events: TensorBoard event files under
``jobs/<id>/tb/`` always (when the ``tensorboard`` package is installed), and optionally MLflow
(``tracker: mlflow``, the server named by ``MLFLOW_TRACKING_URI``) or Weights & Biases in offline
mode (``tracker: wandb``). Credentials reach the trainer only through the environment names the
job passes on (never argv, the spec or the logs)."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, Protocol

from .errors import TrainerError
from .spec import JobSpec

PROGRESS_SCALARS = ("loss", "learning_rate", "grad_norm", "samples_per_second")


class Tracker(Protocol):
    def scalars(self, group: str, values: dict[str, float], step: int) -> None: ...

    def finish(self, adapter: Path | None, outcome: str) -> None: ...


def numeric(fields: dict[str, Any], names: tuple[str, ...] | None = None) -> dict[str, float]:
    """The finite numbers among ``fields`` (all of them, or ``names``)."""
    picked = {k: v for k, v in fields.items() if names is None or k in names}
    return {
        k: float(v)
        for k, v in picked.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


class TensorBoardTracker:
    """``torch.utils.tensorboard``'s writer; a resumed attempt purges what earlier attempts
    logged after the step it continues from, so TensorBoard shows one curve."""

    def __init__(self, directory: Path, start: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        directory.mkdir(parents=True, exist_ok=True)
        # Steps after the checkpoint a resumed attempt continues from are logged again.
        self.writer = SummaryWriter(log_dir=str(directory), purge_step=start + 1 if start else None)

    def scalars(self, group: str, values: dict[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(f"{group}/{name}", value, step)
        self.writer.flush()

    def finish(self, adapter: Path | None, outcome: str) -> None:
        self.writer.close()


class MLflowTracker:
    """One MLflow run per job (a resumed attempt continues it): parameters, every scalar by
    step, and the adapter as artifacts."""

    def __init__(self, spec: JobSpec, start: int) -> None:
        try:
            import mlflow
        except ImportError as error:
            raise TrainerError(
                "tracker_failed",
                "tracker mlflow needs the mlflow package in the trainer environment",
            ) from error
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            raise TrainerError(
                "tracker_failed", "tracker mlflow needs MLFLOW_TRACKING_URI in the environment"
            )
        self.mlflow = mlflow
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", "vlatune"))
        marker = Path(spec.job_dir) / "mlflow_run_id"
        run_id = marker.read_text().strip() if marker.exists() else None
        try:
            run = mlflow.start_run(run_id=run_id, run_name=spec.name or spec.job_id)
        except Exception as error:  # the server is unreachable or refuses
            raise TrainerError("tracker_failed", f"MLflow at {uri}: {error}") from error
        marker.write_text(run.info.run_id + "\n")
        if run_id is None:
            hyper = dataclasses.asdict(spec.hyperparameters)
            mlflow.log_params(
                {k: v for k, v in hyper.items() if isinstance(v, int | float | str | bool)}
                | {"base_model": spec.base_model, "dataset": spec.dataset.name}
            )
            mlflow.set_tags({"vlatune.job_id": spec.job_id})
        self.start = start

    def scalars(self, group: str, values: dict[str, float], step: int) -> None:
        self.mlflow.log_metrics({f"{group}/{k}": v for k, v in values.items()}, step=step)

    def finish(self, adapter: Path | None, outcome: str) -> None:
        if adapter is not None and adapter.exists():
            self.mlflow.log_artifacts(str(adapter), artifact_path="adapter")
        self.mlflow.end_run(status=outcome)


class WandbTracker:
    """Weights & Biases in offline mode (no network): the run is written under
    ``jobs/<id>/wandb/`` for ``wandb sync`` later."""

    def __init__(self, spec: JobSpec, start: int) -> None:
        try:
            import wandb
        except ImportError as error:
            raise TrainerError(
                "tracker_failed", "tracker wandb needs the wandb package in the trainer environment"
            ) from error
        self.wandb = wandb
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "vlatune"),
            id=spec.job_id,
            name=spec.name or spec.job_id,
            resume="allow",
            mode="offline",
            dir=spec.job_dir,
            config=dataclasses.asdict(spec.hyperparameters) | {"base_model": spec.base_model},
        )

    def scalars(self, group: str, values: dict[str, float], step: int) -> None:
        self.run.log({f"{group}/{k}": v for k, v in values.items()}, step=step)

    def finish(self, adapter: Path | None, outcome: str) -> None:
        self.run.finish(exit_code=0 if outcome != "FAILED" else 1)


class Trackers:
    """The job's trackers, opened once the step a run starts from is known and fed by
    :meth:`event` with each protocol event the main rank emits."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        self.active: list[Tracker] = []
        self.adapter: Path | None = None

    def open(self, start: int) -> None:
        try:
            self.active.append(TensorBoardTracker(Path(self.spec.job_dir) / "tb", start))
        except ImportError:
            print("tensorboard is not installed: no TensorBoard event files", flush=True)
        chosen = self.spec.tracker or "none"
        if chosen == "mlflow":
            self.active.append(MLflowTracker(self.spec, start))
        elif chosen == "wandb":
            self.active.append(WandbTracker(self.spec, start))
        elif chosen != "none":
            raise TrainerError("config_error", f"unknown tracker {chosen!r}")

    def event(self, kind: str, fields: dict[str, Any]) -> None:
        step = fields.get("step")
        if not isinstance(step, int):
            return
        if kind == "progress":
            values = numeric(fields, PROGRESS_SCALARS)
            group = "train"
        elif kind == "eval":
            values = numeric({k: v for k, v in fields.items() if k != "step"})
            group = "eval"
        else:
            return
        for tracker in list(self.active):
            try:
                tracker.scalars(group, values, step)
            except Exception as error:  # a tracker never stops training
                self.drop(tracker, error)

    def finish(self, outcome: str) -> None:
        """Closes every tracker with the run's outcome (``FINISHED``, ``KILLED`` when stopped to
        be resumed, ``FAILED``) and, once the run has written it, the adapter."""
        for tracker in self.active:
            try:
                tracker.finish(self.adapter, outcome)
            except Exception as error:  # the run's outcome stands; say what was not logged
                print(f"warning: {type(tracker).__name__} could not finish: {error}", flush=True)
        self.active = []

    def drop(self, tracker: Tracker, error: Exception) -> None:
        """Stops feeding a tracker that failed (a server that went away); training goes on."""
        print(f"warning: {type(tracker).__name__} stopped logging: {error}", flush=True)
        self.active.remove(tracker)


class TrackedEvents:
    """An event writer that also hands progress and eval events to the trackers."""

    def __init__(self, events: Any, trackers: Trackers) -> None:
        self.events = events
        self.trackers = trackers

    def emit(self, kind: str, **fields: Any) -> None:
        self.events.emit(kind, **fields)
        self.trackers.event(kind, fields)
