"""Estimators following the scikit-learn contract (baselines, trend, residual models)."""
