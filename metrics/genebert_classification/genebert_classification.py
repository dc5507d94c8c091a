"""GeneBERT downstream classification metrics as an `evaluate` module (loads offline by path).

    import evaluate
    metric = evaluate.load("/path/to/repo/metrics/genebert_classification")
    metric.compute(predictions=[[0.9, 0.1], [0.2, 0.8]], references=[0, 1])

The numbers come from `genebert.training.metrics.classification_metrics` (scikit-learn), so this module,
the fine-tuning script and the results tables agree exactly.
"""

import datasets
import evaluate
import numpy

from genebert.training.metrics import classification_metrics

_DESCRIPTION = """\
Precision, recall, F1 (class 1 for binary tasks, macro averages for multi-class; macro averages always as
*_macro), accuracy, Matthews correlation (MCC), ROC-AUC, PR-AUC (average precision) and SpliceAI's top-k
accuracy of per-class scores, as reported in the GeneBERT paper (Tables 1 and 4) and the GUE benchmark.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: per-example class scores: a list of C floats (probabilities or logits; a row that is not a
        probability vector is softmaxed), or one float per example (the class-1 score of a binary task).
    references: integer class ids in 0..C-1.
Returns:
    precision, recall, f1, accuracy, mcc, auc, pr_auc, precision_macro, recall_macro, f1_macro,
    top_k_accuracy (SpliceAI: per class, the fraction of the k true sites ranked in the top k, k = number of
    true sites; averaged over classes 1..C-1, or class 1 for binary tasks), n.
Examples:
    >>> metric = evaluate.load("metrics/genebert_classification")
    >>> metric.compute(predictions=[[0.9, 0.1], [0.2, 0.8]], references=[0, 1])["auc"]
    1.0
"""

_CITATION = """\
@article{mo2021genebert,
  title   = {Multi-modal Self-supervised Pre-training for Regulatory Genome Across Cell Types},
  author  = {Mo, Shentong and Fu, Xi and Hong, Chenyang and Chen, Yizhen and Zheng, Yuxuan and
             Tang, Xiangru and Shen, Zhiqiang and Xing, Eric P and Lan, Yanyan},
  journal = {arXiv preprint arXiv:2110.05231},
  year    = {2021}
}
@article{jaganathan2019spliceai,
  title   = {Predicting Splicing from Primary Sequence with Deep Learning},
  author  = {Jaganathan, Kishore and others},
  journal = {Cell}, volume = {176}, pages = {535--548}, year = {2019}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class GenebertClassification(evaluate.Metric):
    """Classification metrics of GeneBERT's downstream tasks (computed with scikit-learn)."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features(
                    {
                        "predictions": datasets.Sequence(datasets.Value("float64")),
                        "references": datasets.Value("int64"),
                    }
                ),
                datasets.Features(
                    {"predictions": datasets.Value("float64"), "references": datasets.Value("int64")}
                ),
            ],
            reference_urls=[
                "https://arxiv.org/abs/2110.05231",
                "https://scikit-learn.org/stable/api/sklearn.metrics.html",
            ],
        )

    def _compute(self, predictions, references):
        return classification_metrics(
            numpy.asarray(references), numpy.asarray(predictions, dtype=numpy.float64)
        )
