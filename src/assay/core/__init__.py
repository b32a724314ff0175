"""Shared machinery of every evaluation: mergeable state, replicates, slices, the plan,
the metric catalogue, engines and the result. Capabilities (``assay.evaluation``'s metric
families, and later ``assay.uncertainty``, ``assay.ood`` ...) build on it."""
