"""Step tags read by executors, defined once.

``GPU_STEP_TAGS`` marks the steps that do the heavy torch work (rendering, prior training, fitting). The Celery
executor of the ``*_celery`` jobs (pipelines/scale.py) routes them to the ``gpu`` queue, which GPU workers consume
(``dagster-celery worker start ... -q gpu``); every other executor ignores the tag.
"""

GPU_QUEUE = "gpu"
GPU_STEP_TAGS = {"dagster-celery/queue": GPU_QUEUE}
