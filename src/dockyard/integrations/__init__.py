"""Third-party libraries driven through the layers below (layer 6): autologging for scikit-learn,
XGBoost and LightGBM, Optuna searches, Spark UDFs."""
