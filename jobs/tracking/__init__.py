"""The MLflow tracking REST API that training scripts reach with ``MLFLOW_TRACKING_URI``.

A node gets ``MLFLOW_TRACKING_URI`` (the studio), ``MLFLOW_RUN_ID`` (the job's name: on Azure ML
the run id is the job name), ``MLFLOW_EXPERIMENT_NAME`` and ``MLFLOW_TRACKING_TOKEN``, a bearer
token that reaches only that job's runs and stops working when the job ends (``auth``). What the
script logs is written by ``services`` and read by ``selectors``; ``api`` and ``urls`` serve the
subset of ``/api/2.0/mlflow/`` and ``/api/2.0/mlflow-artifacts/`` that the ``mlflow`` client uses.
"""
