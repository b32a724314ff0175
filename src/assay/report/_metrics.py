"""Display names and one-line definitions of the metrics, shared by the report and card."""

from __future__ import annotations

#: metric -> (display name, definition)
METRIC_INFO: dict[str, tuple[str, str]] = {
    "example_count": ("Example count", "Rows in the slice."),
    "weighted_example_count": ("Weighted example count", "Sum of the example weights."),
    "tp": ("True positives", "Positives scored above the threshold."),
    "fp": ("False positives", "Negatives scored above the threshold."),
    "tn": ("True negatives", "Negatives scored at or below the threshold."),
    "fn": ("False negatives", "Positives scored at or below the threshold."),
    "fpr": ("False positive rate", "FP / (FP + TN): share of negatives flagged positive."),
    "fnr": ("False negative rate", "FN / (FN + TP): share of positives missed."),
    "tpr": ("True positive rate", "TP / (TP + FN), also called recall."),
    "tnr": ("True negative rate", "TN / (TN + FP), also called specificity."),
    "positive_rate": ("Positive rate", "Share of rows scored above the threshold."),
    "negative_rate": ("Negative rate", "Share of rows scored at or below the threshold."),
    "fdr": ("False discovery rate", "FP / (TP + FP): share of flagged rows that are negative."),
    "false_omission_rate": (
        "False omission rate",
        "FN / (FN + TN): share of rows not flagged that are positive.",
    ),
    "precision": ("Precision", "TP / (TP + FP)."),
    "recall": ("Recall", "TP / (TP + FN)."),
    "accuracy": ("Accuracy", "(TP + TN) / all rows."),
    "roc_auc": ("ROC AUC", "Probability that a positive scores above a negative."),
    "pr_auc": ("PR AUC", "Average precision (area under the precision-recall curve)."),
    "subgroup_auc": ("Subgroup AUC", "ROC AUC within the slice."),
    "bpsn_auc": (
        "BPSN AUC",
        "Background Positive, Subgroup Negative: AUC of the slice's negatives against the "
        "other rows' positives. Low values: the slice's negatives get high scores.",
    ),
    "bnsp_auc": (
        "BNSP AUC",
        "Background Negative, Subgroup Positive: AUC of the slice's positives against the "
        "other rows' negatives. Low values: the slice's positives get low scores.",
    ),
    "mean_score": ("Mean score", "Average predicted score."),
    "mean_label": ("Mean label", "Share of positive labels (base rate)."),
    "calibration": ("Calibration", "Mean score / mean label; 1 is calibrated on average."),
    "ece": ("Expected calibration error", "Weighted mean |score - label rate| over score bins."),
    "flip_rate": ("Flip rate", "Share of rows whose decision differs between the two models."),
    "flip_rate_pos_to_neg": ("Flip rate, positive to negative", "Positive, then negative."),
    "flip_rate_neg_to_pos": ("Flip rate, negative to positive", "Negative, then positive."),
}


def metric_name(metric: str) -> str:
    """Display name of ``metric`` (the metric id itself when unknown)."""
    return METRIC_INFO.get(metric, (metric, ""))[0]


def metric_help(metric: str) -> str:
    """One-line definition of ``metric`` (empty when unknown)."""
    return METRIC_INFO.get(metric, (metric, ""))[1]
