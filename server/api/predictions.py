"""``/api/v1/predictions/classes``: the class labels a model predicts and how often each was
predicted, so readers (the dashboard's Drift page) need not be told the labels."""

from __future__ import annotations

from fastapi import APIRouter

from edgewatch.collector import semconv
from edgewatch.contract import PredictionClassesOut
from edgewatch.server.api.deps import AdminDep, SelectionDep, StoreDep, WindowDep
from edgewatch.server.api.schemas import prediction_classes_out

router = APIRouter(prefix="/api/v1/predictions", tags=["predictions"])


@router.get(
    "/classes", response_model=PredictionClassesOut, summary="Predicted class labels and counts"
)
def prediction_classes(
    _: AdminDep, store: StoreDep, selection: SelectionDep, time_window: WindowDep
) -> PredictionClassesOut:
    """Every label of ``ml.prediction.class`` the selected devices reported, with the number
    of predictions of each in the window (0 for a label seen only before it)."""
    reader = store.signals
    metric, key = semconv.PREDICTION_CLASS_COUNT, semconv.PREDICTION_CLASS
    labels = reader.attribute_values(metric, key, selection)
    counts = reader.category_counts(
        metric, key, start=time_window.start, end=time_window.end, selection=selection
    )
    return prediction_classes_out(time_window.start, time_window.end, labels, counts)
